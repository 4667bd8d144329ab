import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WharfTLS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A directory under the temporary directory, removed with the value.
final class ScratchDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("WharfTLSTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

func executable(_ tool: String) throws -> String {
    let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let candidates = searchPath.split(separator: ":").map { "\($0)/\(tool)" } + ["/usr/sbin/\(tool)", "/sbin/\(tool)"]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw TestFailure("\(tool) is not installed (looked on PATH: \(searchPath))")
    }
    return found
}

/// Runs a tool to completion; throws with its output if it fails.
@discardableResult
func run(_ tool: String, _ arguments: [String], input: String? = nil) async throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try executable(tool))
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
            return
        }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
    }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    guard status == 0 else {
        throw TestFailure("\(tool) \(arguments.joined(separator: " ")) exited \(status): \(text)")
    }
    return text
}

/// A long-running server process, spawned with posix_spawn so that it starts with no signals blocked
/// (a child made by Foundation's `Process` here inherits the test thread's mask, SIGTERM and SIGINT
/// blocked, and then ignores `terminate()`). Its stdout and stderr go to a file, never a pipe that could fill.
final class ServerProcess: @unchecked Sendable {
    let pid: pid_t
    let logPath: String
    let tool: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    init(_ tool: String, _ arguments: [String], logPath: String) throws {
        self.tool = tool
        self.logPath = logPath
        let path = try executable(tool)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw TestFailure("cannot start \(path): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    var output: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = status
            return false
        }
        return true
    }

    /// Waits until the output contains a match of `pattern`; returns the first capture group.
    func waitForOutput(_ pattern: String, timeout: Duration = .seconds(10)) async throws -> String {
        let regex = try Regex(pattern)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = output.firstMatch(of: regex) {
                return match.output.count > 1 ? String(match.output[1].substring ?? "") : String(match.output[0].substring ?? "")
            }
            if !isRunning {
                throw TestFailure("\(tool) exited: \(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no /\(pattern)/ in the output of \(tool) within \(timeout): \(output)")
    }

    /// SIGTERM, then SIGKILL if it is still there after a second; reaps it.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if !isRunning { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        lock.lock()
        defer { lock.unlock() }
        var status: Int32 = 0
        if exitStatus == nil, waitpid(pid, &status, 0) == pid {
            exitStatus = status
        }
    }

    deinit { stop() }
}

/// Polls `condition` until it holds.
func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(10), _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what())") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A port that was free a moment ago on 127.0.0.1 (for servers that cannot report the one they chose).
func freePort() throws -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Self-signed certificates made by the openssl command line.
struct TestCertificates {
    let directory: ScratchDirectory
    /// CN=localhost, SAN DNS:localhost, IP:127.0.0.1.
    let certificate: String
    let key: String
    /// An unrelated self-signed certificate.
    let otherCertificate: String
    /// `otherCertificate` followed by `certificate`: a CA file with several entries.
    let bundle: String

    static func make() async throws -> TestCertificates {
        let directory = try ScratchDirectory()
        let certificate = directory.file("cert.pem")
        let key = directory.file("key.pem")
        let other = directory.file("other.pem")
        try await run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        try await run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory.file("other-key.pem"), "-out", other, "-days", "2", "-subj", "/CN=other.example",
        ])
        let bundle = directory.file("bundle.pem")
        let text = try String(contentsOfFile: other, encoding: .utf8) + String(contentsOfFile: certificate, encoding: .utf8)
        try text.write(toFile: bundle, atomically: true, encoding: .utf8)
        return TestCertificates(
            directory: directory, certificate: certificate, key: key, otherCertificate: other, bundle: bundle)
    }
}

/// What a test client saw, recorded by `Recorder` on the event loop and read by the test.
final class Observations: Sendable {
    struct State {
        var received: [UInt8] = []
        var handshakes: [TLSClientHandshakeCompleted] = []
        var errors: [any Error] = []
        var inputClosed = false
        var inactive = false
    }

    private let state = NIOLockedValueBox(State())

    func update(_ body: (inout State) -> Void) { state.withLockedValue(body) }
    var snapshot: State { state.withLockedValue { $0 } }
    var text: String { String(decoding: snapshot.received, as: UTF8.self) }
    var errors: [any Error] { snapshot.errors }
    var tlsErrors: [TLSClientError] { snapshot.errors.compactMap { $0 as? TLSClientError } }
}

final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let observations: Observations

    init(_ observations: Observations) {
        self.observations = observations
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        observations.update { $0.received += bytes.readableBytesView }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSClientHandshakeCompleted {
            observations.update { $0.handshakes.append(completed) }
        } else if let event = event as? ChannelEvent, event == .inputClosed {
            observations.update { $0.inputClosed = true }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        observations.update { $0.errors.append(error) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        observations.update { $0.inactive = true }
        context.fireChannelInactive()
    }
}

/// One TLS client connection through `OpenSSLClientHandler`, with a `Recorder` behind it.
struct TLSTestConnection {
    let channel: any Channel
    let observations: Observations
    let sessions: TLSSessionBox
    let handshake: EventLoopFuture<TLSClientHandshakeCompleted>

    static func connect(
        group: any EventLoopGroup, port: Int, context: TLSClientContext, serverHostname: String?,
        resuming session: TLSSession? = nil
    ) async throws -> TLSTestConnection {
        let observations = Observations()
        let sessions = TLSSessionBox()
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: TLSClientHandshakeCompleted.self)
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = OpenSSLClientHandler(
                        context: context, serverHostname: serverHostname, resuming: session, sessions: sessions,
                        handshakePromise: promise)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(Recorder(observations))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TLSTestConnection(
            channel: channel, observations: observations, sessions: sessions, handshake: promise.futureResult)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Writes and flushes without waiting: the future reports the write's fate.
    func write(_ text: String) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ByteBuffer(string: text), promise: promise)
        return promise.futureResult
    }

    func waitForText(_ text: String) async throws {
        try await waitUntil("'\(text)' (received: \(observations.text.debugDescription), errors: \(observations.errors))") {
            observations.text.contains(text) || observations.snapshot.inactive
        }
        guard observations.text.contains(text) else {
            throw TestFailure("connection closed before '\(text)' arrived; errors: \(observations.errors)")
        }
    }

    func waitForClose() async throws {
        try await waitUntil("the connection to close") { observations.snapshot.inactive }
    }
}

func withEventLoopGroup<T>(_ body: (MultiThreadedEventLoopGroup) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let result = try await body(group)
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}
