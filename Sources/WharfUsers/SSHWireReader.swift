/// Reads the SSH wire encoding (RFC 4251 §5) of a public key blob: length-prefixed strings, nothing else.
/// Every read is bounds-checked, so a hostile blob yields `nil`, never a trap.
struct SSHWireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// A `string`: uint32 big-endian length, then that many bytes.
    mutating func readString() -> [UInt8]? {
        guard bytes.count - offset >= 4 else { return nil }
        var length = 0
        for byte in bytes[offset..<offset + 4] {
            length = length << 8 | Int(byte)
        }
        guard bytes.count - offset - 4 >= length else { return nil }
        let start = offset + 4
        offset = start + length
        return Array(bytes[start..<offset])
    }
}

extension Array where Element == UInt8 {
    /// `value` as an SSH `string`: how a blob must start for a given algorithm name.
    static func sshString(_ value: String) -> [UInt8] {
        let body = Array(value.utf8)
        let count = UInt32(body.count)
        return [UInt8(count >> 24 & 0xff), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)] + body
    }
}
