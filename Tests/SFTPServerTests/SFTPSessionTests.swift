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

/// Drives an `SFTPSession` with hand-built packets, as a transport would, and reads its replies.
@Suite("SFTP session")
struct SFTPSessionTests {
    @Test func versionAdvertisesTheTableExtensions() async throws {
        let replies = try await Harness.run { packets in
            packets.append(Packet.initialize())
        }
        var version = try #require(replies.first)
        #expect(version.readInteger(as: UInt8.self) == SFTPPacketType.version.rawValue)
        #expect(version.readInteger(as: UInt32.self) == 3)
        var names: [String] = []
        while let name = version.readSFTPString(), version.readSFTPString() != nil { names.append(name) }
        #expect(names.contains("posix-rename@openssh.com"))
        #expect(names.contains("limits@openssh.com"))
        #expect(names.contains("check-file-handle"))
    }

    @Test func pipelinedWritesAreAnsweredInRequestOrder() async throws {
        let replies = try await Harness.run { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/f", flags: [.write, .create, .truncate]))
        } then: { packets, replies in
            let handle = try replies.handle(id: 1)
            for index in 0..<200 {
                let chunk = ByteBuffer(bytes: Array(repeating: UInt8(index % 251), count: 4096))
                packets.append(Packet.write(id: UInt32(100 + index), handle: handle, offset: UInt64(index * 4096), data: chunk))
            }
            packets.append(Packet.close(id: 999, handle: handle))
        }
        let ids: [UInt32] = replies.dropFirst(2).compactMap { reply in reply.getInteger(at: reply.readerIndex + 1) }
        let expected: [UInt32] = (0..<200).map { UInt32(100 + $0) } + [999]
        #expect(ids == expected)
        let codes = replies.dropFirst(2).map(\.statusCode)
        #expect(codes.allSatisfy { $0 == .ok })
    }

    @Test func handlesLeftOpenAreClosedBeforeTheExitHookRuns() async throws {
        let events = Recorder<String>()
        _ = try await Harness.run(
            record: { _, event in events.append(event) },
            exitHook: { events.append("exit hook") }
        ) { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/a", flags: [.write, .create]))
            packets.append(Packet.open(id: 2, path: "/b", flags: [.write, .create]))
        }
        let recorded = events.values
        #expect(recorded.filter { $0.hasPrefix("close") }.count == 2)
        #expect(recorded.last == "exit hook")
    }

    @Test func unknownTypesAndMalformedRequestsGetStatusesAndTheSessionGoesOn() async throws {
        let replies = try await Harness.run { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.raw(type: 99, id: 7, body: []))
            // OPEN whose path length runs past the end of the packet.
            packets.append(Packet.raw(type: SFTPPacketType.open.rawValue, id: 8, body: [0, 0, 0, 50, 0x61]))
            packets.append(Packet.extended(id: 9, name: "no-such@example.com", body: ByteBuffer()))
            packets.append(Packet.read(id: 10, handle: ByteBuffer(string: "nope"), offset: 0, length: 10))
            packets.append(Packet.stat(id: 11, path: "/"))
        }
        #expect(replies[1].statusCode == .operationUnsupported)
        #expect(replies[2].statusCode == .badMessage)
        #expect(replies[3].statusCode == .operationUnsupported)
        #expect(replies[4].statusCode == .failure)
        #expect(replies[5].getInteger(at: replies[5].readerIndex, as: UInt8.self) == SFTPPacketType.attrs.rawValue)
    }

    @Test func readOnlyAndDeniedRequestsAreRefusedByTheTable() async throws {
        var configuration = SFTPSessionConfiguration()
        configuration.readOnly = true
        configuration.deniedRequests = ["stat"]
        let replies = try await Harness.run(configuration: configuration) { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/new", flags: [.write, .create]))
            packets.append(Packet.mkdir(id: 2, path: "/d"))
            packets.append(Packet.stat(id: 3, path: "/"))
            packets.append(Packet.lstat(id: 4, path: "/"))
        }
        #expect(replies[1].statusCode == .permissionDenied)
        #expect(replies[2].statusCode == .permissionDenied)
        #expect(replies[3].statusCode == .permissionDenied)
        #expect(replies[4].getInteger(at: replies[4].readerIndex, as: UInt8.self) == SFTPPacketType.attrs.rawValue)
    }

    @Test func readsAheadOfTheirRepliesStayInsideTheWindow() async throws {
        var configuration = SFTPSessionConfiguration()
        configuration.maximumReadAheadBytes = 64 * 1024
        let events = Recorder<String>()
        let chunk = 16 * 1024
        let content = (0..<(40 * chunk)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let replies = try await Harness.run(
            configuration: configuration, record: { _, event in events.append(event) }, readDelay: .milliseconds(20)
        ) { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/f", flags: [.read, .write, .create, .truncate]))
        } then: { packets, replies in
            let handle = try replies.handle(id: 1)
            packets.append(Packet.write(id: 2, handle: handle, offset: 0, data: ByteBuffer(bytes: content)))
            for index in 0..<40 {
                packets.append(Packet.read(id: UInt32(100 + index), handle: handle, offset: UInt64(index * chunk), length: UInt32(chunk)))
            }
        }
        // Every DATA reply, in order, with the file's bytes.
        var received: [UInt8] = []
        for var reply in replies.dropFirst(3) {
            #expect(reply.readInteger(as: UInt8.self) == SFTPPacketType.data.rawValue)
            _ = reply.readInteger(as: UInt32.self)
            received += reply.readSFTPStringBuffer().map { Array($0.readableBytesView) } ?? []
        }
        #expect(received.count == content.count)
        let sameBytes = received == content  // not in #expect: a failure would diff 640 KiB
        #expect(sameBytes)
        // At most 64 KiB / 16 KiB reads were running at once, and they did run side by side.
        var running = 0
        var most = 0
        for event in events.values {
            if event == "read started" { running += 1 }
            if event == "read ended" { running -= 1 }
            most = max(most, running)
        }
        #expect(most <= 4)
        #expect(most >= 2)
    }

    @Test("a WRITE whose data came in pieces (it crossed reads) writes them in order")
    func writeDataInPieces() async throws {
        let content = (0..<(300 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 3) }
        let replies = try await Harness.run(writeDataInPieces: true) { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/f", flags: [.read, .write, .create, .truncate]))
        } then: { packets, replies in
            let handle = try replies.handle(id: 1)
            for index in 0..<3 {
                let part = ByteBuffer(bytes: content[(index * 100 * 1024)..<((index + 1) * 100 * 1024)])
                packets.append(Packet.write(id: UInt32(10 + index), handle: handle, offset: UInt64(index * 100 * 1024), data: part))
            }
            packets.append(Packet.read(id: 20, handle: handle, offset: 0, length: UInt32(content.count)))
        }
        #expect(replies.dropFirst(2).prefix(3).map(\.statusCode) == [.ok, .ok, .ok])
        var data = try #require(replies.last)
        #expect(data.readInteger(as: UInt8.self) == SFTPPacketType.data.rawValue)
        _ = data.readInteger(as: UInt32.self)
        let received = data.readSFTPStringBuffer().map { Array($0.readableBytesView) } ?? []
        // One READ returns at most the session's maximum read length: compare what came.
        #expect(received.count > 0)
        let sameBytes = received == Array(content.prefix(received.count))
        #expect(sameBytes)
    }

    /// On an SSH channel each write is packets of its own: a large DATA reply's header goes out
    /// with the first bytes of its payload, not alone.
    @Test func aLargeDataReplysHeaderCarriesTheFirstBytesOfItsPayload() async throws {
        var configuration = SFTPSessionConfiguration()
        configuration.dataHeaderFillLength = 100
        let content = (0..<(64 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let sends = Recorder<[Int]>()
        let replies = try await Harness.run(configuration: configuration, sends: sends) { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/f", flags: [.read, .write, .create, .truncate]))
        } then: { packets, replies in
            let handle = try replies.handle(id: 1)
            packets.append(Packet.write(id: 2, handle: handle, offset: 0, data: ByteBuffer(bytes: content)))
            packets.append(Packet.read(id: 3, handle: handle, offset: 0, length: UInt32(content.count)))
        }
        #expect(sends.values.last == [13 + 100, content.count - 100])
        guard var data = replies.last else {
            Issue.record("no DATA reply")
            return
        }
        #expect(data.readInteger(as: UInt8.self) == SFTPPacketType.data.rawValue)
        #expect(data.readInteger(as: UInt32.self) == 3)
        let received = data.readSFTPStringBuffer().map { Array($0.readableBytesView) } ?? []
        let sameBytes = received == content
        #expect(sameBytes)
    }

    @Test func aReadOnlyHandleIsAnsweredBeforeItsDescriptorCloses() async throws {
        let events = Recorder<String>()
        let closesSeenWithTheReplies = Mutex<Int?>(nil)
        let replies = try await Harness.run(
            record: { _, event in events.append(event) },
            exitHook: { events.append("exit hook") },
            closeDelay: .seconds(1),
            closeMayReportErrors: true  // as on NFS
        ) { packets in
            packets.append(Packet.initialize())
            // Handles are numbered from 1: the writer's close is answered after the descriptor is
            // closed, the reader's before.
            packets.append(Packet.open(id: 1, path: "/f", flags: [.write, .create]))
            packets.append(Packet.close(id: 2, handle: ByteBuffer(string: "1")))
            packets.append(Packet.open(id: 3, path: "/f", flags: [.read]))
            packets.append(Packet.close(id: 4, handle: ByteBuffer(string: "2")))
        } then: { packets, _ in
            closesSeenWithTheReplies.withLock { $0 = events.values.filter { $0.hasPrefix("close") }.count }
            // The handle is gone at once.
            packets.append(Packet.read(id: 5, handle: ByteBuffer(string: "2"), offset: 0, length: 10))
        }
        #expect(replies[2].statusCode == .ok)
        #expect(replies[4].statusCode == .ok)
        #expect(replies[5].statusCode == .failure)
        #expect(closesSeenWithTheReplies.withLock { $0 } == 1)
        // The session waited for the descriptor before its exit hook.
        #expect(events.values.filter { $0.hasPrefix("close") }.count == 2)
        #expect(events.values.last == "exit hook")
    }

    @Test func aWrittenFileOnALocalFileSystemIsAnsweredBeforeItsDescriptorCloses() async throws {
        let events = Recorder<String>()
        let closesSeenWithTheReplies = Mutex<Int?>(nil)
        let replies = try await Harness.run(
            record: { _, event in events.append(event) },
            exitHook: { events.append("exit hook") },
            closeDelay: .seconds(1)
        ) { packets in
            packets.append(Packet.initialize())
            packets.append(Packet.open(id: 1, path: "/f", flags: [.write, .create]))
            packets.append(Packet.write(id: 2, handle: ByteBuffer(string: "1"), offset: 0, data: ByteBuffer(string: "data")))
            packets.append(Packet.close(id: 3, handle: ByteBuffer(string: "1")))
        } then: { packets, _ in
            closesSeenWithTheReplies.withLock { $0 = events.values.filter { $0.hasPrefix("close") }.count }
            // The next request that is not a READ or WRITE waits for the descriptor: it sees the data.
            packets.append(Packet.open(id: 4, path: "/f", flags: [.read]))
            packets.append(Packet.read(id: 5, handle: ByteBuffer(string: "2"), offset: 0, length: 10))
        }
        // The temporary directory is a local file system (ext4 here): close(2) reports nothing there.
        #expect(replies[3].statusCode == .ok)
        #expect(closesSeenWithTheReplies.withLock { $0 } == 0)
        #expect(replies.count == 6)
        if replies.count == 6 {
            var data = replies[5]
            #expect(data.readInteger(as: UInt8.self) == SFTPPacketType.data.rawValue)
            data.moveReaderIndex(forwardBy: 4)  // the id
            #expect(data.readSFTPString() == "data")
        }
        #expect(events.values.filter { $0.hasPrefix("close") }.count == 2)
        #expect(events.values.last == "exit hook")
    }

    @Test func aRequestBeforeInitEndsTheSession() async throws {
        await #expect(throws: (any Error).self) {
            _ = try await Harness.run { packets in
                packets.append(Packet.stat(id: 1, path: "/"))
            }
        }
    }
}

// MARK: - Harness

/// A list appended to from concurrent tasks.
final class Recorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    func append(_ element: Element) { self.storage.withLock { $0.append(element) } }
    var values: [Element] { self.storage.withLock { $0 } }
}

/// Runs a session over a temporary jailed directory. `first` feeds the first packets; `then`, if
/// given, sees the replies to them and feeds more. The stream ends after that, like a client EOF.
enum Harness {
    static func run(
        configuration: SFTPSessionConfiguration = .init(),
        record: (@Sendable (String, String) -> Void)? = nil,
        exitHook: (@Sendable () async -> Void)? = nil,
        readDelay: Duration? = nil,
        closeDelay: Duration? = nil,
        closeMayReportErrors: Bool? = nil,
        sends: Recorder<[Int]>? = nil,
        writeDataInPieces: Bool = false,
        _ first: (inout [ByteBuffer]) throws -> Void,
        then: ((inout [ByteBuffer], [ByteBuffer]) throws -> Void)? = nil
    ) async throws -> [ByteBuffer] {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sftp-session-\(UUID())").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }

        var storage: any Storage = try LocalStorage(jailedAt: root, pool: pool)
        if let record {
            storage = RecordingStorage(
                base: storage, record: record, readDelay: readDelay, closeDelay: closeDelay,
                closeMayReportErrors: closeMayReportErrors)
        }
        let session = SFTPSession(
            storage: storage, configuration: configuration, logger: Logger(label: "test"), exitHook: exitHook)
        let (packetsStream, packetInput) = AsyncStream.makeStream(of: SFTPPacket.self)
        let input = PacketInput(continuation: packetInput, writeDataInPieces: writeDataInPieces)
        let replies = Recorder<ByteBuffer>()
        let (replyStream, replyInput) = AsyncStream.makeStream(of: Void.self)

        var packets: [ByteBuffer] = []
        try first(&packets)
        for packet in packets { input.yield(packet) }
        let firstCount = packets.count

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The session writes a byte stream (a DATA reply may come as two buffers): split it.
                let stream = SFTPPacketSplitter()
                try await session.run(packets: packetsStream) { bytes, payload in
                    sends?.append([bytes, payload].compactMap { $0?.readableBytes })
                    for part in [bytes, payload].compactMap({ $0 }) {
                        for reply in try stream.feed(part) {
                            replies.append(reply)
                            replyInput.yield()
                        }
                    }
                }
                replyInput.finish()
            }
            if let then {
                var seen = 0
                for await _ in replyStream {
                    seen += 1
                    if seen == firstCount { break }
                }
                var more: [ByteBuffer] = []
                try then(&more, replies.values)
                for packet in more { input.yield(packet) }
            }
            packetInput.finish()
            try await group.waitForAll()
            return replies.values
        }
    }
}

/// Feeds packets to the session as a transport's `SFTPFrameHandler` would; with `writeDataInPieces`,
/// each WRITE's data comes in three pieces, as one that crossed reads does.
struct PacketInput {
    let continuation: AsyncStream<SFTPPacket>.Continuation
    let writeDataInPieces: Bool

    func yield(_ packet: ByteBuffer) {
        self.continuation.yield(self.writeDataInPieces ? Self.split(packet) : SFTPPacket(bytes: packet))
    }

    static func split(_ packet: ByteBuffer) -> SFTPPacket {
        var fields = packet
        guard fields.readInteger(as: UInt8.self) == SFTPPacketType.write.rawValue,
            fields.readInteger(as: UInt32.self) != nil, fields.readSFTPStringBuffer() != nil,
            fields.readInteger(as: UInt64.self) != nil
        else { return SFTPPacket(bytes: packet) }
        let head = packet.getSlice(at: packet.readerIndex, length: fields.readerIndex - packet.readerIndex) ?? ByteBuffer()
        guard var data = fields.readSFTPStringBuffer() else { return SFTPPacket(bytes: packet) }
        let third = data.readableBytes / 3
        let pieces = [data.readSlice(length: third), data.readSlice(length: third), data].compactMap { $0 }
        return SFTPPacket(bytes: head, data: SFTPPayload(pieces: pieces))
    }
}

/// Wraps a storage to record when files are closed and when reads start and end (reads and
/// closes may be slowed, to make them overlap or to see what waits for them).
struct RecordingStorage: Storage {
    let base: any Storage
    let record: @Sendable (String, String) -> Void
    var readDelay: Duration? = nil
    var closeDelay: Duration? = nil
    /// Overrides the files' own answer (nil: the base storage's), e.g. to act as NFS does.
    var closeMayReportErrors: Bool? = nil

    var startDirectory: String { self.base.startDirectory }
    var isReadOnly: Bool { self.base.isReadOnly }
    var homeDirectory: String { self.base.homeDirectory }

    func attributes(at path: String, followingSymlinks: Bool) async throws(StorageError) -> FileAttributes {
        try await self.base.attributes(at: path, followingSymlinks: followingSymlinks)
    }
    func setAttributes(at path: String, _ changes: AttributeChanges, followingSymlinks: Bool) async throws(StorageError) {
        try await self.base.setAttributes(at: path, changes, followingSymlinks: followingSymlinks)
    }
    func openFile(at path: String, options: OpenOptions, permissions: UInt32?) async throws(StorageError) -> any StorageFile {
        RecordingFile(
            base: try await self.base.openFile(at: path, options: options, permissions: permissions), record: self.record,
            readDelay: self.readDelay, closeDelay: self.closeDelay, closeMayReportErrors: self.closeMayReportErrors)
    }
    func openDirectory(at path: String) async throws(StorageError) -> any StorageDirectory {
        try await self.base.openDirectory(at: path)
    }
    func removeFile(at path: String) async throws(StorageError) { try await self.base.removeFile(at: path) }
    func makeDirectory(at path: String, permissions: UInt32?) async throws(StorageError) {
        try await self.base.makeDirectory(at: path, permissions: permissions)
    }
    func removeDirectory(at path: String) async throws(StorageError) { try await self.base.removeDirectory(at: path) }
    func rename(from source: String, to destination: String, replacing: Bool) async throws(StorageError) {
        try await self.base.rename(from: source, to: destination, replacing: replacing)
    }
    func readSymbolicLink(at path: String) async throws(StorageError) -> String { try await self.base.readSymbolicLink(at: path) }
    func createSymbolicLink(at linkPath: String, pointingTo target: String) async throws(StorageError) {
        try await self.base.createSymbolicLink(at: linkPath, pointingTo: target)
    }
    func createHardLink(at newPath: String, to existingPath: String) async throws(StorageError) {
        try await self.base.createHardLink(at: newPath, to: existingPath)
    }
    func canonicalPath(_ path: String) async throws(StorageError) -> String { try await self.base.canonicalPath(path) }
    func fileSystemStatistics(at path: String) async throws(StorageError) -> FileSystemStatistics {
        try await self.base.fileSystemStatistics(at: path)
    }
    func accountNames(userIDs: [UInt32], groupIDs: [UInt32]) async -> (users: [String?], groups: [String?]) {
        await self.base.accountNames(userIDs: userIDs, groupIDs: groupIDs)
    }
}

final class RecordingFile: StorageFile {
    let base: any StorageFile
    let record: @Sendable (String, String) -> Void
    let readDelay: Duration?
    let closeDelay: Duration?
    let closeMayReportErrors: Bool
    init(
        base: any StorageFile, record: @escaping @Sendable (String, String) -> Void, readDelay: Duration?,
        closeDelay: Duration?, closeMayReportErrors: Bool?
    ) {
        self.base = base
        self.record = record
        self.readDelay = readDelay
        self.closeDelay = closeDelay
        self.closeMayReportErrors = closeMayReportErrors ?? base.closeMayReportErrors
    }
    var path: String { self.base.path }
    func read(at offset: UInt64, length: Int) async throws(StorageError) -> ByteBuffer {
        self.record("", "read started")
        defer { self.record("", "read ended") }
        if let readDelay { try? await Task.sleep(for: readDelay) }
        return try await self.base.read(at: offset, length: length)
    }
    func write(_ data: ByteBuffer, at offset: UInt64) async throws(StorageError) { try await self.base.write(data, at: offset) }
    func attributes() async throws(StorageError) -> FileAttributes { try await self.base.attributes() }
    func setAttributes(_ changes: AttributeChanges) async throws(StorageError) { try await self.base.setAttributes(changes) }
    func synchronize() async throws(StorageError) { try await self.base.synchronize() }
    func fileSystemStatistics() async throws(StorageError) -> FileSystemStatistics { try await self.base.fileSystemStatistics() }
    func close() async throws(StorageError) {
        if let closeDelay { try? await Task.sleep(for: closeDelay) }
        try await self.base.close()
        self.record("", "close \(self.path)")
    }
}

// MARK: - Packets

enum Packet {
    static func frame(_ type: UInt8, _ body: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(type)
        body(&buffer)
        return buffer
    }

    static func initialize() -> ByteBuffer { frame(SFTPPacketType.initialize.rawValue) { $0.writeInteger(UInt32(3)) } }

    static func open(id: UInt32, path: String, flags: SFTPOpenFlags) -> ByteBuffer {
        frame(SFTPPacketType.open.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(path)
            $0.writeInteger(flags.rawValue)
            $0.writeInteger(UInt32(0))
        }
    }

    static func write(id: UInt32, handle: ByteBuffer, offset: UInt64, data: ByteBuffer) -> ByteBuffer {
        frame(SFTPPacketType.write.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(handle)
            $0.writeInteger(offset)
            $0.writeSFTPString(data)
        }
    }

    static func read(id: UInt32, handle: ByteBuffer, offset: UInt64, length: UInt32) -> ByteBuffer {
        frame(SFTPPacketType.read.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(handle)
            $0.writeInteger(offset)
            $0.writeInteger(length)
        }
    }

    static func close(id: UInt32, handle: ByteBuffer) -> ByteBuffer {
        frame(SFTPPacketType.close.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(handle)
        }
    }

    static func stat(id: UInt32, path: String) -> ByteBuffer {
        frame(SFTPPacketType.stat.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(path)
        }
    }

    static func lstat(id: UInt32, path: String) -> ByteBuffer {
        frame(SFTPPacketType.lstat.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(path)
        }
    }

    static func mkdir(id: UInt32, path: String) -> ByteBuffer {
        frame(SFTPPacketType.mkdir.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(path)
            $0.writeInteger(UInt32(0))
        }
    }

    static func extended(id: UInt32, name: String, body: ByteBuffer) -> ByteBuffer {
        frame(SFTPPacketType.extended.rawValue) {
            $0.writeInteger(id)
            $0.writeSFTPString(name)
            $0.writeImmutableBuffer(body)
        }
    }

    static func raw(type: UInt8, id: UInt32, body: [UInt8]) -> ByteBuffer {
        frame(type) {
            $0.writeInteger(id)
            $0.writeBytes(body)
        }
    }
}

extension ByteBuffer {
    /// The status code of a STATUS reply (type byte first), nil for other replies.
    var statusCode: SFTPStatusCode? {
        guard self.getInteger(at: self.readerIndex, as: UInt8.self) == SFTPPacketType.status.rawValue,
            let code = self.getInteger(at: self.readerIndex + 5, as: UInt32.self)
        else { return nil }
        return SFTPStatusCode(rawValue: code)
    }
}

extension Array where Element == ByteBuffer {
    /// The handle in the HANDLE reply to request `id`.
    func handle(id: UInt32) throws(HarnessError) -> ByteBuffer {
        for reply in self {
            var copy = reply
            guard copy.readInteger(as: UInt8.self) == SFTPPacketType.handle.rawValue,
                copy.readInteger(as: UInt32.self) == id
            else { continue }
            guard let handle = copy.readSFTPStringBuffer() else { break }
            return handle
        }
        throw HarnessError.noHandle(id)
    }
}

enum HarnessError: Error {
    case noHandle(UInt32)
}

