import COpenSSL
import Crypto
import NIOCore

/// AES in counter mode (NIST SP 800-38A §6.5) as SSH uses it (RFC 4344 §4).
///
/// The counter is the whole 16-byte IV, read as a 128-bit big-endian integer and incremented once per
/// block; its position carries over from one call to the next, so one keystream serves every packet
/// in one direction until the next key exchange. Callers only ever process whole blocks (SSH packets
/// are a multiple of the block size, and the first block of an inbound packet is decrypted on its
/// own), so the position is always block-aligned and no partial keystream block is ever kept.
///
/// OpenSSL's context runs the cipher, in place; the counter is also tracked here, for ``counter``.
struct AESCTRKeystream {
    static let blockSize = 16

    private let context: EVPCipherContext

    /// The next counter block, as a 128-bit integer split into host-order halves.
    private var counterHigh: UInt64
    private var counterLow: UInt64

    init(key: SymmetricKey, initialCounter: some Collection<UInt8>) throws {
        let cipher: OpaquePointer? =
            switch key.bitCount {
            case 128: EVP_aes_128_ctr()
            case 192: EVP_aes_192_ctr()
            case 256: EVP_aes_256_ctr()
            default: throw SSHTransportProtectionError.invalidKeySize
            }
        guard initialCounter.count == Self.blockSize else {
            throw SSHTransportProtectionError.invalidIVSize
        }
        self.context = try EVPCipherContext(cipher: cipher, key: key, iv: Array(initialCounter))
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (offset, byte) in initialCounter.enumerated() {
            if offset < 8 {
                high = (high << 8) | UInt64(byte)
            } else {
                low = (low << 8) | UInt64(byte)
            }
        }
        self.counterHigh = high
        self.counterLow = low
    }

    /// The next counter block, big-endian, as it will be fed to AES.
    var counter: [UInt8] {
        withUnsafeBytes(of: (self.counterHigh.bigEndian, self.counterLow.bigEndian)) { Array($0) }
    }

    /// XORs the keystream over `length` bytes of `buffer` starting at absolute `index`, in place,
    /// and advances the counter by `length / 16` blocks.
    ///
    /// The range must lie within the buffer's readable bytes and be a whole number of blocks.
    mutating func apply(to buffer: inout ByteBuffer, at index: Int, length: Int) throws {
        guard length >= 0, length % Self.blockSize == 0 else {
            throw SSHTransportProtectionError.invalidPacketLength(length)
        }
        guard index >= buffer.readerIndex, index + length <= buffer.writerIndex else {
            throw SSHTransportProtectionError.invalidPacketLength(length)
        }
        guard length > 0 else {
            return
        }

        let offset = index - buffer.readerIndex
        let context = self.context
        try buffer.withUnsafeMutableReadableBytes { readable throws(SSHTransportProtectionError) in
            guard let start = readable.baseAddress?.advanced(by: offset) else {
                throw .invalidPacketLength(length)
            }
            try context.update(start, into: start, count: length)
        }
        self.advance(blocks: length / Self.blockSize)
    }

    /// Returns `bytes` XORed with the keystream, advancing the counter. `bytes.count` must be a
    /// whole number of blocks.
    mutating func apply(_ bytes: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        try self.apply(to: &buffer, at: buffer.readerIndex, length: buffer.readableBytes)
        return Array(buffer.readableBytesView)
    }

    private mutating func advance(blocks: Int) {
        let (low, overflow) = self.counterLow.addingReportingOverflow(UInt64(blocks))
        self.counterLow = low
        if overflow {
            self.counterHigh &+= 1
        }
    }
}
