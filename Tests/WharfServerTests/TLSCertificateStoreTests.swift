import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import X509

@testable import WharfServer

// The tests that compare with OpenSSL need the `openssl` command (Debian: package openssl); without it they
// fail and say so rather than skip, so a missing tool cannot pass for a green run.
@Suite("TLS certificate store")
struct TLSCertificateStoreTests {
    typealias Store = TLSCertificateStore

    // MARK: Generation

    @Test func generatesPairWithRestrictiveModes() throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)

        #expect(identity.wasGenerated)
        #expect(identity.certificatePath == data.path + "/tls/cert.pem")
        #expect(identity.certificateChain.count == 1)
        #expect(try mode(data.path + "/tls") == 0o700)
        #expect(try mode(data.path + "/tls/key.pem") == 0o600)
        #expect(FileManager.default.fileExists(atPath: data.path + "/tls/cert.pem"))
        // No temporary files left beside the pair.
        let entries = try FileManager.default.contentsOfDirectory(atPath: data.path + "/tls").sorted()
        #expect(entries == ["cert.pem", "key.pem"])
        #expect(identity.fingerprint.count == 32 * 3 - 1)
        #expect(identity.fingerprint.allSatisfy { "0123456789ABCDEF:".contains($0) })
    }

    @Test func secondCallLoadsTheSameIdentity() throws {
        let data = try TLSTestDirectory()
        let first = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let keyBefore = try String(contentsOfFile: data.path + "/tls/key.pem", encoding: .utf8)
        let second = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)

        #expect(!second.wasGenerated)
        #expect(second.fingerprint == first.fingerprint)
        #expect(second.privateKey == first.privateKey)
        #expect(try String(contentsOfFile: data.path + "/tls/key.pem", encoding: .utf8) == keyBefore)
    }

    @Test func certificateFields() throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let certificate = try Certificate(derEncoded: identity.certificateChain[0].toDERBytes())

        #expect(certificate.version == .v3)
        #expect(certificate.issuer == certificate.subject)
        #expect(certificate.serialNumber.bytes.count == 20)
        #expect(certificate.serialNumber.bytes.first.map { $0 < 0x80 } == true)
        let lifetime = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
        #expect(abs(lifetime - 826 * 86_400) < 5)
        #expect(certificate.notValidBefore < Date() - 86_000)
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("localhost")))
        #expect(names.contains(.ipAddress(.init(contentBytes: [127, 0, 0, 1]))))
        if let host = Store.localHostName(), host != "localhost" {
            #expect(names.contains(.dnsName(host)))
        }
        let constraints = try #require(try certificate.extensions.basicConstraints)
        #expect(constraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(try certificate.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
    }

    /// Positive and at most 20 octets as a DER INTEGER, however the random bytes fall.
    @Test func serialNumbersAreTwentyOctets() {
        var seen = Set<Certificate.SerialNumber>()
        for _ in 0..<1000 {
            let serial = Store.randomSerialNumber()
            #expect(serial.bytes.count == 20)
            #expect(serial.bytes.first.map { (0x01...0x7f).contains($0) } == true)
            seen.insert(serial)
        }
        #expect(seen.count == 1000)
    }

    @Test func fingerprintMatchesOpenSSL() async throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let result = try await runTool("openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", identity.certificatePath])
        try #require(result.status == 0, "\(result.output)")
        // OpenSSL 3 prints "sha256 Fingerprint=AB:…", 1.1 "SHA256 Fingerprint=AB:…".
        let printed = result.output.split(separator: "=", maxSplits: 1).last.map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(printed == identity.fingerprint)
    }

    @Test func openSSLShowsNamesAndVerifiesHostNames() async throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let path = identity.certificatePath

        let text = try await runTool("openssl", ["x509", "-noout", "-text", "-in", path])
        try #require(text.status == 0, "\(text.output)")
        for expected in [
            "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "O = Wharf self-signed",
            "CA:TRUE, pathlen:0", "Digital Signature, Certificate Sign", "TLS Web Server Authentication",
            "ecdsa-with-SHA256", "Subject Key Identifier", "Authority Key Identifier",
        ] {
            #expect(text.output.contains(expected), "\(expected) missing in:\n\(text.output)")
        }
        if let host = Store.localHostName(), host != "localhost" {
            #expect(text.output.contains("DNS:\(host)"))
        }

        // The file works as its own CA file for the names clients use.
        for check in [["-verify_hostname", "localhost"], ["-verify_ip", "127.0.0.1"], ["-verify_ip", "::1"]] {
            let verify = try await runTool(
                "openssl",
                ["verify", "-purpose", "sslserver", "-x509_strict", "-CAfile", path] + check + [path]
            )
            #expect(verify.status == 0 && verify.output.contains("OK"), "\(check): \(verify.output)")
        }
        let wrongName = try await runTool("openssl", ["verify", "-CAfile", path, "-verify_hostname", "example.org", path])
        #expect(wrongName.status != 0)
    }

    // MARK: Explicit paths

    @Test func explicitPathsLoad() throws {
        let data = try TLSTestDirectory()
        let generated = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let other = try TLSTestDirectory()
        let loaded = try Store.loadOrCreate(
            dataDirectory: other.path,
            certificatePath: data.path + "/tls/cert.pem",
            keyPath: data.path + "/tls/key.pem"
        )
        #expect(!loaded.wasGenerated)
        #expect(loaded.fingerprint == generated.fingerprint)
        #expect(loaded.certificatePath == data.path + "/tls/cert.pem")
        // Given paths never touch the data directory.
        #expect(!FileManager.default.fileExists(atPath: other.path + "/tls"))
    }

    @Test func chainKeepsFileOrderLeafFirst() throws {
        let leafDirectory = try TLSTestDirectory()
        let leaf = try Store.loadOrCreate(dataDirectory: leafDirectory.path, certificatePath: nil, keyPath: nil)
        let otherDirectory = try TLSTestDirectory()
        let other = try Store.loadOrCreate(dataDirectory: otherDirectory.path, certificatePath: nil, keyPath: nil)
        let chainPath = leafDirectory.path + "/chain.pem"
        let pems = try [leaf.certificatePath, other.certificatePath].map { try String(contentsOfFile: $0, encoding: .utf8) }
        try pems.joined().write(toFile: chainPath, atomically: true, encoding: .utf8)

        let loaded = try Store.loadOrCreate(
            dataDirectory: leafDirectory.path,
            certificatePath: chainPath,
            keyPath: leafDirectory.path + "/tls/key.pem"
        )
        #expect(loaded.certificateChain.count == 2)
        #expect(loaded.certificateChain == leaf.certificateChain + other.certificateChain)
        #expect(loaded.fingerprint == leaf.fingerprint)
        _ = try Store.makeServerContext(for: loaded)
    }

    /// Keys as OpenSSL writes them: SEC1 after an EC PARAMETERS block, PKCS#1 RSA, PKCS#8 RSA.
    @Test(arguments: [
        ["ecparam", "-name", "prime256v1", "-genkey", "-out", "KEY"],
        ["genrsa", "-traditional", "-out", "KEY", "2048"],
        ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "KEY"],
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "KEY"],
    ])
    func keyFormatsFromOpenSSL(generate: [String]) async throws {
        let directory = try TLSTestDirectory()
        let keyPath = directory.path + "/key.pem"
        let certificatePath = directory.path + "/cert.pem"
        let key = try await runTool("openssl", generate.map { $0 == "KEY" ? keyPath : $0 })
        try #require(key.status == 0, "\(key.output)")
        let certificate = try await runTool(
            "openssl",
            ["req", "-new", "-x509", "-key", keyPath, "-out", certificatePath, "-days", "2", "-subj", "/CN=localhost"]
        )
        try #require(certificate.status == 0, "\(certificate.output)")

        let identity = try Store.loadOrCreate(dataDirectory: directory.path, certificatePath: certificatePath, keyPath: keyPath)
        #expect(!identity.wasGenerated)
        _ = try Store.makeServerContext(for: identity)
    }

    // MARK: Errors

    @Test func mismatchedKeyAndCertificateFail() throws {
        let first = try TLSTestDirectory()
        let second = try TLSTestDirectory()
        _ = try Store.loadOrCreate(dataDirectory: first.path, certificatePath: nil, keyPath: nil)
        _ = try Store.loadOrCreate(dataDirectory: second.path, certificatePath: nil, keyPath: nil)

        let error = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(
                dataDirectory: first.path,
                certificatePath: first.path + "/tls/cert.pem",
                keyPath: second.path + "/tls/key.pem"
            )
        }
        guard case .keyMismatch(let certificatePath, let keyPath) = error else {
            Issue.record("expected keyMismatch, got \(String(describing: error))")
            return
        }
        #expect(certificatePath == first.path + "/tls/cert.pem")
        #expect(keyPath == second.path + "/tls/key.pem")
        #expect(error?.description.contains("does not belong to") == true)

        // The same pair crossed inside a data directory is refused, not regenerated.
        try FileManager.default.removeItem(atPath: first.path + "/tls/key.pem")
        try FileManager.default.copyItem(atPath: second.path + "/tls/key.pem", toPath: first.path + "/tls/key.pem")
        let crossed = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: first.path, certificatePath: nil, keyPath: nil)
        }
        guard case .keyMismatch = crossed else {
            Issue.record("expected keyMismatch, got \(String(describing: crossed))")
            return
        }
    }

    @Test func missingFileFails() throws {
        let data = try TLSTestDirectory()
        _ = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let error = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(
                dataDirectory: data.path,
                certificatePath: data.path + "/nonexistent.pem",
                keyPath: data.path + "/tls/key.pem"
            )
        }
        guard case .unreadable(let path, let reason) = error else {
            Issue.record("expected unreadable, got \(String(describing: error))")
            return
        }
        #expect(path == data.path + "/nonexistent.pem")
        #expect(reason == "No such file or directory")
        #expect(error?.description == "cannot read \(data.path)/nonexistent.pem: No such file or directory")

        let directoryAsKey = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: data.path, certificatePath: data.path + "/tls/cert.pem", keyPath: data.path)
        }
        guard case .unreadable = directoryAsKey else {
            Issue.record("expected unreadable, got \(String(describing: directoryAsKey))")
            return
        }
    }

    @Test func garbageFilesFail() throws {
        let data = try TLSTestDirectory()
        _ = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let garbage = data.path + "/garbage.pem"
        try "this is not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let empty = data.path + "/empty.pem"
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let damaged = data.path + "/damaged.pem"
        try "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n".write(
            toFile: damaged, atomically: true, encoding: .utf8)
        let keyPath = data.path + "/tls/key.pem"
        let certificatePath = data.path + "/tls/cert.pem"

        for path in [garbage, empty] {
            let error = #expect(throws: TLSCertificateStoreError.self) {
                try Store.loadOrCreate(dataDirectory: data.path, certificatePath: path, keyPath: keyPath)
            }
            guard case .noCertificate(path) = error else {
                Issue.record("expected noCertificate for \(path), got \(String(describing: error))")
                continue
            }
        }
        let damagedError = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: data.path, certificatePath: damaged, keyPath: keyPath)
        }
        guard case .invalidCertificate(damaged, _) = damagedError else {
            Issue.record("expected invalidCertificate, got \(String(describing: damagedError))")
            return
        }

        // A certificate where the key should be, and plain garbage.
        for path in [garbage, certificatePath] {
            let error = #expect(throws: TLSCertificateStoreError.self) {
                try Store.loadOrCreate(dataDirectory: data.path, certificatePath: certificatePath, keyPath: path)
            }
            guard case .invalidPrivateKey(path, _) = error else {
                Issue.record("expected invalidPrivateKey for \(path), got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func encryptedKeyIsExplained() async throws {
        let data = try TLSTestDirectory()
        _ = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let encrypted = data.path + "/encrypted.pem"
        let result = try await runTool(
            "openssl",
            ["pkey", "-in", data.path + "/tls/key.pem", "-aes256", "-passout", "pass:secret", "-out", encrypted]
        )
        try #require(result.status == 0, "\(result.output)")
        let error = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: data.path, certificatePath: data.path + "/tls/cert.pem", keyPath: encrypted)
        }
        guard case .invalidPrivateKey(_, let reason) = error else {
            Issue.record("expected invalidPrivateKey, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("encrypted"))
    }

    @Test func onlyOneOptionFails() throws {
        let data = try TLSTestDirectory()
        let certificateOnly = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: data.path, certificatePath: "/etc/cert.pem", keyPath: nil)
        }
        guard case .incompleteOptions(given: "--tls-cert", missing: "--tls-key") = certificateOnly else {
            Issue.record("got \(String(describing: certificateOnly))")
            return
        }
        let keyOnly = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: "/etc/key.pem")
        }
        guard case .incompleteOptions(given: "--tls-key", missing: "--tls-cert") = keyOnly else {
            Issue.record("got \(String(describing: keyOnly))")
            return
        }
        // Nothing generated on the way.
        #expect(!FileManager.default.fileExists(atPath: data.path + "/tls"))
    }

    @Test func halfAPairIsNotOverwritten() throws {
        for missing in ["cert.pem", "key.pem"] {
            let data = try TLSTestDirectory()
            _ = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
            let kept = missing == "cert.pem" ? "key.pem" : "cert.pem"
            let keptBefore = try String(contentsOfFile: data.path + "/tls/" + kept, encoding: .utf8)
            try FileManager.default.removeItem(atPath: data.path + "/tls/" + missing)

            let error = #expect(throws: TLSCertificateStoreError.self) {
                try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
            }
            guard case .incompletePair(let present, let absent) = error else {
                Issue.record("expected incompletePair, got \(String(describing: error))")
                continue
            }
            #expect(present == data.path + "/tls/" + kept)
            #expect(absent == data.path + "/tls/" + missing)
            #expect(try String(contentsOfFile: data.path + "/tls/" + kept, encoding: .utf8) == keptBefore)
            #expect(!FileManager.default.fileExists(atPath: data.path + "/tls/" + missing))
        }
    }

    @Test func missingDataDirectoryFails() throws {
        let data = try TLSTestDirectory()
        let error = #expect(throws: TLSCertificateStoreError.self) {
            try Store.loadOrCreate(dataDirectory: data.path + "/absent", certificatePath: nil, keyPath: nil)
        }
        guard case .unwritable(data.path + "/absent/tls", "No such file or directory") = error else {
            Issue.record("expected unwritable, got \(String(describing: error))")
            return
        }
    }

    // MARK: Server context and resumption

    @Test func makeServerContextSucceeds() throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        _ = try Store.makeServerContext(for: identity)
    }

    /// Two `openssl s_client` connections to one NIOSSL server context: the second offers the first one's
    /// session and must be told "Reused". That is what an FTPS data connection does with the control
    /// connection's session. TLS 1.2 is tried with tickets and with the server's session-ID cache.
    @Test(arguments: [["-tls1_3"], ["-tls1_2"], ["-tls1_2", "-no_ticket"]])
    func sessionIsResumedAcrossConnections(options: [String]) async throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let context = try Store.makeServerContext(for: identity)

        try await withTLSServer(context: context) { port in
            let session = data.path + "/session.pem"
            let common = [
                "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", identity.certificatePath,
                "-verify_return_error", "-servername", "localhost", "-verify_hostname", "localhost", "-ign_eof",
            ] + options

            let first = try await runTool("openssl", common + ["-sess_out", session])
            try #require(first.status == 0, "\(first.output)")
            #expect(first.output.contains("Verify return code: 0 (ok)"), "\(first.output)")
            #expect(first.output.contains("hello from wharf"), "\(first.output)")
            let version = options[0] == "-tls1_3" ? "TLSv1.3" : "TLSv1.2"
            #expect(first.output.contains("New, \(version)"), "\(first.output)")

            let second = try await runTool("openssl", common + ["-sess_in", session])
            try #require(second.status == 0, "\(second.output)")
            #expect(second.output.contains("Reused, \(version)"), "\(second.output)")
        }
    }

    /// The control: the same identity in two contexts. A session from one is not resumed by the other,
    /// which is why the FTP server must hand one context to the control and all data connections.
    @Test func separateContextsDoNotResume() async throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let session = data.path + "/session.pem"
        let common = ["s_client", "-CAfile", identity.certificatePath, "-verify_return_error", "-ign_eof", "-tls1_3"]

        try await withTLSServer(context: Store.makeServerContext(for: identity)) { port in
            let first = try await runTool("openssl", common + ["-connect", "127.0.0.1:\(port)", "-sess_out", session])
            try #require(first.status == 0, "\(first.output)")
        }
        try await withTLSServer(context: Store.makeServerContext(for: identity)) { port in
            let second = try await runTool("openssl", common + ["-connect", "127.0.0.1:\(port)", "-sess_in", session])
            try #require(second.status == 0, "\(second.output)")
            #expect(second.output.contains("New, TLSv1.3"), "\(second.output)")
        }
    }

    @Test func tls11IsRefused() async throws {
        let data = try TLSTestDirectory()
        let identity = try Store.loadOrCreate(dataDirectory: data.path, certificatePath: nil, keyPath: nil)
        let context = try Store.makeServerContext(for: identity)
        try await withTLSServer(context: context) { port in
            let result = try await runTool(
                "openssl",
                ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-ign_eof"]
            )
            #expect(result.status != 0, "\(result.output)")
            // Refused by the server (alert 70), not by the client.
            #expect(result.output.contains("alert protocol version"), "\(result.output)")
        }
    }
}

// MARK: - Helpers

/// A fresh directory under the system temp dir, removed when the test is done with it.
final class TLSTestDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("WharfServerTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

func mode(_ path: String) throws -> mode_t {
    var status = stat()
    guard stat(path, &status) == 0 else {
        throw TLSCertificateStoreError.unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    return status.st_mode & 0o7777
}

struct ToolResult {
    var status: Int32
    /// stdout and stderr together, as a terminal would show them.
    var output: String
}

/// Runs a command found on PATH with stdin at /dev/null; output goes to a file, so neither a full pipe
/// nor a tool that keeps it open can hang the test. Killed after `timeout`.
func runTool(_ tool: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> ToolResult {
    let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let executable = searchPath.split(separator: ":").map { "\($0)/\(tool)" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    let found = try #require(executable, "\(tool) is not on PATH (\(searchPath)); install it, e.g. apt-get install \(tool)")

    let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-tool-\(UUID().uuidString)").path
    guard FileManager.default.createFile(atPath: outputPath, contents: nil) else {
        throw TLSCertificateStoreError.unwritable(path: outputPath, reason: "cannot create")
    }
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    defer { try? output.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: found)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = output
    let status: Int32 = try await withThrowingTaskGroup(of: Int32?.self) { group in
        group.addTask {
            try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: error)
                }
            }
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        while let result = try await group.next() {
            if let status = result { return status }
            // The timer fired first: stop the tool; its termination handler then reports.
            Issue.record("\(tool) \(arguments.joined(separator: " ")) ran longer than \(timeout)")
            process.terminate()
        }
        return -1
    }
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return ToolResult(status: status, output: text)
}

/// A TLS server on 127.0.0.1 with an ephemeral port: after each handshake it sends one line and closes,
/// so `s_client -ign_eof` ends on its own after it has read the session tickets.
func withTLSServer(context: NIOSSLContext, _ body: (Int) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(GreetAndClose())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        do {
            try await body(port)
        } catch {
            try? await channel.close()
            throw error
        }
        try await channel.close()
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
    try await group.shutdownGracefully()
}

/// NIOSSLHandler holds writes until the handshake is done, so the greeting's write completes only after
/// the handshake (and, in TLS 1.3, the server's session tickets); the close waits for it.
final class GreetAndClose: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        let greeting = context.channel.allocator.buffer(string: "hello from wharf\n")
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(greeting)).whenComplete { _ in channel.close(promise: nil) }
        context.fireChannelActive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
