import Crypto
import CryptoExtras
import Foundation
import NIOSSH

/// Why a private key file could not be used. Every description is one line, fit for stderr.
public enum ClientKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read (missing, a directory, no permission, too large).
    case unreadable(path: String, reason: String)
    /// The key is protected by a passphrase; Wharf reads unencrypted keys only.
    case encrypted(path: String?)
    /// A key of a type Wharf does not support (RSA, DSA, security keys, …); the OpenSSH type name or a description.
    case unsupportedKeyType(String, path: String?)
    /// Not a private key Wharf can read: the text says what is wrong.
    case malformed(String, path: String?)

    public var description: String {
        let supported = "use ssh-ed25519 or ecdsa-sha2-nistp256/384/521"
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read key file \(path): \(reason)"
        case .encrypted(let path):
            let name = path ?? "the key"
            return "\(name) is encrypted with a passphrase; Wharf needs an unencrypted ed25519 or ECDSA key "
                + "(decrypt a copy with `ssh-keygen -p -f COPY`)"
        case .unsupportedKeyType(let type, let path):
            let prefix = path.map { "\($0): " } ?? ""
            return prefix + "\(Self.describe(keyType: type)) keys are not supported; \(supported)"
        case .malformed(let reason, let path):
            let name = path ?? "the key"
            return "\(name) is not a usable private key: \(reason)"
        }
    }

    /// The same error, naming the file it came from.
    func located(at path: String) -> ClientKeyError {
        switch self {
        case .unreadable: return self
        case .encrypted: return .encrypted(path: path)
        case .unsupportedKeyType(let type, _): return .unsupportedKeyType(type, path: path)
        case .malformed(let reason, _): return .malformed(reason, path: path)
        }
    }

    private static func describe(keyType type: String) -> String {
        if type == "ssh-rsa" || type.hasPrefix("rsa-") || type.hasPrefix("ssh-rsa-") { return "RSA" }
        if type == "ssh-dss" || type.hasPrefix("ssh-dss-") { return "DSA" }
        if type.hasPrefix("sk-") { return "security-key (FIDO, \(type))" }
        if type.contains("-cert-") { return "certificate (\(type))" }
        return "\(type)"
    }
}

/// Reads the private keys `ssh-keygen` writes, for client authentication.
///
/// Accepted: the OpenSSH format (`-----BEGIN OPENSSH PRIVATE KEY-----`, openssh-key-v1) holding one
/// unencrypted ssh-ed25519 or ecdsa-sha2-nistp256/384/521 key; PKCS#8 (`-----BEGIN PRIVATE KEY-----`)
/// holding an ed25519 or NIST ECDSA key; SEC1 (`-----BEGIN EC PRIVATE KEY-----`).
/// Refused with a one-line ``ClientKeyError``: encrypted keys, RSA, DSA, security-key (sk-) keys,
/// PuTTY files, public keys, and anything malformed. Parsing never traps on bad input.
public enum OpenSSHPrivateKey {
    /// Key files are a few KiB at most; anything larger is not a key.
    static let maximumFileSize = 1 << 20

    /// Reads and parses the key file at `path` (a leading `~/` is the home directory).
    public static func load(path: String) throws(ClientKeyError) -> NIOSSHPrivateKey {
        let expanded = ClientFiles.expandingTilde(path)
        let bytes: [UInt8]
        do {
            bytes = try ClientFiles.readAll(expanded, limit: maximumFileSize)
        } catch {
            throw .unreadable(path: path, reason: error.reason)
        }
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw .malformed("the file is not text (a key file starts with -----BEGIN)", path: path)
        }
        do {
            return try parse(text)
        } catch {
            throw error.located(at: path)
        }
    }

    /// Parses the text of a key file.
    public static func parse(_ text: String) throws(ClientKeyError) -> NIOSSHPrivateKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("PuTTY-User-Key-File") {
            throw .malformed(
                "this is a PuTTY key; convert it with `puttygen KEY -O private-openssh-new -o NEWKEY`", path: nil)
        }
        if ["ssh-ed25519 ", "ecdsa-sha2-", "ssh-rsa ", "ssh-dss ", "sk-"].contains(where: { trimmed.hasPrefix($0) }) {
            throw .malformed("this is a public key; give the private key file (the one without .pub)", path: nil)
        }
        let document = try PEMBlock(text: trimmed)
        switch document.label {
        case "OPENSSH PRIVATE KEY":
            return try OpenSSHKeyV1.parse(document.body)
        case "PRIVATE KEY", "EC PRIVATE KEY":
            if document.headers.contains(where: { $0.uppercased().contains("ENCRYPTED") }) {
                throw .encrypted(path: nil)
            }
            return try parsePEM(document)
        case "ENCRYPTED PRIVATE KEY":
            throw .encrypted(path: nil)
        case "RSA PRIVATE KEY":
            throw .unsupportedKeyType("ssh-rsa", path: nil)
        case "DSA PRIVATE KEY":
            throw .unsupportedKeyType("ssh-dss", path: nil)
        default:
            throw .malformed("unexpected PEM block \"\(document.label)\"; expected an OpenSSH private key", path: nil)
        }
    }

    /// PKCS#8 or SEC1 in PEM: swift-crypto's parsers decide, one curve after another.
    private static func parsePEM(_ document: PEMBlock) throws(ClientKeyError) -> NIOSSHPrivateKey {
        let pem = document.canonicalText
        if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) { return NIOSSHPrivateKey(p256Key: key) }
        if let key = try? P384.Signing.PrivateKey(pemRepresentation: pem) { return NIOSSHPrivateKey(p384Key: key) }
        if let key = try? P521.Signing.PrivateKey(pemRepresentation: pem) { return NIOSSHPrivateKey(p521Key: key) }
        if document.label == "PRIVATE KEY" {
            if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
                return NIOSSHPrivateKey(ed25519Key: key)
            }
            if (try? _RSA.Signing.PrivateKey(pemRepresentation: pem)) != nil {
                throw .unsupportedKeyType("ssh-rsa", path: nil)
            }
        }
        throw .malformed("the \(document.label) block holds no ed25519 or NIST P-256/384/521 key", path: nil)
    }
}

/// One `-----BEGIN X-----` … `-----END X-----` block, its RFC 1421 headers and decoded body.
struct PEMBlock {
    var label: String
    var headers: [String]
    var body: [UInt8]
    var base64: String

    init(text: String) throws(ClientKeyError) {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let beginIndex = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") }) else {
            throw .malformed("no -----BEGIN line; expected an OpenSSH private key", path: nil)
        }
        let begin = lines[beginIndex]
        guard begin.hasSuffix("-----"), begin.count > 16 else {
            throw .malformed("the -----BEGIN line is damaged", path: nil)
        }
        let label = String(begin.dropFirst(11).dropLast(5))
        let end = "-----END \(label)-----"
        guard let endIndex = lines[beginIndex...].firstIndex(of: end) else {
            throw .malformed("no \(end) line (the file is truncated?)", path: nil)
        }
        var headers: [String] = []
        var base64 = ""
        for line in lines[(beginIndex + 1)..<endIndex] {
            if line.contains(":") {
                headers.append(line)
            } else {
                base64 += line
            }
        }
        guard !base64.isEmpty, let decoded = Data(base64Encoded: base64) else {
            throw .malformed("the text between the BEGIN and END lines is not valid base64", path: nil)
        }
        self.label = label
        self.headers = headers
        self.body = Array(decoded)
        self.base64 = base64
    }

    /// The block rebuilt in the form swift-crypto's PEM parser expects: 64-column lines, no headers.
    var canonicalText: String {
        var lines = ["-----BEGIN \(label)-----"]
        var rest = Substring(base64)
        while !rest.isEmpty {
            lines.append(String(rest.prefix(64)))
            rest = rest.dropFirst(64)
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n")
    }
}

/// The openssh-key-v1 container (PROTOCOL.key in OpenSSH's sources).
enum OpenSSHKeyV1 {
    static let magic = Array("openssh-key-v1\0".utf8)

    static func parse(_ bytes: [UInt8]) throws(ClientKeyError) -> NIOSSHPrivateKey {
        guard bytes.starts(with: magic) else {
            throw .malformed("the OPENSSH PRIVATE KEY block does not start with openssh-key-v1", path: nil)
        }
        var reader = SSHBytesReader(bytes[magic.count...])
        let cipher = try reader.string("cipher name")
        let kdf = try reader.string("KDF name")
        _ = try reader.bytes("KDF options")
        let count = try reader.uint32("key count")
        if count != 1 {
            throw .malformed("the file holds \(count) keys; Wharf reads files with exactly one", path: nil)
        }
        let publicBlob = try reader.bytes("public key")
        // An encrypted RSA key is refused for being RSA: decrypting it would not help.
        var publicReader = SSHBytesReader(publicBlob[...])
        let publicType = try publicReader.string("public key type")
        try checkSupported(publicType)
        guard cipher == "none" else { throw .encrypted(path: nil) }
        guard kdf == "none" else { throw .malformed("cipher none with KDF \(kdf)", path: nil) }
        let privateSection = try reader.bytes("private section")
        guard privateSection.count % 8 == 0 else {
            throw .malformed("the private section is not a multiple of the block size", path: nil)
        }

        var section = SSHBytesReader(privateSection[...])
        let check1 = try section.uint32("check integer")
        let check2 = try section.uint32("check integer")
        guard check1 == check2 else { throw .malformed("the check integers differ (the key is damaged)", path: nil) }
        let type = try section.string("key type")
        guard type == publicType else {
            throw .malformed("the private key is \(type) but the public key is \(publicType)", path: nil)
        }
        try checkSupported(type)
        let key: NIOSSHPrivateKey
        switch type {
        case "ssh-ed25519":
            key = try ed25519(&section)
        case "ecdsa-sha2-nistp256":
            key = try ecdsa(&section, curve: "nistp256", length: 32) { (scalar, point) throws(ClientKeyError) in
                let key = try construct { try P256.Signing.PrivateKey(rawRepresentation: scalar) }
                try matchPoint(key.publicKey.x963Representation, point)
                return NIOSSHPrivateKey(p256Key: key)
            }
        case "ecdsa-sha2-nistp384":
            key = try ecdsa(&section, curve: "nistp384", length: 48) { (scalar, point) throws(ClientKeyError) in
                let key = try construct { try P384.Signing.PrivateKey(rawRepresentation: scalar) }
                try matchPoint(key.publicKey.x963Representation, point)
                return NIOSSHPrivateKey(p384Key: key)
            }
        case "ecdsa-sha2-nistp521":
            key = try ecdsa(&section, curve: "nistp521", length: 66) { (scalar, point) throws(ClientKeyError) in
                let key = try construct { try P521.Signing.PrivateKey(rawRepresentation: scalar) }
                try matchPoint(key.publicKey.x963Representation, point)
                return NIOSSHPrivateKey(p521Key: key)
            }
        default:
            throw .unsupportedKeyType(type, path: nil)
        }
        _ = try section.bytes("comment")
        // Padding: 1, 2, 3, … up to the block size.
        var expected: UInt8 = 1
        while let byte = section.nextByte() {
            guard byte == expected else { throw .malformed("bad padding after the key", path: nil) }
            expected &+= 1
        }
        guard expected <= 8 else { throw .malformed("bad padding after the key", path: nil) }

        guard SSHKeyFingerprint.blob(of: key.publicKey) == Array(publicBlob) else {
            throw .malformed("the public key does not match the private key", path: nil)
        }
        return key
    }

    private static func checkSupported(_ type: String) throws(ClientKeyError) {
        switch type {
        case "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            return
        default:
            throw .unsupportedKeyType(type, path: nil)
        }
    }

    private static func ed25519(_ section: inout SSHBytesReader) throws(ClientKeyError) -> NIOSSHPrivateKey {
        let publicKey = try section.bytes("ed25519 public key")
        let secret = try section.bytes("ed25519 private key")
        guard publicKey.count == 32, secret.count == 64 else {
            throw .malformed("ed25519 key fields have the wrong length", path: nil)
        }
        guard secret.suffix(32).elementsEqual(publicKey) else {
            throw .malformed("the ed25519 private key does not hold its public key", path: nil)
        }
        let key = try construct { try Curve25519.Signing.PrivateKey(rawRepresentation: secret.prefix(32)) }
        guard key.publicKey.rawRepresentation.elementsEqual(publicKey) else {
            throw .malformed("the ed25519 public key does not match the private key", path: nil)
        }
        return NIOSSHPrivateKey(ed25519Key: key)
    }

    private static func ecdsa(
        _ section: inout SSHBytesReader, curve: String, length: Int,
        make: (_ scalar: [UInt8], _ point: ArraySlice<UInt8>) throws(ClientKeyError) -> NIOSSHPrivateKey
    ) throws(ClientKeyError) -> NIOSSHPrivateKey {
        let name = try section.string("curve name")
        guard name == curve else { throw .malformed("curve \(name) in an ecdsa-sha2-\(curve) key", path: nil) }
        let point = try section.bytes("public point")
        var scalar = try section.bytes("private scalar")
        while scalar.first == 0 { scalar = scalar.dropFirst() }
        guard !scalar.isEmpty, scalar.count <= length else {
            throw .malformed("the private scalar has the wrong length", path: nil)
        }
        let padded = [UInt8](repeating: 0, count: length - scalar.count) + scalar
        return try make(padded, point)
    }

    private static func matchPoint(_ derived: Data, _ stored: ArraySlice<UInt8>) throws(ClientKeyError) {
        guard derived.elementsEqual(stored) else {
            throw .malformed("the ECDSA public point does not match the private scalar", path: nil)
        }
    }

    private static func construct<T>(_ body: () throws -> T) throws(ClientKeyError) -> T {
        do {
            return try body()
        } catch {
            throw .malformed("the key material is invalid (\(error))", path: nil)
        }
    }
}

/// Bounds-checked reads of SSH wire types (RFC 4251 §5); every failure is a ``ClientKeyError``.
struct SSHBytesReader {
    private var rest: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.rest = bytes }

    mutating func nextByte() -> UInt8? { rest.popFirst() }

    mutating func uint32(_ what: String) throws(ClientKeyError) -> UInt32 {
        guard rest.count >= 4 else { throw truncated(what) }
        let value = rest.prefix(4).reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
        rest = rest.dropFirst(4)
        return value
    }

    mutating func bytes(_ what: String) throws(ClientKeyError) -> ArraySlice<UInt8> {
        let length = try uint32(what)
        guard Int(length) <= rest.count else { throw truncated(what) }
        let value = rest.prefix(Int(length))
        rest = rest.dropFirst(Int(length))
        return value
    }

    mutating func string(_ what: String) throws(ClientKeyError) -> String {
        let raw = try bytes(what)
        guard let text = String(bytes: raw, encoding: .utf8) else {
            throw .malformed("the \(what) is not text", path: nil)
        }
        return text
    }

    private func truncated(_ what: String) -> ClientKeyError {
        .malformed("the data ends inside the \(what) (the key is truncated or damaged)", path: nil)
    }
}
