import Crypto
import NIOCore
import NIOSSH

/// `aes128-gcm@openssh.com`.
public typealias AES128GCMOpenSSHTransportProtection = AESGCMOpenSSHTransportProtection<AES128KeyLength>
/// `aes256-gcm@openssh.com`.
public typealias AES256GCMOpenSSHTransportProtection = AESGCMOpenSSHTransportProtection<AES256KeyLength>

/// OpenSSH's AES-GCM (PROTOCOL §1.6, RFC 5647 with the MAC negotiation ignored) on BoringSSL's
/// AEAD (`AESGCMPacketContext`), as a NIOSSH transport protection scheme; it replaces NIOSSH's
/// own, which copies each packet three times through swift-crypto's `Data` API.
///
/// The packet length stays in clear and is the associated data; padding length, payload and
/// padding are encrypted; a 16-byte tag follows.
public final class AESGCMOpenSSHTransportProtection<KeyLength: AESKeyLength>: NIOSSHTransportProtection,
    _NIOSSHSendableMetatype
{
    static var tagByteCount: Int { AESGCMPacketContext.tagByteCount }
    static var nonceByteCount: Int { AESGCMPacketContext.nonceByteCount }

    public static var cipherName: String { KeyLength.gcmCipherName }
    public static var macName: String? { nil }
    public static var cipherBlockSize: Int { 16 }
    public static var keySizes: ExpectedKeySizes {
        .init(ivSize: Self.nonceByteCount, encryptionKeySize: KeyLength.keyByteCount, macKeySize: 16)
    }

    public var macBytes: Int { Self.tagByteCount }
    public var lengthEncrypted: Bool { false }

    private var outbound: AESGCMPacketContext
    private var inbound: AESGCMPacketContext
    private let keyExchangeWatch = KeyExchangeWatch()

    public init(initialKeys: NIOSSHSessionKeys) throws {
        (self.outbound, self.inbound) = try Self.contexts(for: initialKeys)
    }

    public func updateKeys(_ newKeys: NIOSSHSessionKeys) throws {
        (self.outbound, self.inbound) = try Self.contexts(for: newKeys)
    }

    private static func contexts(
        for keys: NIOSSHSessionKeys
    ) throws(SSHTransportProtectionError) -> (outbound: AESGCMPacketContext, inbound: AESGCMPacketContext) {
        guard keys.outboundEncryptionKey.bitCount == KeyLength.keyByteCount * 8,
            keys.inboundEncryptionKey.bitCount == KeyLength.keyByteCount * 8
        else {
            throw .invalidKeySize
        }
        return (
            try AESGCMPacketContext(key: keys.outboundEncryptionKey, nonce: keys.initialOutboundIV),
            try AESGCMPacketContext(key: keys.inboundEncryptionKey, nonce: keys.initialInboundIV)
        )
    }

    public func decryptFirstBlock(_ source: inout ByteBuffer) throws {
        // The length field is not encrypted.
    }

    /// `source` is one packet: the clear length, the ciphertext, the tag. The plaintext goes into
    /// a new buffer (decrypting in place would copy the packet first: `source` shares its storage
    /// with NIOSSH's read buffer) and the payload is returned as a slice of it.
    public func decryptAndVerifyRemainingPacket(_ source: inout ByteBuffer, sequenceNumber: UInt32) throws -> ByteBuffer {
        let tagByteCount = Self.tagByteCount
        let ciphertextCount = source.readableBytes - 4 - tagByteCount
        guard ciphertextCount > 0, ciphertextCount % Self.cipherBlockSize == 0,
            let packetLength = source.getInteger(at: source.readerIndex, as: UInt32.self),
            Int(packetLength) == ciphertextCount
        else {
            throw SSHTransportProtectionError.invalidPacketLength(source.readableBytes)
        }

        var plaintext = ByteBufferAllocator().buffer(capacity: ciphertextCount)
        let inbound = self.inbound
        let authentic = try source.withUnsafeReadableBytes { packet throws(SSHTransportProtectionError) -> Bool in
            guard let base = packet.baseAddress else {
                throw .invalidPacketLength(0)
            }
            var authentic = false
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: ciphertextCount) { output in
                guard let out = output.baseAddress else { return 0 }
                authentic = inbound.open(packet: base, ciphertextCount: ciphertextCount, into: out)
                return authentic ? ciphertextCount : 0
            }
            return authentic
        }
        guard authentic else {
            throw SSHTransportProtectionError.macVerificationFailed
        }
        source.moveReaderIndex(to: source.writerIndex)
        let payload = try plaintext.sliceSSHPayload()
        self.keyExchangeWatch.received(payload: payload)
        return payload
    }

    /// `destination`'s readable bytes are one packet, length field first; encrypts all but the
    /// length in place and appends the tag.
    public func encryptPacket(_ destination: inout ByteBuffer, sequenceNumber: UInt32) throws {
        let plaintextCount = destination.readableBytes - 4
        guard plaintextCount > 0, plaintextCount % Self.cipherBlockSize == 0 else {
            throw SSHTransportProtectionError.invalidPacketLength(destination.readableBytes)
        }
        self.keyExchangeWatch.sending(packet: destination)
        let tagByteCount = Self.tagByteCount
        destination.writeRepeatingByte(0, count: tagByteCount)
        let outbound = self.outbound
        try destination.withUnsafeMutableReadableBytes { packet throws(SSHTransportProtectionError) in
            let packetCount = packet.count - tagByteCount
            guard let base = packet.baseAddress else {
                throw .invalidPacketLength(0)
            }
            try outbound.seal(packet: UnsafeMutableRawBufferPointer(start: base, count: packetCount), tag: base + packetCount)
        }
    }
}
