import Crypto
import Foundation
import NIOSSL
import X509

/// The server's TLS certificate chain and key, with what the log shows of them.
/// NIOSSLCertificate and NIOSSLPrivateKey are immutable BoringSSL handles, declared Sendable by NIOSSL.
public struct TLSIdentity: Sendable {
    /// Leaf first, then the intermediates in the order the PEM file lists them.
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey
    /// SHA-256 of the leaf certificate's DER, "AB:CD:…", as `openssl x509 -fingerprint -sha256` prints it.
    public let fingerprint: String
    public let certificatePath: String
    /// True when the certificate was created by this call (first start without `--tls-cert`).
    public let wasGenerated: Bool
}

public enum TLSCertificateStoreError: Error, CustomStringConvertible {
    /// One of `--tls-cert` / `--tls-key` without the other.
    case incompleteOptions(given: String, missing: String)
    case unreadable(path: String, reason: String)
    case noCertificate(path: String)
    case invalidCertificate(path: String, reason: String)
    case invalidPrivateKey(path: String, reason: String)
    case keyMismatch(certificatePath: String, keyPath: String)
    /// Only one file of the generated pair exists in the data directory.
    case incompletePair(present: String, missing: String)
    case unwritable(path: String, reason: String)
    case contextCreation(certificatePath: String, reason: String)

    public var description: String {
        switch self {
        case .incompleteOptions(let given, let missing):
            return "\(given) needs \(missing) as well: give both, or neither to use the certificate in the data directory"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .noCertificate(let path):
            return "no certificate in \(path): expected PEM (-----BEGIN CERTIFICATE-----), leaf first"
        case .invalidCertificate(let path, let reason):
            return "cannot parse the certificate in \(path): \(reason)"
        case .invalidPrivateKey(let path, let reason):
            return "cannot parse the private key in \(path): \(reason)"
        case .keyMismatch(let certificatePath, let keyPath):
            return "the private key \(keyPath) does not belong to the certificate \(certificatePath) (their public keys differ)"
        case .incompletePair(let present, let missing):
            return "\(present) exists but \(missing) does not: restore it, or remove \(present) to generate a new certificate"
        case .unwritable(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .contextCreation(let certificatePath, let reason):
            return "cannot set up TLS with \(certificatePath): \(reason)"
        }
    }
}

/// Loads the FTPS certificate given on the command line, or loads (first start: creates) a self-signed
/// one in `<data-dir>/tls/`: `cert.pem` and `key.pem` (PKCS#8, mode 0600) in a directory of mode 0700.
public enum TLSCertificateStore {
    public static let directoryName = "tls"
    public static let certificateFileName = "cert.pem"
    public static let keyFileName = "key.pem"

    /// A certificate chain or key file larger than this is not one; refuse instead of reading it all.
    static let maximumFileSize = 1 << 20

    /// 825 days: the longest lifetime Apple's TLS policy accepts for a server certificate.
    static let validityDays = 825

    public static func loadOrCreate(dataDirectory: String, certificatePath: String?, keyPath: String?) throws
        -> TLSIdentity
    {
        switch (certificatePath, keyPath) {
        case (let certificatePath?, let keyPath?):
            return try load(certificatePath: certificatePath, keyPath: keyPath, wasGenerated: false)
        case (.some, nil):
            throw TLSCertificateStoreError.incompleteOptions(given: "--tls-cert", missing: "--tls-key")
        case (nil, .some):
            throw TLSCertificateStoreError.incompleteOptions(given: "--tls-key", missing: "--tls-cert")
        case (nil, nil):
            break
        }

        let directory = (dataDirectory as NSString).appendingPathComponent(directoryName)
        let certificatePath = (directory as NSString).appendingPathComponent(certificateFileName)
        let keyPath = (directory as NSString).appendingPathComponent(keyFileName)
        switch (exists(certificatePath), exists(keyPath)) {
        case (true, true):
            return try load(certificatePath: certificatePath, keyPath: keyPath, wasGenerated: false)
        case (true, false):
            throw TLSCertificateStoreError.incompletePair(present: certificatePath, missing: keyPath)
        case (false, true):
            throw TLSCertificateStoreError.incompletePair(present: keyPath, missing: certificatePath)
        case (false, false):
            try createSelfSigned(directory: directory, certificatePath: certificatePath, keyPath: keyPath)
            // Read back what was written, so a generated pair goes through the same checks as a given one.
            return try load(certificatePath: certificatePath, keyPath: keyPath, wasGenerated: true)
        }
    }

    /// One context for the control connection and all data connections of every session: BoringSSL keeps
    /// its server session cache and its session-ticket keys per SSL_CTX, so only a shared context lets a
    /// client resume the control connection's TLS session on a data connection (which FTPS servers such as
    /// vsftpd's `require_ssl_reuse` demand, and clients such as curl and lftp do). Nothing needs turning on:
    /// NIOSSL's TLSConfiguration has no session settings, and BoringSSL's defaults are a server-side session
    /// cache plus tickets under random per-context keys, for TLS 1.2 and 1.3 alike (tested with s_client).
    public static func makeServerContext(for identity: TLSIdentity) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.certificateChain.map { .certificate($0) },
            privateKey: .privateKey(identity.privateKey)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSCertificateStoreError.contextCreation(certificatePath: identity.certificatePath, reason: "\(error)")
        }
    }

    /// "AB:CD:…": SHA-256 of the DER in uppercase hex pairs joined by colons, like OpenSSL's output.
    public static func fingerprint(der: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        return SHA256.hash(data: der).map { byte in
            String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined(separator: ":")
    }

    // MARK: - Loading

    static func load(certificatePath: String, keyPath: String, wasGenerated: Bool) throws -> TLSIdentity {
        let certificateBytes = try readFile(certificatePath)
        let keyBytes = try readFile(keyPath)

        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            // BoringSSL says only "failedToLoadCertificate"; tell an empty or non-PEM file from a damaged one.
            let text = String(decoding: certificateBytes, as: UTF8.self)
            if !text.contains("-----BEGIN CERTIFICATE-----") && !text.contains("-----BEGIN TRUSTED CERTIFICATE-----") {
                throw TLSCertificateStoreError.noCertificate(path: certificatePath)
            }
            throw TLSCertificateStoreError.invalidCertificate(path: certificatePath, reason: "\(error)")
        }
        guard let leaf = chain.first else {
            throw TLSCertificateStoreError.noCertificate(path: certificatePath)
        }
        let leafDER: [UInt8]
        let leafPublicKey: Certificate.PublicKey
        do {
            leafDER = try leaf.toDERBytes()
            leafPublicKey = try Certificate(derEncoded: leafDER).publicKey
        } catch {
            throw TLSCertificateStoreError.invalidCertificate(path: certificatePath, reason: "\(error)")
        }

        let keyText = String(decoding: keyBytes, as: UTF8.self)
        if keyText.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || keyText.contains("Proc-Type: 4,ENCRYPTED") {
            throw TLSCertificateStoreError.invalidPrivateKey(
                path: keyPath,
                reason: "the key is encrypted; store it unencrypted with mode 0600 (openssl pkey -in KEY -out PLAIN)"
            )
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw TLSCertificateStoreError.invalidPrivateKey(
                path: keyPath,
                reason: "not an unencrypted PEM private key (PKCS#8, SEC1 EC or PKCS#1 RSA)"
            )
        }

        // BoringSSL would refuse a mismatched pair too, but only when the context is built and with a
        // terse error; comparing the public keys here names both files.
        let keyPublicKey = try publicKey(ofPrivateKeyPEM: keyText, path: keyPath)
        guard keyPublicKey == leafPublicKey else {
            throw TLSCertificateStoreError.keyMismatch(certificatePath: certificatePath, keyPath: keyPath)
        }

        return TLSIdentity(
            certificateChain: chain,
            privateKey: privateKey,
            fingerprint: fingerprint(der: leafDER),
            certificatePath: certificatePath,
            wasGenerated: wasGenerated
        )
    }

    /// The public key of the first private key block in the file. swift-certificates reads one PEM document
    /// at a time, and `openssl ecparam -genkey` puts an "EC PARAMETERS" block before the key, so the key's
    /// block is cut out first.
    private static func publicKey(ofPrivateKeyPEM text: String, path: String) throws -> Certificate.PublicKey {
        guard let block = firstPEMBlock(in: text, labels: ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"]) else {
            throw TLSCertificateStoreError.invalidPrivateKey(
                path: path,
                reason: "no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block"
            )
        }
        do {
            return try Certificate.PrivateKey(pemEncoded: block).publicKey
        } catch {
            throw TLSCertificateStoreError.invalidPrivateKey(
                path: path,
                reason: "unsupported key (RSA, ECDSA P-256/P-384/P-521 or Ed25519 expected): \(error)"
            )
        }
    }

    /// The text from "-----BEGIN label-----" to its matching END line, for the earliest of `labels`.
    private static func firstPEMBlock(in text: String, labels: [String]) -> String? {
        var best: Range<String.Index>?
        for label in labels {
            guard let begin = text.range(of: "-----BEGIN \(label)-----"),
                let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex)
            else { continue }
            if best.map({ begin.lowerBound < $0.lowerBound }) ?? true {
                best = begin.lowerBound..<end.upperBound
            }
        }
        return best.map { String(text[$0]) }
    }

    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// POSIX reads, so the error names the cause as the shell would ("No such file or directory").
    private static func readFile(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw TLSCertificateStoreError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TLSCertificateStoreError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { return contents }
            contents += chunk[0..<count]
            guard contents.count <= maximumFileSize else {
                throw TLSCertificateStoreError.unreadable(path: path, reason: "larger than \(maximumFileSize) bytes")
            }
        }
    }

    // MARK: - Creation

    private static func createSelfSigned(directory: String, certificatePath: String, keyPath: String) throws {
        // 0700 from mkdir itself; an existing directory is the administrator's and keeps its mode.
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw TLSCertificateStoreError.unwritable(path: directory, reason: String(cString: strerror(errno)))
        }

        let key = P256.Signing.PrivateKey()
        let certificate: Certificate
        do {
            certificate = try makeSelfSignedCertificate(key: key, hostName: localHostName(), now: Date())
        } catch {
            throw TLSCertificateStoreError.unwritable(path: certificatePath, reason: "cannot create the certificate: \(error)")
        }
        let certificatePEM: String
        do {
            certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw TLSCertificateStoreError.unwritable(path: certificatePath, reason: "cannot encode the certificate: \(error)")
        }

        // The key first: a crash between the two leaves key.pem alone, which the next start reports
        // (incompletePair) instead of serving a certificate whose key is lost.
        try writeAtomically(Array((key.pemRepresentation + "\n").utf8), to: keyPath, mode: 0o600)
        do {
            try writeAtomically(Array(certificatePEM.utf8), to: certificatePath, mode: 0o644)
        } catch {
            unlink(keyPath)
            throw error
        }
    }

    /// Self-signed and marked as a CA (path length 0) so that clients can trust it as their CA file:
    /// `curl --cacert`, Python's `cafile` (also with VERIFY_X509_STRICT), `openssl s_client -CAfile`,
    /// GnuTLS (lftp) and BoringSSL all accept it for 127.0.0.1, ::1, localhost and the host name.
    static func makeSelfSignedCertificate(key: P256.Signing.PrivateKey, hostName: String?, now: Date) throws
        -> Certificate
    {
        let commonName = hostName.flatMap { $0.utf8.count <= 64 ? $0 : nil } ?? "wharf"
        let name = try DistinguishedName {
            OrganizationName("Wharf self-signed")
            CommonName(commonName)
        }
        var names: [GeneralName] = []
        if let hostName, hostName != "localhost" {
            names.append(.dnsName(hostName))
        }
        names.append(.dnsName("localhost"))
        names.append(.ipAddress(.init(contentBytes: [127, 0, 0, 1])))
        names.append(.ipAddress(.init(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1][...])))

        // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. Python 3.13's strict verification
        // wants the authority key identifier, which for a self-signed certificate is the same value.
        let keyIdentifier = ArraySlice(Insecure.SHA1.hash(data: key.publicKey.x963Representation))
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(names)
            SubjectKeyIdentifier(keyIdentifier: keyIdentifier)
            AuthorityKeyIdentifier(keyIdentifier: keyIdentifier)
        }
        let day: TimeInterval = 24 * 60 * 60
        let privateKey = Certificate.PrivateKey(key)
        return try Certificate(
            version: .v3,
            serialNumber: randomSerialNumber(),
            publicKey: privateKey.publicKey,
            // A day back, so a client whose clock is behind still accepts a certificate made just now.
            notValidBefore: now - day,
            notValidAfter: now + Double(validityDays) * day,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: privateKey
        )
    }

    /// 20 random bytes whose DER INTEGER is positive and exactly 20 octets, RFC 5280's maximum:
    /// swift-certificates' own random serial prepends a sign byte (21 octets) when the top bit is set.
    static func randomSerialNumber() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[0] = UInt8.random(in: 0x01...0x7f, using: &generator)
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// The host name in lowercase, or nil when it is empty or not usable as a DNS name (then the certificate
    /// names "wharf" and the loopback addresses only).
    static func localHostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        var name = String(decoding: bytes, as: UTF8.self).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard !name.isEmpty, name.allSatisfy({ allowed.contains($0) }), !name.hasPrefix("."), !name.contains("..")
        else { return nil }
        return name
    }

    /// Writes a new file beside `path` with `mode` from its creation, flushes it and renames it into place,
    /// so a reader never sees a partial file and the key is never readable by others, not even briefly.
    private static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let suffix = (0..<8).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        let temporary = (directory as NSString).appendingPathComponent(".\(name).\(suffix).tmp")

        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw TLSCertificateStoreError.unwritable(path: path, reason: String(cString: strerror(errno)))
        }
        var failure: String?
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            offset += written
        }
        if failure == nil && fsync(descriptor) != 0 {
            failure = String(cString: strerror(errno))
        }
        if close(descriptor) != 0 && failure == nil {
            failure = String(cString: strerror(errno))
        }
        if failure == nil && rename(temporary, path) != 0 {
            failure = String(cString: strerror(errno))
        }
        if let failure {
            unlink(temporary)
            throw TLSCertificateStoreError.unwritable(path: path, reason: failure)
        }
    }
}
