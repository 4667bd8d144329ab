import CBoringSSLAEAD
import Crypto

/// One direction of `aes*-gcm@openssh.com` on a BoringSSL AEAD context, keyed once per key
/// exchange: the key schedule and GHASH tables are made once, and each packet is one call.
///
/// The 12-byte nonce is the key exchange's IV with its last 8 bytes a big-endian invocation
/// counter that goes up by one per packet (PROTOCOL §1.6, RFC 5647 §7.1).
///
/// Not thread-safe: a transport protection object, and so its contexts, belong to one connection's
/// channel pipeline.
final class AESGCMPacketContext {
    static let tagByteCount = 16
    static let nonceByteCount = 12

    private let context: OpaquePointer
    /// The next packet's nonce.
    private var nonce: [UInt8]

    init(key: SymmetricKey, nonce: [UInt8]) throws(SSHTransportProtectionError) {
        guard nonce.count == Self.nonceByteCount else { throw .invalidIVSize }
        let aead: OpaquePointer?
        switch key.bitCount {
        case 128: aead = CCryptoBoringSSL_EVP_aead_aes_128_gcm()
        case 256: aead = CCryptoBoringSSL_EVP_aead_aes_256_gcm()
        default: throw .invalidKeySize
        }
        let context = key.withUnsafeBytes { keyBytes in
            CCryptoBoringSSL_EVP_AEAD_CTX_new(
                aead, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), keyBytes.count, Self.tagByteCount)
        }
        guard let context else { throw .cipherFailure("EVP_AEAD_CTX_new") }
        self.context = context
        self.nonce = nonce
    }

    deinit {
        CCryptoBoringSSL_EVP_AEAD_CTX_free(self.context)
    }

    /// Encrypts `packet[4...]` in place with `packet[0..<4]` (the clear length) as associated data,
    /// and writes the tag to `tag`.
    func seal(packet: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawPointer) throws(SSHTransportProtectionError) {
        guard let base = packet.baseAddress?.assumingMemoryBound(to: UInt8.self), packet.count > 4 else {
            throw .invalidPacketLength(packet.count)
        }
        var tagByteCount = 0
        let sealed = self.withNextNonce { nonce in
            CCryptoBoringSSL_EVP_AEAD_CTX_seal_scatter(
                self.context, base + 4, tag.assumingMemoryBound(to: UInt8.self), &tagByteCount, Self.tagByteCount,
                nonce, Self.nonceByteCount, base + 4, packet.count - 4, nil, 0, base, 4)
        }
        guard sealed == 1, tagByteCount == Self.tagByteCount else { throw .cipherFailure("EVP_AEAD_CTX_seal_scatter") }
    }

    /// Decrypts `ciphertextCount` bytes after the 4-byte clear length at `packet` into `output`,
    /// checking the tag that follows them; false when the packet is not authentic (nothing in
    /// `output` may then be used).
    func open(
        packet: UnsafeRawPointer, ciphertextCount: Int, into output: UnsafeMutableRawPointer
    ) -> Bool {
        let base = packet.assumingMemoryBound(to: UInt8.self)
        let opened = self.withNextNonce { nonce in
            CCryptoBoringSSL_EVP_AEAD_CTX_open_gather(
                self.context, output.assumingMemoryBound(to: UInt8.self), nonce, Self.nonceByteCount,
                base + 4, ciphertextCount, base + 4 + ciphertextCount, Self.tagByteCount, base, 4)
        }
        return opened == 1
    }

    /// Calls `body` with this packet's nonce, then moves the counter on whatever the outcome: a
    /// failed packet ends the connection, and a nonce must never be used twice.
    private func withNextNonce(_ body: (UnsafePointer<UInt8>) -> Int32) -> Int32 {
        defer {
            // The last 8 bytes count up, big-endian, wrapping as OpenSSH's do.
            var index = Self.nonceByteCount - 1
            while index >= 4 {
                self.nonce[index] &+= 1
                if self.nonce[index] != 0 { break }
                index -= 1
            }
        }
        return self.nonce.withUnsafeBufferPointer { nonce in
            guard let base = nonce.baseAddress else { return 0 }
            return body(base)
        }
    }
}
