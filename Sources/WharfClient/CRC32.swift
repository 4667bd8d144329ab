/// CRC-32 as zlib, PNG and FTP's XCRC compute it (polynomial 0xEDB88320, reflected, initial and
/// final value 0xFFFFFFFF): a verification hash some FTP servers offer when they offer no other.
struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
        }
        return value
    }

    private var state: UInt32 = 0xFFFF_FFFF

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = self.state
        Self.table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        self.state = crc
    }

    var value: UInt32 { self.state ^ 0xFFFF_FFFF }

    /// The checksum as 4 bytes, most significant first (how it reads in hex: `cbf43926`).
    var bigEndianBytes: [UInt8] {
        let value = self.value
        return [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
