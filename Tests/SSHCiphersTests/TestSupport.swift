import Crypto
import NIOCore
import NIOSSH
import Testing

@testable import SSHCiphers

// MARK: - Helpers

func hex(_ string: String) -> [UInt8] {
    let digits = Array(string.utf8)
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { index in
        UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!
    }
}

func bytes(_ buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// One side's keys, and the mirror image the peer uses.
struct KeyPair {
    var sender: NIOSSHSessionKeys
    var receiver: NIOSSHSessionKeys

    init(encryptionKeySize: Int, ivSize: Int) {
        let ivA = randomBytes(ivSize)
        let ivB = randomBytes(ivSize)
        let encA = SymmetricKey(size: .init(bitCount: encryptionKeySize * 8))
        let encB = SymmetricKey(size: .init(bitCount: encryptionKeySize * 8))
        let macA = SymmetricKey(size: .bits256)
        let macB = SymmetricKey(size: .bits256)
        self.sender = NIOSSHSessionKeys(
            initialInboundIV: ivB, initialOutboundIV: ivA,
            inboundEncryptionKey: encB, outboundEncryptionKey: encA,
            inboundMACKey: macB, outboundMACKey: macA
        )
        self.receiver = NIOSSHSessionKeys(
            initialInboundIV: ivA, initialOutboundIV: ivB,
            inboundEncryptionKey: encA, outboundEncryptionKey: encB,
            inboundMACKey: macA, outboundMACKey: macB
        )
    }
}

/// Builds an unencrypted RFC 4253 §6 packet the way NIOSSH's serializer does: padding brings
/// padding length + payload + padding, and the length field too when it is encrypted (CTR, not
/// GCM), to a multiple of 16.
func plaintextPacket(lengthEncrypted: Bool, payload: [UInt8]) -> ByteBuffer {
    let unpadded = (lengthEncrypted ? 4 : 0) + 1 + payload.count
    var padding = 16 - unpadded % 16
    if padding < 4 {
        padding += 16
    }
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt32(1 + payload.count + padding))
    buffer.writeInteger(UInt8(padding))
    buffer.writeBytes(payload)
    buffer.writeBytes(randomBytes(padding))
    return buffer
}

/// Reads one packet off `stream` the way NIOSSH's parser does: decrypt the first block in place,
/// read the length, slice out length + MAC, and hand the slice to the protection.
func readPacket(
    from stream: inout ByteBuffer,
    using protection: NIOSSHTransportProtection,
    sequenceNumber: UInt32
) throws -> ByteBuffer {
    try protection.decryptFirstBlock(&stream)
    let length = Int(stream.getInteger(at: stream.readerIndex, as: UInt32.self)!)
    var packet = stream.readSlice(length: 4 + length + protection.macBytes)!
    let payload = try protection.decryptAndVerifyRemainingPacket(&packet, sequenceNumber: sequenceNumber)
    #expect(packet.readableBytes == 0)
    return payload
}

