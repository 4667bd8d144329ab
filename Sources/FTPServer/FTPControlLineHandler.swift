import FTPProtocol
import NIOCore

/// Splits the control connection into lines and tags each with the current TLS epoch.
///
/// It owns its buffer (rather than being a `ByteToMessageHandler`) so that `beginTLS()` can drop,
/// in the same event-loop tick as the TLS handler is inserted, any plaintext that followed
/// `AUTH TLS`: bytes sent before the handshake must never be read as if they came over TLS
/// (the STARTTLS command-injection class of bugs, CVE-2011-0411).
final class FTPControlLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = FTPControlInput

    private var decoder: FTPLineDecoder
    private var buffer: ByteBuffer?
    private(set) var epoch: Int

    init(maximumLineLength: Int, epoch: Int = 0) {
        self.decoder = FTPLineDecoder(maximumLineLength: maximumLineLength)
        self.epoch = epoch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = self.unwrapInboundIn(data)
        if self.buffer == nil {
            self.buffer = incoming
        } else {
            self.buffer?.writeBuffer(&incoming)
        }
        while var pending = self.buffer {
            self.buffer = nil  // Keep one reference, so the decoder does not copy on write.
            let event = self.decoder.decode(buffer: &pending)
            self.buffer = pending.readableBytes > 0 ? pending : nil
            guard let event else { break }
            context.fireChannelRead(self.wrapInboundOut(FTPControlInput(event: event, epoch: self.epoch)))
        }
        if let buffer = self.buffer, buffer.readerIndex > 4096 {
            self.buffer?.discardReadBytes()
        }
    }

    /// Starts a new epoch and drops the bytes not yet split into lines; returns how many there were.
    func beginTLS() -> Int {
        let dropped = self.buffer?.readableBytes ?? 0
        self.buffer = nil
        self.decoder = FTPLineDecoder(maximumLineLength: self.decoder.maximumLineLength)
        self.epoch += 1
        return dropped
    }
}
