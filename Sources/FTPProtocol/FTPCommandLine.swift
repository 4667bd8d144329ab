import NIOCore

/// One control-connection command line: an upper-cased verb and its argument, verbatim.
///
/// RFC 959 §4.1: `verb [SP argument] CRLF`. The argument is everything after the first space, so it may
/// contain (and begin or end with) spaces, as file names may. Telnet IAC sequences (RFC 854), as clients
/// send around ABOR (IAC IP, IAC DM), are removed before the text is decoded as UTF-8 (RFC 2640).
public struct FTPCommandLine: Hashable, Sendable, CustomStringConvertible {
    /// Verbs are at most this long; the longest standard one has four letters.
    public static let maximumVerbLength = 16

    /// The verb, upper-cased (verbs are case-insensitive).
    public var verb: String
    /// The text after the first space; `nil` when the line has no space, `""` when nothing follows it.
    public var argument: String?

    public init(verb: String, argument: String? = nil) {
        self.verb = verb
        self.argument = argument
    }

    /// Parses one line, with or without its CRLF or bare LF terminator.
    public init(parsing line: ByteBuffer) throws(FTPProtocolError) {
        try self.init(parsing: Array(line.readableBytesView))
    }

    /// Parses one line, with or without its CRLF or bare LF terminator.
    public init(parsing line: some Collection<UInt8>) throws(FTPProtocolError) {
        var bytes = Self.strippingTelnetCommands(line)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.contains(0) || bytes.contains(UInt8(ascii: "\r")) || bytes.contains(UInt8(ascii: "\n")) {
            throw .controlCharacter
        }
        let space = bytes.firstIndex(of: UInt8(ascii: " ")) ?? bytes.endIndex
        let verbBytes = bytes[..<space]
        guard !verbBytes.isEmpty else { throw .missingVerb }
        let isLetter: (UInt8) -> Bool = { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        guard verbBytes.count <= Self.maximumVerbLength, verbBytes.allSatisfy(isLetter) else {
            let shown = String(decoding: verbBytes.prefix(Self.maximumVerbLength), as: UTF8.self)
            throw .invalidVerb(shown)
        }
        self.verb = String(decoding: verbBytes.map { $0 >= 0x61 ? $0 - 0x20 : $0 }, as: UTF8.self)
        if space == bytes.endIndex {
            self.argument = nil
        } else {
            guard let text = String(validating: bytes[(space + 1)...], as: UTF8.self) else { throw .invalidUTF8 }
            self.argument = text
        }
    }

    /// The line as a client sends it, with CRLF.
    public var description: String {
        if let argument { return "\(self.verb) \(argument)\r\n" }
        return "\(self.verb)\r\n"
    }

    /// Removes Telnet command sequences (RFC 854) from a control line.
    ///
    /// - `IAC IAC` is a data byte 0xFF.
    /// - `IAC WILL/WONT/DO/DONT option` (three bytes) are dropped.
    /// - `IAC` and any other command byte (IP, DM, NOP, ...) are dropped.
    /// - `IAC` followed by a byte that is no Telnet command is dropped alone: without SO_OOBINLINE the
    ///   kernel removes the urgent DM byte of the Synch, so `IAC IP IAC` may arrive right before `ABOR`.
    public static func strippingTelnetCommands(_ input: some Collection<UInt8>) -> [UInt8] {
        let iac: UInt8 = 0xFF
        guard input.contains(iac) else { return Array(input) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = input.startIndex
        while index != input.endIndex {
            let byte = input[index]
            index = input.index(after: index)
            guard byte == iac else {
                output.append(byte)
                continue
            }
            guard index != input.endIndex else { break }
            let command = input[index]
            switch command {
            case iac:
                output.append(iac)
                index = input.index(after: index)
            case 0xFB...0xFE:  // WILL, WONT, DO, DONT take an option byte.
                index = input.index(after: index)
                if index != input.endIndex { index = input.index(after: index) }
            case 0xF0...0xFA:  // SE, NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SB.
                index = input.index(after: index)
            default:
                break  // A lone IAC: keep the byte after it.
            }
        }
        return output
    }
}
