import COpenSSL
import Crypto

/// An AES-CTR keystream's cipher on an OpenSSL `EVP_CIPHER_CTX`, keyed once per key exchange.
///
/// Why not swift-crypto: its AES APIs take and return whole `Data` values, which costs two or
/// three copies and an allocation per call; on OpenSSL's context the keystream is made in place.
/// (AES-GCM has its own context on BoringSSL's AEAD: `AESGCMPacketContext`.)
///
/// Not thread-safe: a transport protection object, and so its contexts, belong to one connection's
/// channel pipeline.
final class EVPCipherContext {
    private let context: OpaquePointer

    /// - Parameters:
    ///   - cipher: an `EVP_aes_*_ctr` cipher.
    ///   - key: its key; the size is checked by the caller against the negotiated scheme.
    ///   - iv: the initial counter block.
    init(cipher: OpaquePointer?, key: SymmetricKey, iv: [UInt8]) throws(SSHTransportProtectionError) {
        guard let cipher, let context = EVP_CIPHER_CTX_new() else {
            throw .cipherFailure("EVP_CIPHER_CTX_new")
        }
        self.context = context
        let keyed = key.withUnsafeBytes { keyBytes in
            iv.withUnsafeBufferPointer { iv in
                EVP_CipherInit_ex(
                    context, cipher, nil, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), iv.baseAddress, 1)
            }
        }
        guard keyed == 1 else {
            throw .cipherFailure("EVP_CipherInit_ex")
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(self.context)
    }

    /// Runs `count` bytes from `input` through the cipher into `output` (the same address for in
    /// place; never a partial overlap).
    func update(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer, count: Int) throws(SSHTransportProtectionError) {
        var written: Int32 = 0
        guard let length = Int32(exactly: count),
            EVP_CipherUpdate(
                self.context,
                output.assumingMemoryBound(to: UInt8.self),
                &written,
                input.assumingMemoryBound(to: UInt8.self),
                length
            ) == 1,
            written == length
        else {
            throw .cipherFailure("EVP_CipherUpdate")
        }
    }
}
