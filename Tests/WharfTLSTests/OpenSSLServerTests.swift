import Foundation
import NIOCore
import NIOPosix
import Testing
import WharfTLS

/// `openssl s_server -rev` (answers each line reversed; "CLOSE" makes it send close_notify) on an
/// ephemeral port of 127.0.0.1, with `-msg` so its log shows the alerts it receives.
func withSServer<T>(
    _ certificates: TestCertificates, _ extra: [String] = [], _ body: (Int, ServerProcess) async throws -> T
) async throws -> T {
    let server = try ServerProcess(
        "openssl",
        ["s_server", "-accept", "127.0.0.1:0", "-cert", certificates.certificate, "-key", certificates.key, "-rev", "-msg"]
            + extra,
        logPath: certificates.directory.file("s_server-\(UUID().uuidString).log"))
    defer { server.stop() }
    guard let port = Int(try await server.waitForOutput(#"ACCEPT 127\.0\.0\.1:(\d+)"#)) else {
        throw TestFailure("s_server printed no port: \(server.output)")
    }
    return try await body(port, server)
}

func clientContext(_ trust: TLSClientConfiguration.Trust, maximumVersion: TLSClientConfiguration.ProtocolVersion? = nil)
    throws -> TLSClientContext
{
    try TLSClientContext(configuration: TLSClientConfiguration(trust: trust, maximumVersion: maximumVersion))
}

@Suite struct OpenSSLServerTests {
    @Test func handshakeAndEchoWithWritesHeldUntilTheHandshake() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                // Written at once: the handler holds it until the handshake is done.
                try await connection.send("hello wharf\n")
                let completed = try await connection.handshake.get()
                #expect(completed.protocolVersion == "TLSv1.3")
                #expect(!completed.resumed)
                #expect(completed.cipher.hasPrefix("TLS_"))
                try await connection.waitForText("frahw olleh")
                #expect(connection.observations.snapshot.handshakes == [completed])
                try await connection.channel.close()
                #expect(connection.observations.errors.isEmpty)
            }
        }
    }

    @Test func largeTransferBothWays() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                // 2000 lines of 100 bytes: many records each way.
                let lines = (0..<2000).map { String(format: "%05d", $0) + String(repeating: "x", count: 94) + "\n" }
                try await connection.send(lines.joined())
                let lastReversed = String(lines[1999].dropLast().reversed())
                try await connection.waitForText(lastReversed)
                let expected = lines.map { String($0.dropLast().reversed()) + "\n" }.joined()
                #expect(connection.observations.text == expected)
                try await connection.channel.close()
            }
        }
    }

    /// Which of `TestCertificates`' files a client trusts.
    enum TrustedFile: Sendable {
        case certificate, bundle

        func path(in certificates: TestCertificates) -> String {
            switch self {
            case .certificate: return certificates.certificate
            case .bundle: return certificates.bundle
            }
        }
    }

    /// An IP address is checked against the certificate's IP SAN; a CA file may hold several
    /// certificates, the server's among them.
    @Test(arguments: zip([TrustedFile.certificate, .bundle], ["127.0.0.1", "localhost"]))
    func handshakeSucceedsAgainstATrustedCertificate(trusting file: TrustedFile, name: String) async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(file.path(in: certificates)))
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: name)
                _ = try await connection.handshake.get()
                try await connection.channel.close()
            }
        }
    }

    @Test func selfSignedFailsAgainstTheSystemTrust() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.system)
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                let held = connection.write("never sent\n")
                let error = await #expect(throws: TLSClientError.self) { try await connection.handshake.get() }
                // The held write fails with the handshake's error (or, if it came after, a closed channel).
                await #expect(throws: (any Error).self) { try await held.get() }
                #expect(error == .certificateVerificationFailed("self-signed certificate"))
                #expect(error?.description == "TLS certificate verify failed: self-signed certificate")
                try await connection.waitForClose()
                #expect(connection.observations.tlsErrors.first == error)
            }
        }
    }

    @Test func otherCertificateInTheCAFileFails() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.otherCertificate))
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                let error = await #expect(throws: TLSClientError.self) { try await connection.handshake.get() }
                guard case .certificateVerificationFailed = error else {
                    Issue.record("expected a certificate verification failure, got \(String(describing: error))")
                    return
                }
            }
        }
    }

    @Test(arguments: ["wrong.example", "127.0.0.2"])
    func nameMismatchFails(name: String) async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: name)
                let error = await #expect(throws: TLSClientError.self) { try await connection.handshake.get() }
                #expect(error == .hostnameMismatch(name))
                #expect(error?.description == "TLS certificate does not match the server name '\(name)'")
            }
        }
    }

    @Test func insecureAcceptsAnyCertificateAndName() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.insecure)
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "wrong.example")
                try await connection.send("abc\n")
                _ = try await connection.handshake.get()
                try await connection.waitForText("cba")
                try await connection.channel.close()
            }
        }
    }

    @Test func missingCAFileFailsWhenTheContextIsMade() throws {
        let error = #expect(throws: TLSClientError.self) {
            try clientContext(.caFile("/nonexistent/ca.pem"))
        }
        #expect(error?.description.hasPrefix("TLS configuration: cannot load CA file /nonexistent/ca.pem: ") == true)
    }

    @Test func sniIsSentForNamesOnly() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.insecure)
        // With -servername_fatal, s_server answers a different SNI name with a fatal alert.
        try await withSServer(certificates, ["-servername", "localhost", "-servername_fatal", "-cert2", certificates.certificate, "-key2", certificates.key]) { port, _ in
            try await withEventLoopGroup { group in
                let good = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                _ = try await good.handshake.get()
                try await good.channel.close()

                let address = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "127.0.0.1")
                _ = try await address.handshake.get()
                try await address.channel.close()

                let bad = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "wrong.example")
                let error = await #expect(throws: TLSClientError.self) { try await bad.handshake.get() }
                guard case .handshakeFailed(let reason) = error else {
                    Issue.record("expected a handshake failure, got \(String(describing: error))")
                    return
                }
                #expect(reason.contains("unrecognized name"))
            }
        }
    }

    @Test func noCommonVersionIsAHandshakeFailureWithOpenSSLsReason() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate), maximumVersion: .tls12)
        try await withSServer(certificates, ["-tls1_3"]) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                let error = await #expect(throws: TLSClientError.self) { try await connection.handshake.get() }
                #expect(error == .handshakeFailed("tlsv1 alert protocol version"))
                #expect(error?.description == "TLS handshake failed: tlsv1 alert protocol version")
            }
        }
    }

    /// Resumption: a session captured from the first connection is offered on the next ones.
    /// (s_server serves one connection at a time: each is closed before the next.)
    @Test(arguments: [
        ("TLSv1.3", ["-tls1_3"]),
        ("TLSv1.2", ["-tls1_2"]),  // session ticket
        ("TLSv1.2", ["-tls1_2", "-no_ticket"]),  // session ID from the server's cache
    ])
    func sessionIsResumed(version: String, options: [String]) async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates, options) { port, _ in
            try await withEventLoopGroup { group in
                let first = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                let firstHandshake = try await first.handshake.get()
                #expect(firstHandshake.protocolVersion == version)
                #expect(!firstHandshake.resumed)
                // A round trip: TLS 1.3 tickets come after the handshake, before the reply.
                try await first.send("one\n")
                try await first.waitForText("eno")
                let session = try #require(first.sessions.latest, "no session captured")
                #expect(session.protocolVersion == version)
                #expect(session.isResumable)

                try await first.channel.close()

                // Offered twice: resumed both times (TLS 1.3 tickets of OpenSSL's server are reusable).
                for round in ["two", "three"] {
                    let next = try await TLSTestConnection.connect(
                        group: group, port: port, context: context, serverHostname: "localhost", resuming: session)
                    let handshake = try await next.handshake.get()
                    #expect(handshake.resumed, "\(version) \(options): not resumed (\(round))")
                    #expect(handshake.protocolVersion == version)
                    try await next.send(round + "\n")
                    try await next.waitForText(String(round.reversed()))
                    try await next.channel.close()
                    #expect(next.observations.errors.isEmpty)
                    #expect(session.isResumable, "offering the session used it up")
                }
                #expect(first.observations.errors.isEmpty)
            }
        }
    }

    @Test func sessionOfAnotherServerIsNotResumedButTheHandshakeSucceeds() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        let session = try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                try await connection.send("x\n")
                try await connection.waitForText("x")
                try await connection.channel.close()
                return try #require(connection.sessions.latest)
            }
        }
        try await withSServer(certificates) { port, _ in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost", resuming: session)
                #expect(try await connection.handshake.get().resumed == false)
                try await connection.channel.close()
            }
        }
    }

    @Test func peersCloseNotifyEndsInputCleanly() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, server in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                try await connection.send("data\nCLOSE\n")
                try await connection.waitForClose()
                let seen = connection.observations.snapshot
                #expect(String(decoding: seen.received, as: UTF8.self).hasPrefix("atad\n"))
                #expect(seen.inputClosed)
                #expect(seen.errors.isEmpty)
                // The handler answered with its own close_notify.
                try await waitUntil("s_server to log our close_notify") {
                    server.output.contains("<<< TLS 1.3, Alert [length 0002], warning close_notify")
                }
            }
        }
    }

    @Test func closeSendsCloseNotify() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, server in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                try await connection.send("bye\n")
                try await connection.waitForText("eyb")
                try await connection.channel.close()
                try await waitUntil("s_server to log our close_notify") {
                    server.output.contains("<<< TLS 1.3, Alert [length 0002], warning close_notify")
                }
                #expect(connection.observations.errors.isEmpty)
            }
        }
    }

    @Test func closeWaitsForThePeersCloseNotifyWhenConfigured() async throws {
        let certificates = try await TestCertificates.make()
        let context = try TLSClientContext(configuration: TLSClientConfiguration(
            trust: .caFile(certificates.certificate), closeNotifyTimeout: .seconds(5)))
        try await withSServer(certificates) { port, server in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                try await connection.send("bye\n")
                try await connection.waitForText("eyb")
                let start = ContinuousClock.now
                try await connection.channel.close()
                let elapsed = ContinuousClock.now - start
                let seen = connection.observations.snapshot
                // s_server answers close_notify with its own; the close completes on it, not on the timer.
                #expect(seen.inputClosed)
                #expect(elapsed < .seconds(4))
                #expect(seen.errors.isEmpty)
                #expect(server.output.contains(">>> TLS 1.3, Alert [length 0002], warning close_notify"))
            }
        }
    }

    /// close(mode: .output): close_notify and a TCP half-close; the reply to what was written still arrives.
    @Test func outputCloseHalfClosesAfterCloseNotify() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, server in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                try await connection.send("last line\n")
                // Both in one event-loop turn: otherwise the server's answer to our close_notify could
                // close the channel before the write gets there.
                let channel = connection.channel
                let closed = channel.eventLoop.makePromise(of: Void.self)
                let late = channel.eventLoop.makePromise(of: Void.self)
                channel.eventLoop.execute {
                    channel.close(mode: .output, promise: closed)
                    channel.writeAndFlush(ByteBuffer(string: "late\n"), promise: late)
                }
                try await closed.futureResult.get()
                await #expect(throws: TLSClientError.writeAfterClose) { try await late.futureResult.get() }
                try await connection.waitForText("enil tsal")
                try await waitUntil("s_server to log our close_notify") {
                    server.output.contains("<<< TLS 1.3, Alert [length 0002], warning close_notify")
                }
                try await connection.waitForClose()
                #expect(connection.observations.errors.isEmpty)
            }
        }
    }

    @Test func tcpCloseWithoutCloseNotifyIsUnclean() async throws {
        let certificates = try await TestCertificates.make()
        let context = try clientContext(.caFile(certificates.certificate))
        try await withSServer(certificates) { port, server in
            try await withEventLoopGroup { group in
                let connection = try await TLSTestConnection.connect(
                    group: group, port: port, context: context, serverHostname: "localhost")
                try await connection.send("x\n")
                try await connection.waitForText("x")
                server.stop()  // s_server dies; the kernel closes the socket without TLS
                try await connection.waitForClose()
                #expect(connection.observations.tlsErrors.contains(.uncleanShutdown))
                #expect(!connection.observations.snapshot.inputClosed)
            }
        }
    }

    @Test func handshakeTimesOut() async throws {
        try await withEventLoopGroup { group in
            // A TCP server that never answers.
            let silent = try await ServerBootstrap(group: group)
                .bind(host: "127.0.0.1", port: 0).get()
            let port = try #require(silent.localAddress?.port)
            let context = try TLSClientContext(configuration: TLSClientConfiguration(
                trust: .insecure, handshakeTimeout: .milliseconds(300)))
            let connection = try await TLSTestConnection.connect(
                group: group, port: port, context: context, serverHostname: "localhost")
            let held = connection.write("held\n")
            await #expect(throws: TLSClientError.handshakeTimeout) { try await connection.handshake.get() }
            do {
                try await held.get()
                Issue.record("a write held during a handshake that timed out succeeded")
            } catch let error as TLSClientError {
                #expect(error == .handshakeTimeout)
            } catch ChannelError.ioOnClosedChannel {
                // On a loaded machine the 300 ms ran out before the write was issued: it met the
                // closed channel instead of being held.
            }
            try await connection.waitForClose()
            #expect(connection.observations.tlsErrors == [.handshakeTimeout])
            try await silent.close()
        }
    }

    @Test func serverClosingDuringTheHandshakeFailsIt() async throws {
        try await withEventLoopGroup { group in
            let closing = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in channel.close() }
                .bind(host: "127.0.0.1", port: 0).get()
            let port = try #require(closing.localAddress?.port)
            let context = try clientContext(.insecure)
            let connection = try await TLSTestConnection.connect(
                group: group, port: port, context: context, serverHostname: "localhost")
            await #expect(throws: TLSClientError.closedDuringHandshake) { try await connection.handshake.get() }
            try await closing.close()
        }
    }
}
