/// An IPv4 or IPv6 address as PORT, EPRT, PASV and EPSV carry it: 4 or 16 bytes in network order.
public struct FTPIPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// nil unless `bytes` holds 4 (IPv4) or 16 (IPv6) bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted-decimal IPv4 (`192.0.2.1`, no leading zeros) or IPv6 text (RFC 4291 §2.2, no zone).
    public init?(_ text: some StringProtocol) {
        if let v4 = Self.parseIPv4(Array(text.utf8)) {
            self.bytes = v4
        } else if let v6 = Self.parseIPv6(Array(text.utf8)) {
            self.bytes = v6
        } else {
            return nil
        }
    }

    public var isIPv6: Bool { self.bytes.count == 16 }

    /// The four IPv4 bytes, also for an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
    public var ipv4Bytes: [UInt8]? {
        if self.bytes.count == 4 { return self.bytes }
        if self.bytes.prefix(10).allSatisfy({ $0 == 0 }) && self.bytes[10] == 0xFF && self.bytes[11] == 0xFF {
            return Array(self.bytes[12...])
        }
        return nil
    }

    /// Dotted decimal, or IPv6 in the RFC 5952 form (lower case, longest zero run compressed).
    public var description: String {
        guard self.isIPv6 else { return self.bytes.map(String.init).joined(separator: ".") }
        let groups = (0..<8).map { UInt16(self.bytes[2 * $0]) << 8 | UInt16(self.bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { (bestStart, bestLength) = (runStart, index - runStart) }
                runStart = -1
            }
        }
        let hex = { (range: Range<Int>) in range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        guard bestLength >= 2 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    static func parseIPv4(_ text: [UInt8]) -> [UInt8]? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard let value = parseDecimal(part, maxDigits: 3), value <= 255 else { return nil }
            out.append(UInt8(value))
        }
        return out
    }

    static func parseIPv6(_ text: [UInt8]) -> [UInt8]? {
        guard text.count >= 2, text.count <= 45 else { return nil }
        let colon = UInt8(ascii: ":")
        // Split at "::", which may occur once.
        var head = text[...], tail: ArraySlice<UInt8>? = nil
        if let gap = text.indices.dropLast().first(where: { text[$0] == colon && text[$0 + 1] == colon }) {
            head = text[..<gap]
            tail = text[(gap + 2)...]
        }
        func groups(_ part: ArraySlice<UInt8>, mayEndInIPv4: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            let fields = part.split(separator: colon, omittingEmptySubsequences: false)
            var out: [UInt8] = []
            for (index, field) in fields.enumerated() {
                if index == fields.count - 1, mayEndInIPv4, field.contains(UInt8(ascii: ".")) {
                    guard let v4 = parseIPv4(Array(field)) else { return nil }
                    out += v4
                } else {
                    guard (1...4).contains(field.count), let value = UInt16(String(decoding: field, as: UTF8.self), radix: 16),
                        field.allSatisfy({ isHexDigit($0) })
                    else { return nil }
                    out += [UInt8(value >> 8), UInt8(value & 0xFF)]
                }
            }
            return out
        }
        if let tail {
            guard let front = groups(head, mayEndInIPv4: false), let back = groups(tail, mayEndInIPv4: true),
                front.count + back.count <= 14
            else { return nil }
            return front + [UInt8](repeating: 0, count: 16 - front.count - back.count) + back
        }
        guard let all = groups(head, mayEndInIPv4: true), all.count == 16 else { return nil }
        return all
    }
}

func isHexDigit(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
}

/// Non-empty ASCII decimal with at most `maxDigits` digits and no superfluous leading zero.
func parseDecimal(_ digits: some Collection<UInt8>, maxDigits: Int) -> Int? {
    guard !digits.isEmpty, digits.count <= maxDigits, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
        return nil
    }
    if digits.count > 1, digits.first == UInt8(ascii: "0") { return nil }
    return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
}

/// An address and port of a data connection, as PORT/EPRT name it and PASV/EPSV announce it.
public struct FTPHostPort: Hashable, Sendable, CustomStringConvertible {
    public var address: FTPIPAddress
    public var port: UInt16

    public init(address: FTPIPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses the PORT argument `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): six decimals 0...255, no spaces;
    /// port 0 is refused.
    public init(portArgument text: some StringProtocol) throws(FTPProtocolError) {
        let fields = Array(text.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count == 6 else { throw .invalidHostPort("PORT needs six comma-separated numbers") }
        var numbers: [UInt8] = []
        for field in fields {
            guard let value = parseDecimal(field, maxDigits: 3), value <= 255 else {
                throw .invalidHostPort("PORT field \(String(decoding: field, as: UTF8.self).debugDescription) is not 0...255")
            }
            numbers.append(UInt8(value))
        }
        let port = UInt16(numbers[4]) << 8 | UInt16(numbers[5])
        guard port != 0, let address = FTPIPAddress(bytes: Array(numbers[0..<4])) else {
            throw .invalidHostPort("PORT to port 0")
        }
        self.init(address: address, port: port)
    }

    /// Parses the EPRT argument `<d>proto<d>address<d>port<d>` (RFC 2428 §2), e.g. `|1|192.0.2.1|6275|`
    /// or `|2|2001:db8::1|6275|`. The delimiter is one printable ASCII character that cannot occur in an
    /// address; proto 1 needs an IPv4 and 2 an IPv6 address; other protos throw
    /// `.unsupportedNetworkProtocol` (reply 522).
    public init(eprtArgument text: some StringProtocol) throws(FTPProtocolError) {
        let bytes = Array(text.utf8)
        guard let delimiter = bytes.first else { throw .invalidHostPort("empty EPRT argument") }
        guard (33...126).contains(delimiter), !isHexDigit(delimiter),
            ![UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "%")].contains(delimiter),
            !(0x41...0x5A).contains(delimiter), !(0x61...0x7A).contains(delimiter)
        else { throw .invalidHostPort("EPRT delimiter must be printable ASCII outside addresses") }
        let fields = bytes.split(separator: delimiter, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[4].isEmpty else {
            throw .invalidHostPort("EPRT needs <d>proto<d>address<d>port<d>")
        }
        let proto = String(decoding: fields[1], as: UTF8.self)
        let address: FTPIPAddress?
        switch proto {
        case "1": address = FTPIPAddress.parseIPv4(Array(fields[2])).flatMap { FTPIPAddress(bytes: $0) }
        case "2": address = FTPIPAddress.parseIPv6(Array(fields[2])).flatMap { FTPIPAddress(bytes: $0) }
        default:
            guard !fields[1].isEmpty, fields[1].allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw .invalidHostPort("EPRT protocol \(proto.debugDescription) is not a number")
            }
            throw .unsupportedNetworkProtocol(proto)
        }
        guard let address else {
            throw .invalidHostPort("EPRT address does not match protocol \(proto)")
        }
        guard let port = parseDecimal(fields[3], maxDigits: 5), (1...65535).contains(port) else {
            throw .invalidHostPort("EPRT port is not 1...65535")
        }
        self.init(address: address, port: UInt16(port))
    }

    /// `h1,h2,h3,h4,p1,p2` for PORT and the 227 reply (IPv4-mapped IPv6 addresses as IPv4; a plain
    /// IPv6 address has no such form and yields its EPRT form instead).
    public var portArgument: String {
        guard let v4 = self.address.ipv4Bytes else { return self.eprtArgument }
        return (v4 + [UInt8(self.port >> 8), UInt8(self.port & 0xFF)]).map(String.init).joined(separator: ",")
    }

    /// `|1|a.b.c.d|port|` or `|2|ipv6|port|` for EPRT.
    public var eprtArgument: String {
        "|\(self.address.isIPv6 ? 2 : 1)|\(self.address)|\(self.port)|"
    }

    public var description: String {
        self.address.isIPv6 ? "[\(self.address)]:\(self.port)" : "\(self.address):\(self.port)"
    }

    /// The endpoint in a 227 reply's text, read the way curl and ftplib do: the first run of six
    /// comma-separated numbers.
    public init(passiveReplyText text: some StringProtocol) throws(FTPProtocolError) {
        let bytes = Array(text.utf8)
        let isDigitOrComma = { (byte: UInt8) in (0x30...0x39).contains(byte) || byte == UInt8(ascii: ",") }
        var index = 0
        while index < bytes.count {
            guard (0x30...0x39).contains(bytes[index]) else {
                index += 1
                continue
            }
            var end = index
            while end < bytes.count, isDigitOrComma(bytes[end]) { end += 1 }
            var run = bytes[index..<end]
            while run.last == UInt8(ascii: ",") { run = run.dropLast() }
            if run.filter({ $0 == UInt8(ascii: ",") }).count == 5,
                let endpoint = try? FTPHostPort(portArgument: String(decoding: run, as: UTF8.self))
            {
                self = endpoint
                return
            }
            index = end
        }
        throw .invalidHostPort("no h1,h2,h3,h4,p1,p2 in 227 reply")
    }

    /// The port in a 229 reply's text: `(<d><d><d>port<d>)` (RFC 2428 §3).
    public static func extendedPassivePort(replyText text: some StringProtocol) throws(FTPProtocolError) -> UInt16 {
        let bytes = Array(text.utf8)
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
            let close = bytes[open...].firstIndex(of: UInt8(ascii: ")")),
            close - open >= 6
        else { throw .invalidHostPort("no (|||port|) in 229 reply") }
        let inner = bytes[(open + 1)..<close]
        let delimiter = inner[inner.startIndex]
        let fields = inner.split(separator: delimiter, omittingEmptySubsequences: false)
        guard (33...126).contains(delimiter), fields.count == 5, fields[0].isEmpty, fields[1].isEmpty,
            fields[2].isEmpty, fields[4].isEmpty,
            let port = parseDecimal(fields[3], maxDigits: 5), (1...65535).contains(port)
        else { throw .invalidHostPort("malformed (|||port|) in 229 reply") }
        return UInt16(port)
    }
}

/// The argument of EPSV (RFC 2428 §3): none, a network protocol, or `ALL`.
public enum FTPExtendedPassiveArgument: Hashable, Sendable {
    /// `EPSV`: the control connection's protocol.
    case any
    /// `EPSV 1` (IPv4) or `EPSV 2` (IPv6).
    case networkProtocol(Int)
    /// `EPSV ALL`: from now on refuse PORT, EPRT and PASV.
    case all

    public init(_ argument: String?) throws(FTPProtocolError) {
        guard let argument, !argument.isEmpty else {
            self = .any
            return
        }
        if argument.uppercased() == "ALL" {
            self = .all
        } else if argument == "1" || argument == "2" {
            self = .networkProtocol(argument == "1" ? 1 : 2)
        } else if argument.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            throw .unsupportedNetworkProtocol(argument)
        } else {
            throw .invalidArgument("EPSV takes 1, 2 or ALL")
        }
    }
}
