import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import SFTPProtocol
import SFTPServer
import Synchronization
import Testing
import WharfCore
import WharfStorage

@testable import WharfClient

@Suite("SFTP client against the server session")
struct SFTPClientTests {
    @Test func handshakeReadsExtensionsAndLimits() async throws {
        try await Loopback.run { client, _ in
            #expect(client.serverVersion == 3)
            #expect(client.supports("posix-rename@openssh.com"))
            #expect(client.supports("limits@openssh.com"))
            let limits = try #require(client.limits)
            let defaults = SFTPSessionConfiguration()
            #expect(limits.maximumReadLength == UInt64(defaults.maximumReadLength))
            #expect(limits.maximumWriteLength == UInt64(defaults.maximumWriteLength))
            #expect(limits.maximumOpenHandles == UInt64(defaults.maximumOpenHandles))
            #expect(client.readBlockSize == defaults.maximumReadLength)
            #expect(client.writeBlockSize == SFTPClient.maximumBlockSize)
        }
    }

    @Test func blockSizesFromLimits() {
        #expect(SFTPClient.blockSize(limit: nil, packetLimit: nil) == 32 * 1024)
        #expect(SFTPClient.blockSize(limit: 0, packetLimit: 0) == 255 * 1024)
        #expect(SFTPClient.blockSize(limit: 1 << 30, packetLimit: nil) == 255 * 1024)
        #expect(SFTPClient.blockSize(limit: 64 * 1024, packetLimit: 256 * 1024) == 64 * 1024)
        #expect(SFTPClient.blockSize(limit: 1 << 20, packetLimit: 34 * 1024) == 33 * 1024)
    }

    @Test func pathsAndAttributes() async throws {
        try await Loopback.run { client, fixture in
            try fixture.createFile("a.txt", contents: Array("hello".utf8))
            #expect(try await client.realPath(".") == "/")
            #expect(try await client.realPath("x/../a.txt") == "/a.txt")

            let attributes = try await client.stat("a.txt")
            #expect(attributes.size == 5)
            #expect(attributes.permissions.map { $0 & 0o170000 } == 0o100000)

            try await client.setAttributes("a.txt", SFTPFileAttributes(permissions: 0o600, accessModificationTime: (1000, 2000)))
            let changed = try await client.stat("/a.txt")
            #expect(changed.permissions.map { $0 & 0o7777 } == 0o600)
            #expect(changed.accessModificationTime?.mtime == 2000)

            try await client.setAttributes("a.txt", SFTPFileAttributes(size: 2))
            #expect(try await client.stat("a.txt").size == 2)
        }
    }

    @Test func directories() async throws {
        try await Loopback.run { client, fixture in
            try await client.makeDirectory("d", permissions: 0o750)
            #expect(try await client.stat("d").permissions.map { $0 & 0o170777 } == 0o040750)
            for index in 0..<250 {
                try fixture.createFile("d/file \(index) ü", contents: [UInt8(index % 256)])
            }
            let names = try await client.listDirectory("d")
            #expect(names.count == 250)
            #expect(Set(names.map(\.filename)) == Set((0..<250).map { "file \($0) ü" }))
            #expect(names.allSatisfy { $0.attributes.size == 1 && !$0.longname.isEmpty })
            let withDots = try await client.listDirectory("d", includingDotEntries: true)
            #expect(withDots.count >= 250)

            await #expect(throws: SFTPClientError.self) { try await client.removeDirectory("d") }
            for index in 0..<250 { try await client.removeFile("d/file \(index) ü") }
            #expect(try await client.listDirectory("d").isEmpty)
            try await client.removeDirectory("d")
            #expect(!fixture.exists("d"))
        }
    }

    @Test func renameWithAndWithoutOverwriting() async throws {
        try await Loopback.run { client, fixture in
            try fixture.createFile("a", contents: [1])
            try fixture.createFile("b", contents: [2, 2])
            let refused = await #expect(throws: SFTPClientError.self) {
                try await client.rename(from: "a", to: "b")
            }
            #expect(refused?.statusCode == .failure)
            try await client.rename(from: "a", to: "b", overwriting: true)
            #expect(try fixture.contents("b") == [1])
            #expect(!fixture.exists("a"))
            try await client.rename(from: "b", to: "c")
            #expect(try fixture.contents("c") == [1])
        }
    }

    @Test func symlinksAndHardLinks() async throws {
        try await Loopback.run { client, fixture in
            try fixture.createFile("target", contents: [1, 2, 3])
            try await client.symlink(target: "target", linkPath: "link")
            #expect(try await client.readLink("link") == "target")
            #expect(try await client.lstat("link").permissions.map { $0 & 0o170000 } == 0o120000)
            #expect(try await client.stat("link").size == 3)
            try await client.hardLink(from: "target", to: "hard")
            #expect(try fixture.contents("hard") == [1, 2, 3])
        }
    }

    @Test func statVFSAndCheckFile() async throws {
        try await Loopback.run { client, fixture in
            let statistics = try await client.statVFS("/")
            #expect(statistics.blockSize > 0)
            #expect(statistics.blocks > 0)

            let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try fixture.createFile("f", contents: data)
            let (algorithm, hash) = try await client.checkFile(path: "f", algorithms: ["nope", "sha256", "md5"])
            #expect(algorithm == "sha256")
            #expect(hash == Array(SHA256.hash(data: data)))
            let (_, blocks) = try await client.checkFile(path: "f", algorithms: ["sha256"], blockSize: 65536)
            #expect(blocks.count == 64)
        }
    }

    @Test func remoteFileReadWriteStatAndClose() async throws {
        try await Loopback.run { client, fixture in
            let file = try await client.open("new", flags: [.write, .read, .create, .exclusive], attributes: SFTPFileAttributes(permissions: 0o640))
            try await file.write(ByteBuffer(string: "hello, world"), at: 0)
            // A write larger than a block is split.
            let big = ByteBuffer(bytes: (0..<600_000).map { UInt8(truncatingIfNeeded: $0) })
            try await file.write(big, at: 12)
            #expect(try await file.stat().size == 600_012)
            #expect(String(buffer: try await file.read(at: 7, length: 5)) == "world")
            #expect(try await file.read(at: 600_012, length: 10).readableBytes == 0)
            try await file.setAttributes(SFTPFileAttributes(size: 5))
            try await file.synchronize()
            #expect(String(buffer: try await file.read(at: 0, length: 100)) == "hello")
            try await file.close()
            try await file.close()
            await #expect(throws: SFTPClientError.self) { try await file.read(at: 0, length: 1) }
            #expect(try fixture.contents("new") == Array("hello".utf8))
            #expect(try fixture.permissions("new") == 0o640)

            let exclusive = await #expect(throws: SFTPClientError.self) {
                try await client.open("new", flags: [.write, .create, .exclusive])
            }
            #expect(exclusive?.statusCode == .failure)
        }
    }

    @Test func errorsCarryTheStatusAndThePath() async throws {
        try await Loopback.run { client, _ in
            let missing = await #expect(throws: SFTPClientError.self) { try await client.stat("missing") }
            guard case .status(.noSuchFile, let message, "missing")? = missing else {
                Issue.record("expected no such file for \"missing\", got \(String(describing: missing))")
                return
            }
            #expect(missing?.description == "missing: \(message)")
            let open = await #expect(throws: SFTPClientError.self) { try await client.open("nodir/f", flags: .read) }
            #expect(open?.statusCode == .noSuchFile)
            let gone = await #expect(throws: SFTPClientError.self) { try await client.removeFile("gone") }
            #expect(gone?.statusCode == .noSuchFile)
            // A path outside the jail is not reachable.
            let outside = try await client.realPath("/../..")
            #expect(outside == "/")
        }
    }

    @Test func permissionDeniedFromAReadOnlySession() async throws {
        var configuration = SFTPSessionConfiguration()
        configuration.readOnly = true
        try await Loopback.run(configuration: configuration) { client, fixture in
            try fixture.createFile("f", contents: [1])
            for error in [
                await #expect(throws: SFTPClientError.self) { try await client.makeDirectory("d") },
                await #expect(throws: SFTPClientError.self) { try await client.removeFile("f") },
                await #expect(throws: SFTPClientError.self) { try await client.open("f", flags: .write) },
            ] {
                #expect(error?.statusCode == .permissionDenied)
            }
            #expect(try await client.stat("f").size == 1)
        }
    }

    @Test func extensionsTheServerDoesNotOfferAreRefusedLocally() async throws {
        try await ScriptedServer.run(extensions: []) { client, server in
            await #expect(throws: SFTPClientError.unsupportedExtension("statvfs@openssh.com")) {
                try await client.statVFS("/")
            }
            #expect(client.limits == nil)
            #expect(client.readBlockSize == 32 * 1024)
            // Without posix-rename, rename(overwriting:) falls back to RENAME.
            async let renamed: Void = client.rename(from: "a", to: "b", overwriting: true)
            let request = try await server.nextRequest()
            guard case .rename(let id, "a", "b") = request else {
                Issue.record("expected RENAME, got \(request)")
                return
            }
            server.reply(.status(id: id, code: .ok, message: ""))
            try await renamed
        }
    }

    @Test func repliesToUnknownIdsAndUndecodableRepliesDoNotCrash() async throws {
        try await ScriptedServer.run { client, server in
            let attributes = Task { try await client.stat("x") }
            let request = try await server.nextRequest()
            let id = try #require(request.id)
            server.reply(.status(id: id &+ 1000, code: .ok, message: ""))
            server.replyRaw([0x69, 0, 0, 0, 7])  // ATTRS with a truncated id... of an unknown request
            server.replyRaw([0x69] + withUnsafeBytes(of: id.bigEndian) { Array($0) } + [0, 0])  // truncated ATTRS
            let error = await #expect(throws: SFTPClientError.self) { try await attributes.value }
            #expect(error == .malformedReply(.truncated(type: 0x69)))
            // A reply of the wrong type.
            let path = Task { try await client.realPath(".") }
            let second = try await server.nextRequest()
            server.reply(.handle(id: try #require(second.id), handle: ByteBuffer()))
            await #expect(throws: SFTPClientError.self) { try await path.value }
        }
    }

    @Test func theEndOfTheStreamFailsPendingRequests() async throws {
        try await ScriptedServer.run { client, server in
            let first = Task { try await client.stat("a") }
            let second = Task { try await client.realPath(".") }
            _ = try await server.nextRequest()
            _ = try await server.nextRequest()
            server.finish()
            await #expect(throws: SFTPClientError.connectionClosed) { try await first.value }
            await #expect(throws: SFTPClientError.connectionClosed) { try await second.value }
            await #expect(throws: SFTPClientError.connectionClosed) { try await client.stat("c") }
        }
    }

    @Test func closeWaitsForRequestsInFlightThenRefusesNewOnes() async throws {
        try await Loopback.run { client, fixture in
            try fixture.createFile("f", contents: [1, 2, 3])
            let results = try await withThrowingTaskGroup(of: Result<UInt64?, SFTPClientError>.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        do {
                            return .success(try await client.stat("f").size)
                        } catch let error as SFTPClientError {
                            return .failure(error)
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(5))
                await client.close()
                #expect(client.dispatcher.outstandingCount == 0)
                var results: [Result<UInt64?, SFTPClientError>] = []
                for try await result in group { results.append(result) }
                return results
            }
            for result in results {
                switch result {
                case .success(let size): #expect(size == 3)
                case .failure(let error): #expect(error == .closed)
                }
            }
            await #expect(throws: SFTPClientError.closed) { try await client.stat("f") }
        }
    }

    @Test func closeWaitsForTheServerAndCancellingItFailsTheRest() async throws {
        try await ScriptedServer.run { client, server in
            let pending = Task { try await client.stat("slow") }
            let request = try await server.nextRequest()
            let closer = Task { await client.close() }
            try await Task.sleep(for: .milliseconds(20))
            // close() still waits: the reply is owed.
            server.reply(.attributes(id: try #require(request.id), attributes: SFTPFileAttributes(size: 9)))
            #expect(try await pending.value.size == 9)
            await closer.value

            await #expect(throws: SFTPClientError.closed) { try await client.stat("x") }
        }
        try await ScriptedServer.run { client, server in
            let pending = Task { try await client.stat("never") }
            _ = try await server.nextRequest()
            let closer = Task { await client.close() }
            try await Task.sleep(for: .milliseconds(20))
            closer.cancel()
            await closer.value
            await #expect(throws: SFTPClientError.closed) { try await pending.value }
        }
    }

    @Test func cancellingConnectWhileTheServerIsSilentThrows() async throws {
        let (toClient, toClientInput) = AsyncStream.makeStream(of: ByteBuffer.self)
        let connecting = Task {
            try await SFTPClient.connect(packets: toClient, send: { _ in }, logger: Loopback.logger)
        }
        try await Task.sleep(for: .milliseconds(20))
        connecting.cancel()
        await #expect(throws: SFTPClientError.closed) { try await connecting.value }
        toClientInput.finish()
    }

    @Test func aServerBelowVersion3IsRefused() async throws {
        await #expect(throws: SFTPClientError.unsupportedVersion(2)) {
            try await ScriptedServer.run(version: 2) { _, _ in }
        }
    }
}

// MARK: - Harness: the client against a real SFTPSession

/// The jailed directory the session serves, for checking results directly on disk.
struct Fixture: Sendable {
    let root: String

    func path(_ relative: String) -> String { self.root + "/" + relative }

    func createFile(_ relative: String, contents: [UInt8]) throws {
        try Data(contents).write(to: URL(fileURLWithPath: self.path(relative)))
    }

    func contents(_ relative: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: self.path(relative))))
    }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: self.path(relative)) }

    func permissions(_ relative: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: self.path(relative))
        return (attributes[.posixPermissions] as? Int) ?? -1
    }
}

/// What happens to each server packet on its way to the client.
enum ReplyPath: Sendable {
    case direct
    /// Replies are held and released shuffled, up to `window` at a time.
    case shuffled(window: Int)
    /// DATA replies are cut to half their length (when 2 bytes or more).
    case halvedData
}

/// Releases replies out of order: collects them and hands them on shuffled when `window` have
/// gathered, or once no reply has come for a tick of the timer, so that the last few are not held
/// forever. Only a quiet tick releases: on a loaded machine replies trickle in more slowly than
/// the timer ticks, and a tick that released whatever had come would hand them on one by one, in
/// order.
final class Shuffler: Sendable {
    private struct State {
        var held: [ByteBuffer] = []
        var delivered: [UInt32] = []
        var generator = SystemRandomNumberGenerator()
        var addedSinceTick = false
    }
    private let state = Mutex(State())
    private let window: Int
    private let output: AsyncStream<ByteBuffer>.Continuation

    init(window: Int, output: AsyncStream<ByteBuffer>.Continuation) {
        self.window = window
        self.output = output
    }

    func add(_ packet: ByteBuffer) {
        let release = self.state.withLock { state -> [ByteBuffer] in
            state.held.append(packet)
            state.addedSinceTick = true
            return state.held.count >= self.window ? Self.take(&state) : []
        }
        for packet in release { self.output.yield(packet) }
    }

    /// The timer's: releases what is held if no reply came since the last tick.
    func tick() {
        let release = self.state.withLock { state -> [ByteBuffer] in
            if state.addedSinceTick {
                state.addedSinceTick = false
                return []
            }
            return Self.take(&state)
        }
        for packet in release { self.output.yield(packet) }
    }

    func flush() {
        let release = self.state.withLock { Self.take(&$0) }
        for packet in release { self.output.yield(packet) }
    }

    /// Ids in the order the client got them.
    var deliveredIDs: [UInt32] { self.state.withLock { $0.delivered } }

    private static func take(_ state: inout State) -> [ByteBuffer] {
        var packets = state.held
        state.held = []
        packets.shuffle(using: &state.generator)
        for packet in packets {
            if let id = SFTPResponse.peekID(packet: packet) { state.delivered.append(id) }
        }
        return packets
    }
}

enum Loopback {
    static let logger: Logger = {
        var logger = Logger(label: "wharf.client.test")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs `body` with a client connected to an `SFTPSession` over a temporary jailed directory;
    /// returns the shuffler when replies were shuffled.
    @discardableResult
    static func run(
        configuration: SFTPSessionConfiguration = .init(),
        replies: ReplyPath = .direct,
        _ body: @Sendable (SFTPClient, Fixture) async throws -> Void
    ) async throws -> Shuffler? {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-client-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }

        let storage = try LocalStorage(jailedAt: root, pool: pool)
        let session = SFTPSession(storage: storage, configuration: configuration, logger: self.logger)
        let (toServer, toServerInput) = AsyncStream.makeStream(of: ByteBuffer.self)
        let (toClient, toClientInput) = AsyncStream.makeStream(of: ByteBuffer.self)

        let shuffler: Shuffler?
        if case .shuffled(let window) = replies {
            shuffler = Shuffler(window: window, output: toClientInput)
        } else {
            shuffler = nil
        }
        let deliver: @Sendable (ByteBuffer) -> Void = { packet in
            switch replies {
            case .direct: toClientInput.yield(packet)
            case .shuffled: shuffler?.add(packet)
            case .halvedData: toClientInput.yield(Self.halved(packet))
            }
        }
        let clientSend: @Sendable (ByteBuffer) async throws -> Void = { framed in
            var bytes = framed
            var decoder = SFTPFrameDecoder()
            while let packet = try decoder.decode(buffer: &bytes) { toServerInput.yield(packet) }
            #expect(bytes.readableBytes == 0, "the client sent part of a packet")
        }
        // The session writes a byte stream (a DATA reply's header and payload come as two buffers),
        // so split it into packets as a transport's frame decoder does.
        let reassembly = SFTPPacketSplitter()
        let sessionSend: SFTPSession.Send = { bytes, payload in
            for packet in try reassembly.feed(bytes) { deliver(packet) }
            if let payload {
                for packet in try reassembly.feed(payload) { deliver(packet) }
            }
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await session.run(packets: toServer, send: sessionSend)
                shuffler?.flush()
                toClientInput.finish()
            }
            if let shuffler {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(2))
                        shuffler.tick()
                    }
                }
            }
            let client = try await SFTPClient.connect(packets: toClient, send: clientSend, logger: self.logger)
            do {
                try await body(client, Fixture(root: root))
            } catch {
                await client.close()
                toServerInput.finish()
                group.cancelAll()
                throw error
            }
            await client.close()
            #expect(client.dispatcher.outstandingCount == 0)
            toServerInput.finish()
            group.cancelAll()
            try await group.waitForAll()
        }
        return shuffler
    }

    /// A DATA reply cut to half its data; anything else unchanged.
    static func halved(_ packet: ByteBuffer) -> ByteBuffer {
        guard case .data(let id, let payload)? = try? SFTPResponse(packet: packet), payload.readableBytes >= 2 else {
            return packet
        }
        var data = payload.joined
        data = data.getSlice(at: data.readerIndex, length: data.readableBytes / 2) ?? data
        var framed = ByteBuffer()
        framed.writeSFTPResponse(.data(id: id, data: SFTPPayload(data)))
        framed.moveReaderIndex(forwardBy: 4)
        return framed
    }
}

// MARK: - Harness: a scripted server, for replies a real server would not send

/// Requests as the client sends them, awaited one at a time.
final class RequestQueue: Sendable {
    private struct State {
        var packets: [ByteBuffer] = []
        var waiter: CheckedContinuation<ByteBuffer?, Never>?
        var finished = false
    }
    private let state = Mutex(State())

    func push(_ packet: ByteBuffer) {
        let waiter = self.state.withLock { state -> CheckedContinuation<ByteBuffer?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.packets.append(packet)
            return nil
        }
        waiter?.resume(returning: packet)
    }

    func next() async -> ByteBuffer? {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> ByteBuffer?? in
                if !state.packets.isEmpty { return .some(state.packets.removeFirst()) }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

final class ScriptedServer: Sendable {
    private let requests: RequestQueue
    private let output: AsyncStream<ByteBuffer>.Continuation

    private init(requests: RequestQueue, output: AsyncStream<ByteBuffer>.Continuation) {
        self.requests = requests
        self.output = output
    }

    /// The next request the client sent (INIT is answered before `body` runs).
    func nextRequest() async throws -> SFTPRequest {
        let packet = await self.requests.next()
        return try SFTPRequest(packet: try #require(packet))
    }

    func reply(_ response: SFTPResponse) {
        var framed = ByteBuffer()
        framed.writeSFTPResponse(response)
        framed.moveReaderIndex(forwardBy: 4)
        self.output.yield(framed)
    }

    func replyRaw(_ bytes: [UInt8]) { self.output.yield(ByteBuffer(bytes: bytes)) }

    /// Ends the stream to the client, as a dropped connection does.
    func finish() { self.output.finish() }

    static func run(
        version: UInt32 = 3,
        extensions: [(name: String, data: String)] = [("posix-rename@openssh.com", "1")],
        _ body: @Sendable (SFTPClient, ScriptedServer) async throws -> Void
    ) async throws {
        let requests = RequestQueue()
        let (toClient, toClientInput) = AsyncStream.makeStream(of: ByteBuffer.self)
        let server = ScriptedServer(requests: requests, output: toClientInput)
        let send: @Sendable (ByteBuffer) async throws -> Void = { framed in
            var bytes = framed
            var decoder = SFTPFrameDecoder()
            while let packet = try decoder.decode(buffer: &bytes) { requests.push(packet) }
        }
        async let connected = SFTPClient.connect(packets: toClient, send: send, logger: Loopback.logger)
        guard case .initialize(3) = try await server.nextRequest() else {
            Issue.record("the client did not start with INIT 3")
            return
        }
        server.reply(.version(version: version, extensions: extensions))
        let client = try await connected
        do {
            try await body(client, server)
        } catch {
            server.finish()
            await client.close()
            throw error
        }
        server.finish()
        await client.close()
    }
}

