import Crypto
import Foundation
import NIOSSH

/// A host key with what the log shows of it.
public struct HostKey: Sendable {
    public var privateKey: NIOSSHPrivateKey
    /// `ssh-keygen -l` form: "256 SHA256:… (ED25519)".
    public var fingerprint: String
    public var path: String
}

public enum HostKeyStoreError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read host key \(path): \(reason)"
        case .unwritable(let path, let reason): return "cannot write host key \(path): \(reason)"
        }
    }
}

/// Loads the server's host keys from the data directory, generating them on first start.
/// Keys are PKCS#8 PEM files, mode 0600: `ssh_host_ed25519_key` and `ssh_host_ecdsa_key` (P-256).
public enum HostKeyStore {
    public static let ed25519FileName = "ssh_host_ed25519_key"
    public static let ecdsaFileName = "ssh_host_ecdsa_key"

    /// DER prefix of an Ed25519 PKCS#8 private key (RFC 8410); the 32-byte seed follows.
    private static let ed25519PKCS8Prefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    public static func loadOrCreate(dataDirectory: String) throws -> [HostKey] {
        let edPath = (dataDirectory as NSString).appendingPathComponent(ed25519FileName)
        let ecPath = (dataDirectory as NSString).appendingPathComponent(ecdsaFileName)

        let ed25519: Curve25519.Signing.PrivateKey
        if let pem = try readIfPresent(edPath) {
            ed25519 = try parseEd25519(pem: pem, path: edPath)
        } else {
            ed25519 = Curve25519.Signing.PrivateKey()
            let der = ed25519PKCS8Prefix + Array(ed25519.rawRepresentation)
            try writeSecret(pem(label: "PRIVATE KEY", der: der), to: edPath)
        }

        let p256: P256.Signing.PrivateKey
        if let pem = try readIfPresent(ecPath) {
            do {
                p256 = try P256.Signing.PrivateKey(pemRepresentation: pem)
            } catch {
                throw HostKeyStoreError.unreadable(path: ecPath, reason: "not a P-256 private key in PEM: \(error)")
            }
        } else {
            p256 = P256.Signing.PrivateKey()
            try writeSecret(p256.pemRepresentation + "\n", to: ecPath)
        }

        let edKey = NIOSSHPrivateKey(ed25519Key: ed25519)
        let ecKey = NIOSSHPrivateKey(p256Key: p256)
        return [
            HostKey(privateKey: edKey, fingerprint: fingerprint(of: edKey.publicKey, bits: 256, type: "ED25519"), path: edPath),
            HostKey(privateKey: ecKey, fingerprint: fingerprint(of: ecKey.publicKey, bits: 256, type: "ECDSA"), path: ecPath),
        ]
    }

    /// SHA256 of the key blob, base64 without padding, as `ssh-keygen -l` prints it.
    public static func fingerprint(of key: NIOSSHPublicKey, bits: Int, type: String) -> String {
        let openSSH = String(openSSHPublicKey: key)
        let parts = openSSH.split(separator: " ")
        let blob = parts.count > 1 ? Data(base64Encoded: String(parts[1])) ?? Data() : Data()
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        let trimmed = digest.replacingOccurrences(of: "=", with: "")
        return "\(bits) SHA256:\(trimmed) (\(type))"
    }

    private static func readIfPresent(_ path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw HostKeyStoreError.unreadable(path: path, reason: "\(error)")
        }
    }

    private static func parseEd25519(pem: String, path: String) throws -> Curve25519.Signing.PrivateKey {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body), der.count == ed25519PKCS8Prefix.count + 32,
            Array(der.prefix(ed25519PKCS8Prefix.count)) == ed25519PKCS8Prefix
        else {
            throw HostKeyStoreError.unreadable(path: path, reason: "not an Ed25519 PKCS#8 PEM private key")
        }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        } catch {
            throw HostKeyStoreError.unreadable(path: path, reason: "\(error)")
        }
    }

    private static func pem(label: String, der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }

    /// Creates the file with mode 0600 from the start, so the key is never readable by others.
    private static func writeSecret(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw HostKeyStoreError.unwritable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw HostKeyStoreError.unwritable(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
