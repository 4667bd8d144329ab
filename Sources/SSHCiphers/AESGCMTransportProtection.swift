import COpenSSL
import Crypto
import NIOCore
import NIOSSH

/// `aes128-gcm@openssh.com`.
public typealias AES128GCMOpenSSHTransportProtection = AESGCMOpenSSHTransportProtection<AES128KeyLength>
/// `aes256-gcm@openssh.com`.
public typealias AES256GCMOpenSSHTransportProtection = AESGCMOpenSSHTransportProtection<AES256KeyLength>

/// OpenSSH's AES-GCM (PROTOCOL §1.6, RFC 5647 with the MAC negotiation ignored) on OpenSSL, as a
/// NIOSSH transport protection scheme; it replaces NIOSSH's own, which copies each packet three
/// times through swift-crypto's `Data` API.
///
/// The packet length stays in clear and is the associated data; padding length, payload and
/// padding are encrypted; a 16-byte tag follows. The 12-byte nonce is 4 fixed bytes and a 64-bit
/// invocation counter that goes up by one per packet, which OpenSSL's `EVP_CTRL_GCM_IV_GEN` does.
public final class AESGCMOpenSSHTransportProtection<KeyLength: AESKeyLength>: NIOSSHTransportProtection,
    _NIOSSHSendableMetatype
{
    static var tagByteCount: Int { 16 }
    static var nonceByteCount: Int { 12 }

    public static var cipherName: String { KeyLength.gcmCipherName }
    public static var macName: String? { nil }
    public static var cipherBlockSize: Int { 16 }
    public static var keySizes: ExpectedKeySizes {
        .init(ivSize: Self.nonceByteCount, encryptionKeySize: KeyLength.keyByteCount, macKeySize: 16)
    }

    public var macBytes: Int { Self.tagByteCount }
    public var lengthEncrypted: Bool { false }

    private var outbound: EVPCipherContext
    private var inbound: EVPCipherContext
    private let keyExchangeWatch = KeyExchangeWatch()

    public init(initialKeys: NIOSSHSessionKeys) throws {
        (self.outbound, self.inbound) = try Self.contexts(for: initialKeys)
    }

    public func updateKeys(_ newKeys: NIOSSHSessionKeys) throws {
        (self.outbound, self.inbound) = try Self.contexts(for: newKeys)
    }

    private static func contexts(
        for keys: NIOSSHSessionKeys
    ) throws(SSHTransportProtectionError) -> (outbound: EVPCipherContext, inbound: EVPCipherContext) {
        guard keys.outboundEncryptionKey.bitCount == KeyLength.keyByteCount * 8,
            keys.inboundEncryptionKey.bitCount == KeyLength.keyByteCount * 8
        else {
            throw .invalidKeySize
        }
        guard keys.initialOutboundIV.count == Self.nonceByteCount, keys.initialInboundIV.count == Self.nonceByteCount else {
            throw .invalidIVSize
        }
        let cipher = KeyLength.keyByteCount == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
        func context(key: SymmetricKey, nonce: [UInt8], encrypting: Bool) throws(SSHTransportProtectionError) -> EVPCipherContext {
            try EVPCipherContext(cipher: cipher, key: key, iv: nonce, encrypting: encrypting) { context throws(SSHTransportProtectionError) in
                // The whole 12-byte nonce is "fixed"; IV_GEN then counts up its last 8 bytes.
                var fixed = nonce
                let applied = fixed.withUnsafeMutableBytes { bytes in
                    Result { () throws(SSHTransportProtectionError) in
                        try context.control(EVP_CTRL_GCM_SET_IV_FIXED, argument: -1, pointer: bytes.baseAddress)
                    }
                }
                try applied.get()
            }
        }
        return (
            try context(key: keys.outboundEncryptionKey, nonce: keys.initialOutboundIV, encrypting: true),
            try context(key: keys.inboundEncryptionKey, nonce: keys.initialInboundIV, encrypting: false)
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
            try inbound.startNextGCMPacket()
            // OpenSSL reads the expected tag before it finishes; it does not write through the pointer.
            try inbound.control(
                EVP_CTRL_GCM_SET_TAG,
                argument: Int32(tagByteCount),
                pointer: UnsafeMutableRawPointer(mutating: base + 4 + ciphertextCount)
            )
            try inbound.update(base, into: nil, count: 4)
            try plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: ciphertextCount) {
                output throws(SSHTransportProtectionError) -> Int in
                try inbound.update(base + 4, into: output.baseAddress, count: ciphertextCount)
                return ciphertextCount
            }
            return inbound.finish()
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
            guard let base = packet.baseAddress else {
                throw .invalidPacketLength(0)
            }
            try outbound.startNextGCMPacket()
            try outbound.update(base, into: nil, count: 4)
            try outbound.update(base + 4, into: base + 4, count: plaintextCount)
            guard outbound.finish() else {
                throw .cipherFailure("EVP_CipherFinal_ex")
            }
            try outbound.control(EVP_CTRL_GCM_GET_TAG, argument: Int32(tagByteCount), pointer: base + 4 + plaintextCount)
        }
    }
}

extension EVPCipherContext {
    /// Moves a GCM context to the next packet's nonce: the current one is used, and the 64-bit
    /// invocation counter in its last 8 bytes goes up by one for the packet after.
    fileprivate func startNextGCMPacket() throws(SSHTransportProtectionError) {
        // OpenSSL copies the nonce's last byte(s) out; it needs somewhere to put them.
        var lastNonceByte: UInt8 = 0
        try withUnsafeMutableBytes(of: &lastNonceByte) { byte throws(SSHTransportProtectionError) in
            try self.control(EVP_CTRL_GCM_IV_GEN, argument: 1, pointer: byte.baseAddress)
        }
    }
}
