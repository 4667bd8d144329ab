import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WharfTLS

#if canImport(Glibc)
import Glibc
#endif

/// The real-world check behind this target: vsftpd with `require_ssl_reuse=YES` (its default answer to
/// data connections that do not resume the control connection's TLS session is 522) accepts data
/// connections made with `OpenSSLClientHandler(resuming: controlSessions.latest)`.
///
/// Needs /usr/sbin/vsftpd (scripts/test installs it) and root (a throwaway local user, vsftpd's
/// privilege separation). Serialized: the tests share that user.
@Suite(.serialized) struct VsftpdTests {
    @Test(arguments: [TLSClientConfiguration.ProtocolVersion.tls13, .tls12])
    func dataConnectionsResumeTheControlSession(version: TLSClientConfiguration.ProtocolVersion) async throws {
        let vsftpd = try await Vsftpd.start()
        defer { vsftpd.stop() }
        let context = try TLSClientContext(configuration: TLSClientConfiguration(
            trust: .caFile(vsftpd.certificates.certificate), maximumVersion: version == .tls12 ? .tls12 : nil))
        try await withEventLoopGroup { group in
            let control = try await FTPTestControl.login(group: group, vsftpd: vsftpd, context: context)
            let expectedVersion = version == .tls12 ? "TLSv1.2" : "TLSv1.3"
            #expect(control.handshake.protocolVersion == expectedVersion)

            // LIST, RETR, STOR, RETR: four data connections, each resuming the control connection's
            // newest session at the moment it starts.
            let list = try await control.transfer("LIST", context: context, resume: true)
            #expect(list.handshake?.resumed == true)
            #expect(list.handshake?.protocolVersion == expectedVersion)
            #expect(list.text.contains("hello.txt"), "LIST: \(list.text)")
            #expect(list.finalReply.code == 226, "\(list.finalReply)")

            let retr = try await control.transfer("RETR hello.txt", context: context, resume: true)
            #expect(retr.handshake?.resumed == true)
            #expect(retr.text == Vsftpd.helloText)
            #expect(retr.finalReply.code == 226, "\(retr.finalReply)")
            // vsftpd ends a download with close_notify: a clean end, no truncation error.
            #expect(retr.inputClosed)
            #expect(retr.errors.isEmpty, "\(retr.errors)")

            // An upload ends with close(mode: .output): close_notify and a TCP half-close.
            // (strict_ssl_read_eof=YES: vsftpd fails the upload if the close_notify is missing.)
            let upload = String(repeating: "upload through OpenSSLClientHandler\n", count: 2000)
            let stor = try await control.transfer("STOR up.txt", context: context, resume: true, upload: upload)
            #expect(stor.handshake?.resumed == true)
            #expect(stor.finalReply.code == 226, "\(stor.finalReply)")
            #expect(try String(contentsOfFile: vsftpd.root + "/up.txt", encoding: .utf8) == upload)

            let again = try await control.transfer("RETR up.txt", context: context, resume: true)
            #expect(again.handshake?.resumed == true)
            #expect(again.text == upload)
            #expect(again.finalReply.code == 226, "\(again.finalReply)")

            try await control.quit()
        }
        // debug_ssl=YES: vsftpd logs "SSL version: ..., reused" / "not reused" per TLS connection.
        let log = vsftpd.log
        #expect(log.components(separatedBy: ", not reused, ").count - 1 == 1, "\(log)")  // the control connection
        #expect(log.components(separatedBy: ", reused, ").count - 1 == 4, "\(log)")  // the data connections
        #expect(!log.contains("No SSL session reuse"), "\(log)")
    }

    /// Without the session vsftpd refuses the data connection with 522 (and vsftpd 3.0.3 then ends the
    /// whole session); a new session whose data connection resumes succeeds.
    @Test func dataConnectionWithoutTheSessionIsRefused() async throws {
        let vsftpd = try await Vsftpd.start()
        defer { vsftpd.stop() }
        let context = try TLSClientContext(configuration: TLSClientConfiguration(trust: .caFile(vsftpd.certificates.certificate)))
        try await withEventLoopGroup { group in
            let control = try await FTPTestControl.login(group: group, vsftpd: vsftpd, context: context)
            let refused = try await control.transfer("RETR hello.txt", context: context, resume: false)
            // The client's side of the handshake completes; vsftpd then checks SSL_session_reused,
            // sends close_notify on the data connection and answers 522 on the control connection.
            #expect(refused.handshake?.resumed == false)
            #expect(refused.preliminary?.code == 150)
            #expect(refused.finalReply.code == 522, "\(refused.finalReply)")
            #expect(refused.finalReply.text == "522 SSL connection failed: session reuse required")
            #expect(refused.text.isEmpty)
            #expect(refused.inputClosed)
            // vsftpd's session process exits after the 522 without a close_notify on the control
            // connection: the handler reports that as a possible truncation.
            let controlErrors = try await control.waitForServerClose()
            #expect(controlErrors == [TLSClientError.uncleanShutdown.description])

            let again = try await FTPTestControl.login(group: group, vsftpd: vsftpd, context: context)
            let retr = try await again.transfer("RETR hello.txt", context: context, resume: true)
            #expect(retr.handshake?.resumed == true)
            #expect(retr.text == Vsftpd.helloText)
            #expect(retr.finalReply.code == 226, "\(retr.finalReply)")
            try await again.quit()
        }
        #expect(vsftpd.log.contains("No SSL session reuse on data channel."), "\(vsftpd.log)")
    }
}

// MARK: - vsftpd

/// One vsftpd in the foreground on 127.0.0.1 with a generated configuration, certificate and FTP root.
final class Vsftpd {
    static let binary = "/usr/sbin/vsftpd"
    static let user = "wharftls"
    static let helloText = "hello over FTPS\n"

    let process: ServerProcess
    let port: Int
    let password: String
    let certificates: TestCertificates
    let scratch: ScratchDirectory
    let root: String
    let logPath: String

    private init(
        process: ServerProcess, port: Int, password: String, certificates: TestCertificates,
        scratch: ScratchDirectory, root: String, logPath: String
    ) {
        self.process = process
        self.port = port
        self.password = password
        self.certificates = certificates
        self.scratch = scratch
        self.root = root
        self.logPath = logPath
    }

    var log: String {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "") + process.output
    }

    func stop() { process.stop() }

    static func start() async throws -> Vsftpd {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestFailure("\(binary) is missing: install vsftpd (apt-get install -y vsftpd; scripts/test does)")
        }
        guard getuid() == 0 else {
            throw TestFailure("the vsftpd tests need root (a local user for vsftpd's logins, its privilege separation)")
        }
        let password = try await prepareUser()
        let certificates = try await TestCertificates.make()
        let scratch = try ScratchDirectory()
        let root = scratch.file("root")
        let empty = scratch.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try helloText.write(toFile: root + "/hello.txt", atomically: false, encoding: .utf8)
        try await run("chown", ["-R", user, root])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path)
        let logPath = scratch.file("vsftpd.log")

        var lastFailure = ""
        for _ in 0..<3 {
            let port = try freePort()
            let config = scratch.file("vsftpd.conf")
            try configuration(port: port, certificates: certificates, root: root, empty: empty, log: logPath)
                .write(toFile: config, atomically: true, encoding: .utf8)
            let process = try ServerProcess("vsftpd", [config], logPath: scratch.file("vsftpd.stderr"))
            if try await waitForListener(port: port, process: process) {
                return Vsftpd(
                    process: process, port: port, password: password, certificates: certificates, scratch: scratch,
                    root: root, logPath: logPath)
            }
            lastFailure = process.output
            process.stop()
        }
        throw TestFailure("vsftpd did not start: \(lastFailure)")
    }

    static func configuration(port: Int, certificates: TestCertificates, root: String, empty: String, log: String) -> String {
        """
        listen=YES
        listen_ipv6=NO
        listen_address=127.0.0.1
        listen_port=\(port)
        background=NO
        anonymous_enable=NO
        local_enable=YES
        write_enable=YES
        local_umask=022
        local_root=\(root)
        pam_service_name=vsftpd
        secure_chroot_dir=\(empty)
        seccomp_sandbox=NO
        connect_from_port_20=NO
        pasv_enable=YES
        pasv_address=127.0.0.1
        pasv_min_port=0
        pasv_max_port=0
        ssl_enable=YES
        force_local_logins_ssl=YES
        force_local_data_ssl=YES
        require_ssl_reuse=YES
        strict_ssl_read_eof=YES
        ssl_ciphers=HIGH
        rsa_cert_file=\(certificates.certificate)
        rsa_private_key_file=\(certificates.key)
        xferlog_enable=YES
        xferlog_std_format=NO
        vsftpd_log_file=\(log)
        log_ftp_protocol=YES
        debug_ssl=YES
        syslog_enable=NO

        """
    }

    /// The throwaway user, made once (idempotent), with a new random password each run.
    static func prepareUser() async throws -> String {
        if (try? await run("id", ["-u", user])) == nil {
            do {
                try await run("useradd", ["--create-home", "--shell", "/bin/sh", "--comment", "Wharf TLS tests", user])
            } catch {
                // Another run may have made it meanwhile.
                guard (try? await run("id", ["-u", user])) != nil else { throw error }
            }
        }
        if let ftpusers = try? String(contentsOfFile: "/etc/ftpusers", encoding: .utf8),
            ftpusers.split(separator: "\n").contains(where: { $0.trimmingCharacters(in: .whitespaces) == user })
        {
            throw TestFailure("\(user) is listed in /etc/ftpusers, so PAM refuses it")
        }
        let password = "wt-" + UUID().uuidString
        try await run("chpasswd", [], input: "\(user):\(password)\n")
        return password
    }

    /// True once vsftpd accepts connections; false if it exited (e.g. the port was taken meanwhile).
    static func waitForListener(port: Int, process: ServerProcess) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if !process.isRunning { return false }
            if canConnect(port: port) { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

// MARK: - A minimal FTP control connection (a test harness, not the product's client)

struct FTPTestReply: CustomStringConvertible {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: "\n") }
    var description: String { text }
}

/// Lines of the control connection, split on CRLF by `LineSplitter`.
final class LineQueue: Sendable {
    private struct State {
        var lines: [String] = []
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    func append(_ line: String) { state.withLockedValue { $0.lines.append(line) } }
    func close() { state.withLockedValue { $0.closed = true } }

    func next(timeout: Duration = .seconds(15)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (line, closed) = state.withLockedValue { state -> (String?, Bool) in
                state.lines.isEmpty ? (nil, state.closed) : (state.lines.removeFirst(), state.closed)
            }
            if let line { return line }
            if closed { throw TestFailure("the control connection closed") }
            guard ContinuousClock.now < deadline else { throw TestFailure("no reply within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

final class LineSplitter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let queue: LineQueue
    private var pending: [UInt8] = []

    init(_ queue: LineQueue) { self.queue = queue }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytesView
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            queue.append(String(decoding: line, as: UTF8.self))
            pending.removeSubrange(...newline)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        queue.close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        queue.append("999 client error: \(error)")
        context.close(promise: nil)
    }
}

struct FTPTransferResult {
    var handshake: TLSClientHandshakeCompleted?
    var received: [UInt8]
    var text: String { String(decoding: received, as: UTF8.self) }
    var errors: [any Error]
    var inputClosed: Bool
    var preliminary: FTPTestReply?
    var finalReply: FTPTestReply
}

final class FTPTestControl {
    let group: any EventLoopGroup
    let channel: any Channel
    let lines: LineQueue
    /// The control connection's sessions: data connections resume `sessions.latest`.
    let sessions: TLSSessionBox
    let handshake: TLSClientHandshakeCompleted

    private init(
        group: any EventLoopGroup, channel: any Channel, lines: LineQueue, sessions: TLSSessionBox,
        handshake: TLSClientHandshakeCompleted
    ) {
        self.group = group
        self.channel = channel
        self.lines = lines
        self.sessions = sessions
        self.handshake = handshake
    }

    /// Plain connect, 220, AUTH TLS / 234, TLS, USER / PASS, PBSZ 0, PROT P.
    static func login(group: any EventLoopGroup, vsftpd: Vsftpd, context: TLSClientContext) async throws -> FTPTestControl {
        let lines = LineQueue()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineSplitter(lines))
                }
            }
            .connect(host: "127.0.0.1", port: vsftpd.port).get()
        try expect(try await readReply(lines), 220)
        try await send(channel, "AUTH TLS")
        try expect(try await readReply(lines), 234)

        let sessions = TLSSessionBox()
        let promise = channel.eventLoop.makePromise(of: TLSClientHandshakeCompleted.self)
        try await channel.eventLoop.submit {
            let handler = OpenSSLClientHandler(
                context: context, serverHostname: "localhost", sessions: sessions, handshakePromise: promise)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
        let handshake = try await promise.futureResult.get()
        #expect(!handshake.resumed)

        let control = FTPTestControl(group: group, channel: channel, lines: lines, sessions: sessions, handshake: handshake)
        try expect(try await control.command("USER \(Vsftpd.user)"), 331)
        try expect(try await control.command("PASS \(vsftpd.password)"), 230)
        try expect(try await control.command("PBSZ 0"), 200)
        try expect(try await control.command("PROT P"), 200)
        try expect(try await control.command("TYPE I"), 200)
        return control
    }

    static func send(_ channel: any Channel, _ line: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n"))
    }

    static func readReply(_ lines: LineQueue) async throws -> FTPTestReply {
        let first = try await lines.next()
        guard first.count >= 4, let code = Int(first.prefix(3)) else {
            throw TestFailure("not an FTP reply: \(first)")
        }
        var all = [first]
        if first.dropFirst(3).first == "-" {
            while true {
                let line = try await lines.next()
                all.append(line)
                if line.count >= 4, line.hasPrefix("\(code) ") { break }
            }
        }
        return FTPTestReply(code: code, lines: all)
    }

    static func expect(_ reply: FTPTestReply, _ code: Int) throws {
        guard reply.code == code else { throw TestFailure("expected \(code), got: \(reply)") }
    }

    func command(_ line: String) async throws -> FTPTestReply {
        try await Self.send(channel, line)
        return try await Self.readReply(lines)
    }

    /// PASV, a TLS data connection (resuming `sessions.latest` if `resume`), the command; for an upload
    /// the bytes, then `close(mode: .output)`. Returns what came through and the final reply.
    func transfer(_ command: String, context: TLSClientContext, resume: Bool, upload: String? = nil) async throws
        -> FTPTransferResult
    {
        let pasv = try await self.command("PASV")
        try Self.expect(pasv, 227)
        let port = try Self.passivePort(pasv.text)
        let session = resume ? sessions.latest : nil
        if resume && session == nil { throw TestFailure("the control connection has no session to resume") }
        let data = try await TLSTestConnection.connect(
            group: group, port: port, context: context, serverHostname: "localhost", resuming: session)

        try await Self.send(channel, command)
        let first = try await Self.readReply(lines)
        var preliminary: FTPTestReply?
        var final = first
        if (100..<200).contains(first.code) {
            preliminary = first
            if let upload {
                try await data.send(upload)
                try await data.channel.close(mode: .output)
            }
            final = try await Self.readReply(lines)
        }
        // The data connection ends either way (after the transfer, or when vsftpd refuses it).
        try await data.waitForClose()
        let handshake = try? await data.handshake.get()
        let seen = data.observations.snapshot
        return FTPTransferResult(
            handshake: handshake, received: seen.received, errors: seen.errors, inputClosed: seen.inputClosed,
            preliminary: preliminary, finalReply: final)
    }

    /// Waits for vsftpd to close the control connection; returns the client-side errors reported
    /// on the way (`LineSplitter` turns them into "999 client error: ..." lines).
    func waitForServerClose() async throws -> [String] {
        var errors: [String] = []
        while true {
            do {
                let line = try await lines.next()
                if line.hasPrefix("999 client error: ") {
                    errors.append(String(line.dropFirst("999 client error: ".count)))
                } else {
                    Issue.record("unexpected line after the end: \(line)")
                }
            } catch {
                return errors
            }
        }
    }

    func quit() async throws {
        let reply = try await command("QUIT")
        #expect(reply.code == 221)
        try? await channel.close()
    }

    /// "227 Entering Passive Mode (127,0,0,1,p1,p2)." → p1 * 256 + p2.
    static func passivePort(_ text: String) throws -> Int {
        guard let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")") else {
            throw TestFailure("bad PASV reply: \(text)")
        }
        let numbers = text[text.index(after: open)..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        guard numbers.count == 6, (0...255).contains(numbers[4]), (0...255).contains(numbers[5]) else {
            throw TestFailure("bad PASV reply: \(text)")
        }
        return numbers[4] * 256 + numbers[5]
    }
}
