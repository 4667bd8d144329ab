import Crypto
import NIOCore

/// The hash algorithms of the check-file extension (draft-ietf-secsh-filexfer-extensions-00).
enum CheckFileHasher {
    static let supported = ["md5", "sha1", "sha256", "sha384", "sha512"]
    static let supportedNames = supported.joined(separator: ",")

    /// The first algorithm of the client's list that we support.
    static func choose(from requested: [String]) -> String? {
        requested.first { supported.contains($0.lowercased()) }?.lowercased()
    }

    /// A running hash of one of the supported algorithms.
    enum Digest {
        case md5(Insecure.MD5)
        case sha1(Insecure.SHA1)
        case sha256(SHA256)
        case sha384(SHA384)
        case sha512(SHA512)

        init?(algorithm: String) {
            switch algorithm {
            case "md5": self = .md5(Insecure.MD5())
            case "sha1": self = .sha1(Insecure.SHA1())
            case "sha256": self = .sha256(SHA256())
            case "sha384": self = .sha384(SHA384())
            case "sha512": self = .sha512(SHA512())
            default: return nil
            }
        }

        mutating func update(_ buffer: ByteBuffer) {
            buffer.withUnsafeReadableBytes { bytes in
                switch self {
                case .md5(var hasher): hasher.update(bufferPointer: bytes); self = .md5(hasher)
                case .sha1(var hasher): hasher.update(bufferPointer: bytes); self = .sha1(hasher)
                case .sha256(var hasher): hasher.update(bufferPointer: bytes); self = .sha256(hasher)
                case .sha384(var hasher): hasher.update(bufferPointer: bytes); self = .sha384(hasher)
                case .sha512(var hasher): hasher.update(bufferPointer: bytes); self = .sha512(hasher)
                }
            }
        }

        func finalize() -> [UInt8] {
            switch self {
            case .md5(let hasher): return Array(hasher.finalize())
            case .sha1(let hasher): return Array(hasher.finalize())
            case .sha256(let hasher): return Array(hasher.finalize())
            case .sha384(let hasher): return Array(hasher.finalize())
            case .sha512(let hasher): return Array(hasher.finalize())
            }
        }
    }
}
