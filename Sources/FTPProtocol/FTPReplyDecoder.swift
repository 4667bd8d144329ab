import NIOCore

/// Why the bytes a server sent on the control connection are no FTP reply.
///
/// Every case means the control stream can no longer be trusted to stay in step with the commands
/// sent: the client reports it and closes the connection.
public enum FTPReplyDecoderError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A line exceeded the limit (terminator excluded).
    case lineTooLong(limit: Int)
    /// One reply, possibly of many lines, exceeded the limit (see `FTPReplyDecoder.maximumReplySize`).
    case replyTooLong(limit: Int)
    /// A reply's first line does not start with a code 100...699 followed by a space, a dash or the end
    /// of the line. Holds the start of the line (at most 40 characters) for the log.
    case invalidReplyLine(String)
    /// The connection ended inside a reply: `code` of a multi-line reply begun, or nil for a partial line.
    case truncatedReply(code: Int?)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): return "FTP reply line longer than \(limit) bytes"
        case .replyTooLong(let limit): return "FTP reply longer than \(limit) bytes"
        case .invalidReplyLine(let line): return "not an FTP reply: \(line.debugDescription)"
        case .truncatedReply(let code?): return "connection closed inside multi-line FTP reply \(code)"
        case .truncatedReply(nil): return "connection closed inside an FTP reply line"
        }
    }
}

/// Turns the client's control stream into replies (RFC 959 §4.2).
///
/// A reply is `123 text`, or `123-first` … `123 last` over several lines. Inside a multi-line reply any
/// line goes except one starting with the same code and a space (or the bare code, as some servers end
/// with), which ends it. Middle lines starting `123-` (ProFTPD's MultilineRFC2228, many banners) lose
/// that prefix, so FEAT lines read the same either way; other middle lines are kept verbatim, leading
/// space included. Lines end in CRLF or a bare LF. Text is UTF-8 with invalid bytes (servers speaking
/// Latin-1) replaced by U+FFFD; CR NUL (RFC 2640 §3.3.1) stands for a CR.
///
/// Memory is bounded: a line longer than `maximumLineLength` and a reply longer than
/// `maximumReplySize` are errors, detected before they are buffered whole. After an error the stream is
/// out of step; the connection should be closed.
public struct FTPReplyDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = FTPReply

    public static let defaultMaximumLineLength = 64 * 1024
    public static let defaultMaximumReplySize = 1024 * 1024

    /// Bytes a line may hold, terminator excluded.
    public let maximumLineLength: Int
    /// Bytes one reply may hold on the wire, terminators included. Each line counts at least
    /// `lineOverhead` bytes, the `String` that keeps it, so a flood of empty lines is bounded too.
    public let maximumReplySize: Int
    static let lineOverhead = MemoryLayout<String>.stride

    /// The code of the multi-line reply in progress.
    private var code: Int?
    private var lines: [String] = []
    /// What the reply in progress has cost so far (see `maximumReplySize`).
    private var replyBytes = 0
    /// Bytes from the reader index already searched for LF, so byte-by-byte input is not rescanned.
    private var scanned = 0

    public init(
        maximumLineLength: Int = FTPReplyDecoder.defaultMaximumLineLength,
        maximumReplySize: Int = FTPReplyDecoder.defaultMaximumReplySize
    ) {
        self.maximumLineLength = max(3, maximumLineLength)
        self.maximumReplySize = max(self.maximumLineLength, maximumReplySize)
    }

    /// The next complete reply, or nil when more bytes are needed.
    public mutating func decode(buffer: inout ByteBuffer) throws(FTPReplyDecoderError) -> FTPReply? {
        while let line = try self.nextLine(&buffer) {
            if let reply = try self.take(line) { return reply }
        }
        return nil
    }

    /// At EOF whatever is left must have been whole replies: a partial line or an unfinished multi-line
    /// reply is `.truncatedReply`. When the decoder is merely removed (as after `234` to AUTH TLS) the
    /// bytes stay in the buffer for the next handler.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws(FTPReplyDecoderError) -> FTPReply? {
        if let reply = try self.decode(buffer: &buffer) { return reply }
        guard seenEOF, self.code != nil || buffer.readableBytes > 0 else { return nil }
        let code = self.code
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        self.reset()
        throw .truncatedReply(code: code)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try self.decode(buffer: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(reply))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        guard let reply = try self.decodeLast(buffer: &buffer, seenEOF: seenEOF) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(reply))
        return .continue
    }

    private mutating func reset() {
        self.code = nil
        self.lines = []
        self.replyBytes = 0
        self.scanned = 0
    }

    /// The next line without its terminator, consumed from `buffer`, or nil when none is complete.
    private mutating func nextLine(_ buffer: inout ByteBuffer) throws(FTPReplyDecoderError) -> [UInt8]? {
        let view = buffer.readableBytesView
        let start = view.index(view.startIndex, offsetBy: min(self.scanned, view.count))
        guard let newline = view[start...].firstIndex(of: UInt8(ascii: "\n")) else {
            // Fail as soon as the partial line cannot fit, rather than buffering a hostile stream.
            if view.count > self.maximumLineLength + 1 { throw .lineTooLong(limit: self.maximumLineLength) }
            if self.replyBytes + view.count > self.maximumReplySize {
                throw .replyTooLong(limit: self.maximumReplySize)
            }
            self.scanned = view.count
            return nil
        }
        self.scanned = 0
        var end = newline
        if end > view.startIndex, view[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end - view.startIndex <= self.maximumLineLength else {
            throw .lineTooLong(limit: self.maximumLineLength)
        }
        let consumed = newline - view.startIndex + 1
        self.replyBytes += max(consumed, Self.lineOverhead)
        guard self.replyBytes <= self.maximumReplySize else { throw .replyTooLong(limit: self.maximumReplySize) }
        let line = Array(view[view.startIndex..<end])
        buffer.moveReaderIndex(forwardBy: consumed)
        return line
    }

    /// Adds a line to the reply in progress; returns the reply it completes.
    private mutating func take(_ line: [UInt8]) throws(FTPReplyDecoderError) -> FTPReply? {
        guard let code = self.code else {
            guard let code = Self.code(of: line), line.count == 3 || line[3] == UInt8(ascii: " ") || line[3] == UInt8(ascii: "-")
            else {
                throw .invalidReplyLine(String(Self.text(line.prefix(40))))
            }
            let text = Self.text(line.dropFirst(4))
            if line.count > 3, line[3] == UInt8(ascii: "-") {
                self.code = code
                self.lines = [text]
                return nil
            }
            self.replyBytes = 0
            return FTPReply(code: code, lines: [text])
        }
        let sameCode = Self.code(of: line) == code
        if sameCode, line.count == 3 || line[3] == UInt8(ascii: " ") {
            // The last line.
            self.lines.append(Self.text(line.dropFirst(4)))
            let reply = FTPReply(code: code, lines: self.lines)
            self.reset()
            return reply
        }
        self.lines.append(Self.text(sameCode && line[3] == UInt8(ascii: "-") ? line.dropFirst(4) : line[...]))
        return nil
    }

    /// The code 100...699 the line starts with, if it does (FTPReply traps on any other).
    private static func code(of line: [UInt8]) -> Int? {
        guard line.count >= 3, (UInt8(ascii: "1")...UInt8(ascii: "6")).contains(line[0]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[1]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[2])
        else { return nil }
        return Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
    }

    /// UTF-8 with invalid bytes replaced. CR NUL becomes CR, which `FTPReply.init` stores as CR NUL
    /// again, so the reply's lines equal the text on the wire.
    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return bytes.contains(UInt8(ascii: "\r")) ? text.replacing("\r\0", with: "\r") : text
    }
}
