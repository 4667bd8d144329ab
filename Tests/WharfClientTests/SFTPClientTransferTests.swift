import Crypto
import Foundation
import NIOCore
import SFTPProtocol
import SFTPServer
import Synchronization
import Testing

@testable import WharfClient

@Suite("SFTP client transfers")
struct SFTPClientTransferTests {
    static let sizes = [0, 1, 1024 * 1024 + 1, 20 * 1024 * 1024]

    @Test("download and upload, checked by SHA-256", arguments: Self.sizes)
    func downloadAndUpload(size: Int) async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: size, seed: UInt64(size))
            try fixture.createFile("remote.bin", contents: data)

            let progress = ProgressRecorder()
            let sink = try await LocalFile.open(local.path("down.bin"), mode: .write(truncate: true))
            let downloaded = try await client.download("remote.bin", to: sink, progress: progress.record)
            try await sink.close()
            #expect(downloaded == UInt64(size))
            #expect(try sha256(file: local.path("down.bin")) == sha256(data))
            #expect(progress.last == (size == 0 ? nil : UInt64(size)))
            #expect(progress.isIncreasing)

            let source = try await LocalFile.open(local.path("down.bin"), mode: .read)
            let uploaded = try await client.upload(from: source, to: "up.bin", truncate: true, permissions: 0o600)
            try await source.close()
            #expect(uploaded == UInt64(size))
            #expect(try sha256(file: fixture.path("up.bin")) == sha256(data))
            #expect(try fixture.permissions("up.bin") == 0o600)
        }
    }

    /// The source is read several blocks at a time, each read a trip to the thread pool.
    @Test func uploadReadsTheSourceSeveralBlocksAtATime() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 3 * 1024 * 1024 + 17, seed: 9)
            try Data(data).write(to: URL(fileURLWithPath: local.path("src")))
            let file = try await LocalFile.open(local.path("src"), mode: .read)
            let source = CountingSource(file: file)
            let uploaded = try await client.upload(from: source, to: "up", truncate: true)
            try await file.close()
            #expect(uploaded == UInt64(data.count))
            #expect(try sha256(file: fixture.path("up")) == sha256(data))
            let readLength = max(client.writeBlockSize, min(client.writeBlockSize * 8, SFTPClient.uploadReadLength))
            #expect(readLength > client.writeBlockSize)
            let lengths = source.lengths
            #expect(lengths.allSatisfy { $0 == readLength })
            // Whole read-ahead chunks, then the read that finds the end.
            #expect(lengths.count == (data.count + readLength - 1) / readLength + 1)
        }
    }

    @Test func uploadWithTruncateReplacesALongerFile() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            try fixture.createFile("f", contents: Array(repeating: 7, count: 100_000))
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: local.path("small")))
            let source = try await LocalFile.open(local.path("small"), mode: .read)
            defer { Task { try? await source.close() } }
            try await client.upload(from: source, to: "f", truncate: true)
            #expect(try fixture.contents("f") == [1, 2, 3])
        }
    }

    @Test func resumeADownloadFromAnOffset() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 3 * 1024 * 1024 + 17, seed: 1)
            try fixture.createFile("big", contents: data)
            let kept = 1024 * 1024 + 5
            try Data(data.prefix(kept)).write(to: URL(fileURLWithPath: local.path("partial")))

            let sink = try await LocalFile.open(local.path("partial"), mode: .write(truncate: false))
            let size = try await sink.size()
            let transferred = try await client.download("big", to: sink, from: size)
            try await sink.close()
            #expect(transferred == UInt64(data.count - kept))
            #expect(try sha256(file: local.path("partial")) == sha256(data))
        }
    }

    @Test func resumeAnUploadFromAnOffset() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 2 * 1024 * 1024 + 3, seed: 2)
            try Data(data).write(to: URL(fileURLWithPath: local.path("whole")))
            let kept = 700_001
            try fixture.createFile("partial", contents: Array(data.prefix(kept)))

            let remoteSize = try #require(try await client.stat("partial").size)
            let source = try await LocalFile.open(local.path("whole"), mode: .read)
            let transferred = try await client.upload(from: source, to: "partial", at: remoteSize, truncate: false)
            try await source.close()
            #expect(transferred == UInt64(data.count - kept))
            #expect(try sha256(file: fixture.path("partial")) == sha256(data))
        }
    }

    @Test func outOfOrderRepliesAreMatchedByID() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        let data = pseudoRandomBytes(count: 4 * 1024 * 1024 + 99, seed: 3)
        let shuffler = try await Loopback.run(replies: .shuffled(window: 8)) { client, fixture in
            try fixture.createFile("remote", contents: data)
            let sink = try await LocalFile.open(local.path("down"), mode: .write(truncate: true))
            try await client.download("remote", to: sink)
            try await sink.close()
            #expect(try sha256(file: local.path("down")) == sha256(data))

            let source = try await LocalFile.open(local.path("down"), mode: .read)
            try await client.upload(from: source, to: "up", truncate: true)
            try await source.close()
            #expect(try sha256(file: fixture.path("up")) == sha256(data))

            // Ordinary requests too, many at once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let size = try await client.stat("remote").size
                        #expect(size == UInt64(data.count))
                    }
                }
                try await group.waitForAll()
            }
        }
        let ids = shuffler?.deliveredIDs ?? []
        let inversions = zip(ids, ids.dropFirst()).count { $0 > $1 }
        #expect(inversions > 10, "the transport did not reorder replies")
    }

    @Test func shortReadsAreAskedAgainForTheRest() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run(replies: .halvedData) { client, fixture in
            let data = pseudoRandomBytes(count: 1024 * 1024 + 1, seed: 4)
            try fixture.createFile("remote", contents: data)
            let sink = try await LocalFile.open(local.path("down"), mode: .write(truncate: true))
            let transferred = try await client.download("remote", to: sink)
            try await sink.close()
            #expect(transferred == UInt64(data.count))
            #expect(try sha256(file: local.path("down")) == sha256(data))

            let file = try await client.open("remote", flags: .read)
            #expect(try await file.read(at: 0, length: 1000).readableBytes == 500)
            try await file.close()
        }
    }

    @Test func aFileThatGrowsWhileDownloadingIsReadToItsEnd() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            try fixture.createFile("growing", contents: Array(repeating: 1, count: 1000))
            let file = try await client.open("growing", flags: .read)
            // Grown after the transfer's FSTAT would see it: append now, then download through the handle.
            let more = Array(repeating: UInt8(2), count: 3 * 1024 * 1024)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fixture.path("growing")))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(more))
            try handle.close()
            let sink = try await LocalFile.open(local.path("down"), mode: .write(truncate: true))
            let transferred = try await client.download(file, to: sink)
            try await sink.close()
            try await file.close()
            #expect(transferred == UInt64(1000 + more.count))
        }
    }

    @Test func cancellingADownloadStopsItAndTheClientGoesOn() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 20 * 1024 * 1024, seed: 5)
            try fixture.createFile("big", contents: data)
            let sink = try await LocalFile.open(local.path("down"), mode: .write(truncate: true))
            // Cancelled from its own progress callback, so surely in the middle.
            let transfer = Task {
                try await client.download("big", to: sink, requestsInFlight: 4) { _ in
                    withUnsafeCurrentTask { $0?.cancel() }
                }
            }
            let result = await transfer.result
            #expect(throws: CancellationError.self) { try result.get() }
            try await sink.close()
            #expect(client.dispatcher.outstandingCount == 0)
            #expect(try await client.stat("big").size == UInt64(data.count))
            #expect(try await client.removeFile("big") == ())
        }
    }

    @Test func cancellingAnUploadStopsIt() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            try Data(pseudoRandomBytes(count: 20 * 1024 * 1024, seed: 6)).write(to: URL(fileURLWithPath: local.path("big")))
            let source = try await LocalFile.open(local.path("big"), mode: .read)
            let transfer = Task {
                try await client.upload(from: source, to: "up", truncate: true, requestsInFlight: 4) { _ in
                    withUnsafeCurrentTask { $0?.cancel() }
                }
            }
            let result = await transfer.result
            #expect(throws: CancellationError.self) { try result.get() }
            try await source.close()
            #expect(client.dispatcher.outstandingCount == 0)
            let size = try #require(try await client.stat("up").size)
            #expect(size < 20 * 1024 * 1024)
        }
    }

    @Test func transferErrors() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        var configuration = SFTPSessionConfiguration()
        configuration.readOnly = true
        try await Loopback.run(configuration: configuration) { client, fixture in
            let sink = try await LocalFile.open(local.path("down"), mode: .write(truncate: true))
            let missing = await #expect(throws: SFTPClientError.self) { try await client.download("missing", to: sink) }
            #expect(missing?.statusCode == .noSuchFile)
            try await sink.close()

            try fixture.createFile("f", contents: Array(repeating: 1, count: 300_000))
            let failing = FailingSink()
            await #expect(throws: FailingSink.Failure.self) { try await client.download("f", to: failing) }
            #expect(client.dispatcher.outstandingCount == 0)

            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: local.path("src")))
            let source = try await LocalFile.open(local.path("src"), mode: .read)
            let denied = await #expect(throws: SFTPClientError.self) {
                try await client.upload(from: source, to: "up", truncate: true)
            }
            #expect(denied?.statusCode == .permissionDenied)
            try await source.close()
            #expect(try await client.stat("f").size == 300_000)
        }
    }

    @Test func localFileErrors() async throws {
        let error = await #expect(throws: LocalFileError.self) {
            try await LocalFile.open("/nonexistent-\(UUID())/f", mode: .read)
        }
        #expect(error?.operation == "open")
        let local = try LocalDirectory()
        defer { local.remove() }
        let file = try await LocalFile.open(local.path("f"), mode: .write(truncate: true))
        try await file.write(ByteBuffer(string: "abc"), at: 5)
        #expect(try await file.size() == 8)
        try await file.truncate(to: 4)
        try await file.synchronize()
        try await file.close()
        try await file.close()
        await #expect(throws: LocalFileError.self) { try await file.size() }
        let reader = try await LocalFile.open(local.path("f"), mode: .read)
        #expect(Array(try await reader.read(at: 0, length: 100).readableBytesView) == [0, 0, 0, 0])
        #expect(try await reader.read(at: 100, length: 10).readableBytes == 0)
        try await reader.close()
    }
}

// MARK: - Helpers

/// A temporary local directory outside the server's jail.
struct LocalDirectory {
    let root: String

    init() throws {
        self.root = FileManager.default.temporaryDirectory.appendingPathComponent("wharf-local-\(UUID())").path
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { self.root + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: self.root) }
}

final class ProgressRecorder: Sendable {
    private let values = Mutex<[UInt64]>([])
    var record: SFTPClient.Progress { { value in self.values.withLock { $0.append(value) } } }
    var last: UInt64? { self.values.withLock { $0.last } }
    var isIncreasing: Bool { self.values.withLock { values in zip(values, values.dropFirst()).allSatisfy { $0 < $1 } } }
}

struct FailingSink: LocalSink {
    struct Failure: Error {}
    func write(_ data: ByteBuffer, at offset: UInt64) async throws { throw Failure() }
}

/// Bytes from a xorshift generator: fast, reproducible, incompressible enough.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        var index = 0
        while index < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { word in
                for byte in word where index < count {
                    buffer[index] = byte
                    index += 1
                }
            }
        }
    }
    return bytes
}

func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

func sha256(file path: String) throws -> [UInt8] {
    Array(SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: path))))
}

/// A source that records the length of each read.
private final class CountingSource: LocalSource, Sendable {
    let file: LocalFile
    private let recorded = Mutex<[Int]>([])

    init(file: LocalFile) { self.file = file }

    var lengths: [Int] { self.recorded.withLock { $0 } }

    func read(at offset: UInt64, length: Int) async throws -> ByteBuffer {
        self.recorded.withLock { $0.append(length) }
        return try await self.file.read(at: offset, length: length)
    }
}
