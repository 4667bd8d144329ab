import Foundation
import NIOCore
import NIOPosix
import Testing
import WharfCore
import WharfStorage

@Suite("Vectored writes and the event-loop task executor")
struct VectoredWriteTests {
    /// Buffers of 1 to 7 bytes, more of them than one pwritev takes (IOV_MAX), with empty ones mixed in.
    static func pieces(count: Int) -> [ByteBuffer] {
        (0..<count).map { index in
            index % 97 == 0 ? ByteBuffer() : ByteBuffer(repeating: UInt8(index % 251), count: 1 + index % 7)
        }
    }

    static func joined(_ buffers: [ByteBuffer]) -> [UInt8] {
        buffers.flatMap { Array($0.readableBytesView) }
    }

    @Test func writesManyBuffersAtAnOffsetInOrder() async throws {
        try await withJail { storage, sandbox in
            let file = try await storage.openFile(at: "/v", options: [.read, .write, .create], permissions: 0o644)
            try await file.write(ByteBuffer(string: "head"), at: 0)
            let buffers = Self.pieces(count: 2_500)
            try await file.write(contentsOf: buffers, at: 4)
            try await file.close()
            let onDisk = try #require(FileManager.default.contents(atPath: sandbox.real("v")))
            #expect(Array(onDisk) == Array("head".utf8) + Self.joined(buffers))
        }
    }

    @Test func appendsIgnoreTheOffset() async throws {
        try await withJail { storage, sandbox in
            let first = try await storage.openFile(at: "/a", options: [.write, .create], permissions: 0o644)
            try await first.write(ByteBuffer(string: "start-"), at: 0)
            try await first.close()
            let appending = try await storage.openFile(at: "/a", options: [.write, .append], permissions: nil)
            let buffers = [ByteBuffer(string: "one-"), ByteBuffer(), ByteBuffer(string: "two")]
            try await appending.write(contentsOf: buffers, at: 0)
            try await appending.close()
            let onDisk = try #require(FileManager.default.contents(atPath: sandbox.real("a")))
            #expect(String(decoding: onDisk, as: UTF8.self) == "start-one-two")
        }
    }

    @Test func reportsTheErrorOfAFailedWrite() {
        // A read-only descriptor: pwritev fails with EBADF, which comes back instead of a trap or a loop.
        let descriptor = open("/dev/null", O_RDONLY)
        defer { close(descriptor) }
        #expect(VectoredWrite.write([ByteBuffer(string: "x")], to: descriptor, at: 0) == EBADF)
        #expect(VectoredWrite.write([], to: descriptor, at: 0) == nil, "nothing to write is no error")
    }

    @Test func tasksPreferringAnEventLoopResumeOnIt() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let executor = EventLoopTaskExecutor(eventLoop: loop)
        let pool = NIOThreadPool.singleton
        let onLoop = await withTaskExecutorPreference(executor) {
            var seen: [Bool] = [loop.inEventLoop]
            // After work on another thread, the task comes back to the loop.
            _ = try? await pool.runIfActive { 1 }
            seen.append(loop.inEventLoop)
            // Child tasks inherit the preference.
            await withTaskGroup(of: Bool.self) { group in
                group.addTask { loop.inEventLoop }
                for await childOnLoop in group { seen.append(childOnLoop) }
            }
            return seen
        }
        #expect(onLoop == [true, true, true])
    }
}
