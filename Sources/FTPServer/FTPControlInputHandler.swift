import FTPProtocol
import Logging
import NIOCore
import NIOSSL

/// Greets the client, splits the control connection into lines and hands them to the session,
/// straight from the event loop: no reader task sits between them, so an idle session holds no
/// task, and a command costs no extra hop. One handler does all three, as every pipeline handler
/// costs each idle session a context and an object.
///
/// The greeting is written when the connection becomes active, in the tick that registers it: the
/// session's first task starts only with the client's first command.
///
/// Lines are read ahead of the session by at most `credits`: each line takes one and the session
/// gives it back once the line is handled (`FTPControlChannel.releaseCredit`). Without a credit
/// the handler holds the channel's next read, so a client that floods commands (for instance
/// during a transfer) stops being read instead of growing a queue without bound.
///
/// Each line is tagged with the TLS epoch it arrived in. The handler owns its buffer (rather than
/// sitting behind a `ByteToMessageHandler`) so that `beginTLS()` can drop, in the same event-loop
/// tick as the TLS handler is inserted, any plaintext that followed `AUTH TLS`: bytes sent before
/// the handshake must never be read as if they came over TLS (the STARTTLS command-injection class
/// of bugs, CVE-2011-0411).
final class FTPControlInputHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = NIOAny

    /// Lines read ahead of the session at most.
    static let readAhead = 16

    private let events: any FTPSessionEventSink
    /// Sent once the connection is active, then dropped.
    private var greeting: FTPReply?
    private let logger: Logger
    private let peer: String
    private var decoder: FTPLineDecoder
    private var buffer: ByteBuffer?
    private(set) var epoch: Int
    private var credits: Int
    private var readHeld = false
    private var ended = false
    private var context: ChannelHandlerContext?

    init(
        events: any FTPSessionEventSink, greeting: FTPReply? = nil, maximumLineLength: Int, epoch: Int = 0,
        credits: Int = readAhead, logger: Logger, peer: String
    ) {
        self.events = events
        self.greeting = greeting
        self.decoder = FTPLineDecoder(maximumLineLength: maximumLineLength)
        self.epoch = epoch
        self.credits = credits
        self.logger = logger
        self.peer = peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.end()
    }

    func channelActive(context: ChannelHandlerContext) {
        if let greeting = self.greeting {
            self.greeting = nil
            context.writeAndFlush(NIOAny(greeting.encoded(allocator: context.channel.allocator)), promise: nil)
        }
        self.events.connectionActive()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.ended else { return }
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
            self.credits -= 1
            self.events.post(.input(FTPControlInput(event: event, epoch: self.epoch)))
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

    func channelInactive(context: ChannelHandlerContext) {
        self.end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tlsError = error as? NIOSSLError, case .uncleanShutdown = tlsError {
            // Most clients close after QUIT without a TLS close_notify; nothing is lost on a control connection.
            self.logger.debug("FTP control connection from \(self.peer) closed without TLS close_notify")
        } else {
            self.logger.notice("FTP control connection from \(self.peer): \(error)")
        }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.credits > 0 {
            context.read()
        } else {
            self.readHeld = true
        }
    }

    /// A handled line's credit comes back; a held read goes out once there is one.
    func grantCredit() {
        self.credits += 1
        if self.readHeld, self.credits > 0, let context = self.context {
            self.readHeld = false
            context.read()
        }
    }

    private func end() {
        guard !self.ended else { return }
        self.ended = true
        self.buffer = nil
        self.events.post(.inputEnded)
    }
}

@available(*, unavailable)
extension FTPControlInputHandler: Sendable {}
