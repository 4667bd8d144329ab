import NIOCore

/// What the control-connection decoder emits: a line, or the news that one was too long.
public enum FTPLineEvent: Hashable, Sendable {
    /// One line without its LF or CRLF terminator, not yet parsed (see `FTPCommandLine(parsing:)`).
    case line(ByteBuffer)
    /// A line exceeded the limit; its bytes were discarded up to and including its LF. Reply 500.
    case lineTooLong(limit: Int)
}

/// Splits the control stream into lines ending in LF (CRLF or bare LF).
///
/// A line longer than `maximumLineLength` bytes (terminator excluded) is never buffered whole: once the
/// buffered bytes exceed the limit they are dropped as they arrive until the next LF, then one
/// `.lineTooLong` is emitted and decoding continues with the following line.
public struct FTPLineDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = FTPLineEvent

    public static let defaultMaximumLineLength = 4096

    public let maximumLineLength: Int
    /// True while skipping the rest of an over-long line.
    private var discarding = false
    /// Bytes from the reader index already searched for LF, so byte-by-byte input is not rescanned.
    private var scanned = 0

    public init(maximumLineLength: Int = FTPLineDecoder.defaultMaximumLineLength) {
        self.maximumLineLength = max(1, maximumLineLength)
    }

    public mutating func decode(buffer: inout ByteBuffer) -> FTPLineEvent? {
        let view = buffer.readableBytesView
        let start = view.index(view.startIndex, offsetBy: min(self.scanned, view.count))
        guard let newline = view[start...].firstIndex(of: UInt8(ascii: "\n")) else {
            if self.discarding {
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                self.scanned = 0
            } else if buffer.readableBytes > self.maximumLineLength + 1 {
                // Room for the line and its CR is exhausted: drop what we have and skip to the LF.
                self.discarding = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                self.scanned = 0
            } else {
                self.scanned = buffer.readableBytes
            }
            return nil
        }
        self.scanned = 0
        let terminatorLength = 1
        var lineLength = newline - view.startIndex
        if lineLength > 0, view[newline - 1] == UInt8(ascii: "\r") { lineLength -= 1 }
        let consumed = newline - view.startIndex + terminatorLength
        if self.discarding || lineLength > self.maximumLineLength {
            self.discarding = false
            buffer.moveReaderIndex(forwardBy: consumed)
            return .lineTooLong(limit: self.maximumLineLength)
        }
        guard let line = buffer.getSlice(at: buffer.readerIndex, length: lineLength) else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        return .line(line)
    }

    /// At EOF an unterminated line is no command and is dropped; when the decoder is merely removed
    /// (as for AUTH TLS) the bytes stay in the buffer for the next handler.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) -> FTPLineEvent? {
        if let event = self.decode(buffer: &buffer) { return event }
        if seenEOF {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            self.scanned = 0
            self.discarding = false
        }
        return nil
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let event = self.decode(buffer: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(event))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        guard let event = self.decodeLast(buffer: &buffer, seenEOF: seenEOF) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(event))
        return .continue
    }
}
