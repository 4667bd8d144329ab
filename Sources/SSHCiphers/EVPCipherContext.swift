import COpenSSL
import Crypto

/// One direction of an SSH cipher on an OpenSSL `EVP_CIPHER_CTX`, keyed once per key exchange.
///
/// Why OpenSSL rather than swift-crypto: swift-crypto's AES APIs take and return whole `Data`
/// values, which costs two or three copies and an allocation per packet; on OpenSSL's context a
/// packet is encrypted in place, or decrypted straight into the buffer that carries it onward.
///
/// Not thread-safe: a transport protection object, and so its contexts, belong to one connection's
/// channel pipeline.
final class EVPCipherContext {
    private let context: OpaquePointer

    /// - Parameters:
    ///   - cipher: an `EVP_aes_*` cipher.
    ///   - key: its key; the size is checked by the caller against the negotiated scheme.
    ///   - encrypting: the direction (it matters for GCM's tag; CTR is symmetric).
    ///   - configure: runs between setting the cipher and setting the key, for the cipher's
    ///     controls (GCM's fixed IV must be set there, as OpenSSH's cipher.c does).
    init(
        cipher: OpaquePointer?,
        key: SymmetricKey,
        iv: [UInt8]?,
        encrypting: Bool,
        configure: (EVPCipherContext) throws(SSHTransportProtectionError) -> Void = { _ in }
    ) throws(SSHTransportProtectionError) {
        guard let cipher, let context = EVP_CIPHER_CTX_new() else {
            throw .cipherFailure("EVP_CIPHER_CTX_new")
        }
        self.context = context
        let direction: Int32 = encrypting ? 1 : 0
        let initialised: Int32 =
            if let iv {
                iv.withUnsafeBufferPointer { EVP_CipherInit_ex(context, cipher, nil, nil, $0.baseAddress, direction) }
            } else {
                EVP_CipherInit_ex(context, cipher, nil, nil, nil, direction)
            }
        guard initialised == 1 else {
            throw .cipherFailure("EVP_CipherInit_ex")
        }
        try configure(self)
        let keyed = key.withUnsafeBytes { keyBytes in
            EVP_CipherInit_ex(
                context, nil, nil, keyBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), nil, -1
            )
        }
        guard keyed == 1 else {
            throw .cipherFailure("EVP_CipherInit_ex (key)")
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(self.context)
    }

    /// Runs `count` bytes from `input` through the cipher into `output` (the same address for in
    /// place; never a partial overlap). With a nil `output`, feeds GCM's associated data.
    func update(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer?, count: Int) throws(SSHTransportProtectionError) {
        var written: Int32 = 0
        guard let length = Int32(exactly: count),
            EVP_CipherUpdate(
                self.context,
                output?.assumingMemoryBound(to: UInt8.self),
                &written,
                input.assumingMemoryBound(to: UInt8.self),
                length
            ) == 1,
            output == nil || written == length
        else {
            throw .cipherFailure("EVP_CipherUpdate")
        }
    }

    /// Ends one AEAD message: computes the tag when encrypting, checks the tag set by
    /// ``control(_:argument:pointer:)`` when decrypting. False when the tag does not match.
    func finish() -> Bool {
        // GCM writes nothing here; the buffer only satisfies the API.
        var unused: (UInt64, UInt64) = (0, 0)
        var written: Int32 = 0
        return withUnsafeMutableBytes(of: &unused) { scratch in
            EVP_CipherFinal_ex(self.context, scratch.baseAddress?.assumingMemoryBound(to: UInt8.self), &written) == 1
        }
    }

    /// `EVP_CIPHER_CTX_ctrl`, for GCM's IV and tag.
    func control(_ type: Int32, argument: Int32, pointer: UnsafeMutableRawPointer?) throws(SSHTransportProtectionError) {
        guard EVP_CIPHER_CTX_ctrl(self.context, type, argument, pointer) == 1 else {
            throw .cipherFailure("EVP_CIPHER_CTX_ctrl(\(type))")
        }
    }
}
