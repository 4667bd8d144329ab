import Crypto
import Foundation

/// One public key a user may log in with, as it appears in an OpenSSH `authorized_keys` or `.pub` line.
///
/// Only ed25519 and ECDSA over the NIST curves are accepted: RSA is refused outright (its SHA-1
/// signature flavour is what old clients fall back to), and so are certificates and security keys.
/// Lines with an options prefix (`from="..." ssh-ed25519 ...`) are **rejected**, not ignored:
/// silently dropping a `from=` or `command=` restriction would give the key more power than the
/// administrator meant.
public struct AuthorizedKey: Sendable, Hashable {
    public var algorithm: String
    /// The base64-decoded key blob, in SSH wire format.
    public var blob: [UInt8]
    public var comment: String

    public static let supportedAlgorithms: [String] = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    ]

    static let rsaAlgorithms: Set<String> = [
        "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512",
        "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com",
    ]

    /// Parses one line: `ALGORITHM BASE64 [COMMENT]`. Leading and trailing whitespace is ignored.
    public init(line: String) throws(UserStoreError) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .malformedKey("the line is empty") }
        if trimmed.hasPrefix("-----BEGIN") {
            throw .malformedKey("this is a private key; give the public key (the .pub file)")
        }
        let fields = trimmed.split(maxSplits: 2, omittingEmptySubsequences: true, whereSeparator: { $0 == " " || $0 == "\t" })
        let type = String(fields[0])
        guard Self.supportedAlgorithms.contains(type) else {
            throw Self.refusal(forType: type, line: trimmed)
        }
        guard fields.count >= 2 else { throw .malformedKey("no base64 key data after \(type)") }
        guard let decoded = Data(base64Encoded: String(fields[1])) else {
            throw .malformedKey("the key data is not valid base64")
        }
        let comment = fields.count == 3 ? String(fields[2]).trimmingCharacters(in: .whitespaces) : ""
        try self.init(algorithm: type, blob: Array(decoded), comment: comment)
    }

    /// Builds a key from its parts, validating the blob as `init(line:)` does.
    public init(algorithm: String, blob: [UInt8], comment: String = "") throws(UserStoreError) {
        guard Self.supportedAlgorithms.contains(algorithm) else {
            throw Self.rsaAlgorithms.contains(algorithm) ? .rsaKeyNotSupported : .unsupportedKeyAlgorithm(algorithm)
        }
        try Self.validate(blob: blob, algorithm: algorithm)
        self.algorithm = algorithm
        self.blob = blob
        self.comment = comment
    }

    /// `algorithm base64`, without the comment: the canonical form to compare or print.
    public var openSSHString: String {
        "\(algorithm) \(Data(blob).base64EncodedString())"
    }

    /// `SHA256:...` as `ssh-keygen -l` prints it: safe to show and log.
    public var fingerprint: String {
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }

    /// Same key material, whatever the comment says.
    public func isSameKey(as other: AuthorizedKey) -> Bool {
        algorithm == other.algorithm && blob == other.blob
    }

    /// Why a line whose first field is not a supported algorithm is refused.
    private static func refusal(forType type: String, line: String) -> UserStoreError {
        if rsaAlgorithms.contains(type) { return .rsaKeyNotSupported }
        // An options prefix puts the algorithm further along the line (options may hold quoted spaces).
        let later = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().map(String.init)
        if later.contains(where: { supportedAlgorithms.contains($0) || rsaAlgorithms.contains($0) }) {
            if later.contains(where: { rsaAlgorithms.contains($0) }) && !later.contains(where: { supportedAlgorithms.contains($0) }) {
                return .rsaKeyNotSupported
            }
            return .keyOptionsNotSupported
        }
        // Name other key types (ssh-dss, sk-..., certificates) but never echo arbitrary text,
        // which could be a pasted secret.
        let looksLikeKeyType = type.count <= 64
            && type.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-@.".contains($0)) }
            && (type.hasPrefix("ssh-") || type.hasPrefix("ecdsa-") || type.hasPrefix("sk-") || type.contains("@"))
        if looksLikeKeyType { return .unsupportedKeyAlgorithm(type) }
        return .malformedKey("the line does not start with a key type such as ssh-ed25519")
    }

    /// The blob must name the same algorithm as the line and hold a well-formed public key of that type.
    private static func validate(blob: [UInt8], algorithm: String) throws(UserStoreError) {
        var reader = SSHWireReader(blob)
        guard let name = reader.readString(), name == Array(algorithm.utf8) else {
            throw .malformedKey("the key data does not start with the algorithm name \(algorithm)")
        }
        if algorithm == "ssh-ed25519" {
            guard let key = reader.readString(), key.count == 32, reader.isAtEnd else {
                throw .malformedKey("an ssh-ed25519 key must hold exactly 32 bytes")
            }
            return
        }
        let curve = String(algorithm.dropFirst("ecdsa-sha2-".count))
        guard let curveName = reader.readString(), curveName == Array(curve.utf8) else {
            throw .malformedKey("the key data does not name the curve \(curve)")
        }
        guard let point = reader.readString(), reader.isAtEnd, isValidPoint(point, curve: curve) else {
            throw .malformedKey("the key data does not hold a valid \(curve) public point")
        }
    }

    /// Checks that the point decodes and lies on the curve, so a bad key fails now, not at login.
    private static func isValidPoint(_ point: [UInt8], curve: String) -> Bool {
        switch curve {
        case "nistp256": (try? P256.Signing.PublicKey(x963Representation: point)) != nil
        case "nistp384": (try? P384.Signing.PublicKey(x963Representation: point)) != nil
        case "nistp521": (try? P521.Signing.PublicKey(x963Representation: point)) != nil
        default: false
        }
    }
}
