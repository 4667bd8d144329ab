import NIOCore

/// A server reply: a three-digit code and one or more lines of text (RFC 959 §4.2).
public struct FTPReply: Hashable, Sendable, CustomStringConvertible {
    /// 100...699 (6yz are RFC 2228's protected replies).
    public let code: Int
    /// The text lines, without code or terminators; never empty.
    public let lines: [String]

    /// A reply with the given lines. Text holding line breaks becomes several lines (so a file name
    /// with a LF in it cannot end the reply early); a lone CR is sent as CR NUL (RFC 2640 §3.3.1).
    public init(code: Int, lines: [String]) {
        precondition((100...699).contains(code), "FTP reply code \(code) is not three digits from 1yz to 6yz")
        var split: [String] = []
        for line in lines {
            // Most lines hold neither CR nor LF: skip the (costly) generic replacing.
            if !line.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }) {
                split.append(line)
                continue
            }
            let normalized = line.replacing("\r\n", with: "\n")
            for part in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
                split.append(String(part).replacing("\r", with: "\r\0"))
            }
        }
        self.code = code
        self.lines = split.isEmpty ? [""] : split
    }

    public init(code: Int, _ text: String) {
        self.init(code: code, lines: [text])
    }

    /// The bytes on the wire: `"226 Transfer complete\r\n"`, or for several lines
    /// `"211-Features:\r\n MDTM\r\n211 End\r\n"`. Middle lines starting with a digit get a leading
    /// space so no client mistakes them for the last line.
    public var description: String {
        let code = String(self.code)
        guard self.lines.count > 1, let first = self.lines.first, let last = self.lines.last else {
            return "\(code) \(self.lines.first ?? "")\r\n"
        }
        var text = "\(code)-\(first)\r\n"
        for line in self.lines.dropFirst().dropLast() {
            if let head = line.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(head) {
                text += " "
            }
            text += line + "\r\n"
        }
        text += "\(code) \(last)\r\n"
        return text
    }

    /// Writes the reply and returns the number of bytes written.
    @discardableResult
    public func write(to buffer: inout ByteBuffer) -> Int {
        buffer.writeString(self.description)
    }

    /// The reply's bytes in a buffer of their own.
    public func encoded(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        self.write(to: &buffer)
        return buffer
    }

    /// Whether the code is 1yz (preliminary: another reply follows).
    public var isPreliminary: Bool { self.code < 200 }
}

extension FTPReply {
    /// `257 "path" comment`, with quotes in the path doubled (RFC 959 Appendix II).
    public static func pathname(code: Int = 257, _ path: String, _ comment: String) -> FTPReply {
        FTPReply(code: code, "\"\(path.replacing("\"", with: "\"\""))\" \(comment)")
    }

    /// `213 1234` for SIZE.
    public static func size(_ size: UInt64) -> FTPReply {
        FTPReply(code: 213, String(size))
    }

    /// `213 YYYYMMDDHHMMSS` for MDTM.
    public static func modificationTime(_ time: FTPTimestamp) -> FTPReply {
        FTPReply(code: 213, time.description)
    }

    /// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).`, or nil for an IPv6 address (use EPSV).
    public static func enteringPassiveMode(_ endpoint: FTPHostPort) -> FTPReply? {
        guard endpoint.address.ipv4Bytes != nil else { return nil }
        return FTPReply(code: 227, "Entering Passive Mode (\(endpoint.portArgument)).")
    }

    /// `229 Entering Extended Passive Mode (|||port|)` (RFC 2428 §3).
    public static func enteringExtendedPassiveMode(port: UInt16) -> FTPReply {
        FTPReply(code: 229, "Entering Extended Passive Mode (|||\(port)|)")
    }
}

/// Writes replies to the control connection.
public struct FTPReplyEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = FTPReply

    public init() {}

    public func encode(data: FTPReply, out: inout ByteBuffer) {
        data.write(to: &out)
    }
}
