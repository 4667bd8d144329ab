import Crypto
import NIOCore
import NIOSSH

/// `aes128-ctr` (RFC 4344) with `hmac-sha2-256` (RFC 6668).
public typealias AES128CTRHMACSHA256TransportProtection = AESCTRHMACSHA256TransportProtection<AES128KeyLength>
/// `aes256-ctr` (RFC 4344) with `hmac-sha2-256` (RFC 6668).
public typealias AES256CTRHMACSHA256TransportProtection = AESCTRHMACSHA256TransportProtection<AES256KeyLength>

/// AES-CTR with HMAC-SHA2-256 as a NIOSSH transport protection scheme, for one key length.
public final class AESCTRHMACSHA256TransportProtection<KeyLength: AESKeyLength>: NIOSSHTransportProtection,
    _NIOSSHSendableMetatype
{
    public static var cipherName: String { KeyLength.ctrCipherName }
    public static var macName: String? { AESCTRHMACSHA256Engine.macName }
    public static var cipherBlockSize: Int { AESCTRKeystream.blockSize }
    public static var keySizes: ExpectedKeySizes {
        .init(ivSize: 16, encryptionKeySize: KeyLength.keyByteCount, macKeySize: AESCTRHMACSHA256Engine.macLength)
    }

    public var macBytes: Int { AESCTRHMACSHA256Engine.macLength }
    public var lengthEncrypted: Bool { true }

    private var engine: AESCTRHMACSHA256Engine
    private let keyExchangeWatch = KeyExchangeWatch()

    public init(initialKeys: NIOSSHSessionKeys) throws {
        self.engine = try AESCTRHMACSHA256Engine(keys: initialKeys, keySizes: Self.keySizes)
    }

    public func updateKeys(_ newKeys: NIOSSHSessionKeys) throws {
        self.engine = try AESCTRHMACSHA256Engine(keys: newKeys, keySizes: Self.keySizes)
    }

    public func decryptFirstBlock(_ source: inout ByteBuffer) throws {
        try self.engine.decryptFirstBlock(&source)
    }

    public func decryptAndVerifyRemainingPacket(_ source: inout ByteBuffer, sequenceNumber: UInt32) throws -> ByteBuffer {
        let payload = try self.engine.decryptAndVerifyRemainingPacket(&source, sequenceNumber: sequenceNumber)
        self.keyExchangeWatch.received(payload: payload)
        return payload
    }

    public func encryptPacket(_ destination: inout ByteBuffer, sequenceNumber: UInt32) throws {
        self.keyExchangeWatch.sending(packet: destination)
        try self.engine.encryptPacket(&destination, sequenceNumber: sequenceNumber)
    }
}

/// The shared logic of the AES-CTR + HMAC-SHA2-256 schemes: RFC 4253 §6 binary packets, encrypted
/// whole (length field included) with AES-CTR, followed by an HMAC-SHA256 over the sequence number
/// and the unencrypted packet (encrypt-and-MAC, RFC 4253 §6.4).
struct AESCTRHMACSHA256Engine {
    static let macName = "hmac-sha2-256"
    static let macLength = SHA256.byteCount

    private var outboundCipher: AESCTRKeystream
    private var inboundCipher: AESCTRKeystream
    private let outboundMACKey: SymmetricKey
    private let inboundMACKey: SymmetricKey

    init(keys: NIOSSHSessionKeys, keySizes: ExpectedKeySizes) throws {
        guard keys.outboundEncryptionKey.bitCount == keySizes.encryptionKeySize * 8,
            keys.inboundEncryptionKey.bitCount == keySizes.encryptionKeySize * 8
        else {
            throw SSHTransportProtectionError.invalidKeySize
        }
        guard keys.outboundMACKey.bitCount == Self.macLength * 8,
            keys.inboundMACKey.bitCount == Self.macLength * 8
        else {
            throw SSHTransportProtectionError.invalidMACKeySize
        }
        self.outboundCipher = try AESCTRKeystream(key: keys.outboundEncryptionKey, initialCounter: keys.initialOutboundIV)
        self.inboundCipher = try AESCTRKeystream(key: keys.inboundEncryptionKey, initialCounter: keys.initialInboundIV)
        self.outboundMACKey = keys.outboundMACKey
        self.inboundMACKey = keys.inboundMACKey
    }

    /// Decrypts the first 16 bytes of the packet in place, exposing the length field.
    mutating func decryptFirstBlock(_ source: inout ByteBuffer) throws {
        try self.inboundCipher.apply(to: &source, at: source.readerIndex, length: AESCTRKeystream.blockSize)
    }

    /// `source` holds exactly one packet: its first block already decrypted, then the rest of the
    /// ciphertext, then the MAC. Decrypts the rest, checks the MAC, and returns the payload, leaving
    /// `source` fully consumed.
    mutating func decryptAndVerifyRemainingPacket(_ source: inout ByteBuffer, sequenceNumber: UInt32) throws -> ByteBuffer {
        let start = source.readerIndex
        guard let packetLength = source.getInteger(at: start, as: UInt32.self) else {
            throw SSHTransportProtectionError.invalidPacketLength(source.readableBytes)
        }
        // The whole packet, length field included, as RFC 4253 §6 counts it for the block size.
        let (total, overflow) = Int(packetLength).addingReportingOverflow(4)
        guard !overflow, total >= AESCTRKeystream.blockSize, total % AESCTRKeystream.blockSize == 0,
            source.readableBytes == total + Self.macLength
        else {
            throw SSHTransportProtectionError.invalidPacketLength(total)
        }

        let blockSize = AESCTRKeystream.blockSize
        try self.inboundCipher.apply(to: &source, at: start + blockSize, length: total - blockSize)

        // Authenticate before interpreting anything beyond the length.
        let expected = Self.mac(key: self.inboundMACKey, sequenceNumber: sequenceNumber, packet: source, length: total)
        let valid = source.withUnsafeReadableBytes { readable in
            expected.withUnsafeBytes { expectedBytes in
                constantTimeEquals(expectedBytes, UnsafeRawBufferPointer(rebasing: readable[total...]))
            }
        }
        guard valid else {
            throw SSHTransportProtectionError.macVerificationFailed
        }

        guard var packet = source.getSlice(at: start + 4, length: total - 4) else {
            throw SSHTransportProtectionError.invalidPacketLength(total)
        }
        let payload = try packet.sliceSSHPayload()
        source.moveReaderIndex(forwardBy: total + Self.macLength)
        return payload
    }

    /// `destination`'s readable bytes are one unencrypted packet, length field included. Encrypts it
    /// in place and appends the MAC.
    mutating func encryptPacket(_ destination: inout ByteBuffer, sequenceNumber: UInt32) throws {
        let start = destination.readerIndex
        let total = destination.readableBytes
        guard total >= AESCTRKeystream.blockSize, total % AESCTRKeystream.blockSize == 0 else {
            throw SSHTransportProtectionError.invalidPacketLength(total)
        }
        let mac = Self.mac(key: self.outboundMACKey, sequenceNumber: sequenceNumber, packet: destination, length: total)
        try self.outboundCipher.apply(to: &destination, at: start, length: total)
        mac.withUnsafeBytes { _ = destination.writeBytes($0) }
    }

    /// HMAC-SHA256 over `uint32 sequence_number || unencrypted_packet` (RFC 4253 §6.4), the packet
    /// being the first `length` readable bytes of `packet`.
    private static func mac(
        key: SymmetricKey,
        sequenceNumber: UInt32,
        packet: ByteBuffer,
        length: Int
    ) -> HMAC<SHA256>.MAC {
        var hmac = HMAC<SHA256>(key: key)
        withUnsafeBytes(of: sequenceNumber.bigEndian) { hmac.update(data: $0) }
        packet.withUnsafeReadableBytes { readable in
            hmac.update(data: UnsafeRawBufferPointer(rebasing: readable[..<length]))
        }
        return hmac.finalize()
    }
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEquals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
    guard lhs.count == rhs.count else {
        return false
    }
    var difference: UInt8 = 0
    for index in 0..<lhs.count {
        difference |= lhs[index] ^ rhs[index]
    }
    return difference == 0
}
