import Dispatch
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import WharfStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The writes a `SerialFileWriter` makes, recorded instead of made. The first one waits at a gate
/// until the test opens it, so that the writes queued meanwhile meet in one drain.
private final class RecordedWrites: Sendable {
    struct Call: Equatable {
        var offset: UInt64?
        var bytes: [UInt8]
    }

    private let calls = Mutex<[Call]>([])
    private let gate = DispatchSemaphore(value: 0)
    private let firstCall = Atomic<Bool>(true)
    /// The first write has come and waits at the gate.
    let held = Atomic<Bool>(false)
    /// A write covering this offset fails with EIO.
    let failingOffset: UInt64?

    init(failingOffset: UInt64? = nil) {
        self.failingOffset = failingOffset
    }

    var recorded: [Call] { self.calls.withLock { $0 } }

    func open() { self.gate.signal() }

    func write(_ buffers: [ByteBuffer], at offset: UInt64?) -> CInt? {
        if self.firstCall.exchange(false, ordering: .relaxed) {
            self.held.store(true, ordering: .releasing)
            self.gate.wait()
        }
        let bytes = buffers.flatMap { Array($0.readableBytesView) }
        self.calls.withLock { $0.append(Call(offset: offset, bytes: bytes)) }
        if let failing = self.failingOffset, let offset, offset <= failing, failing < offset + UInt64(bytes.count) {
            return EIO
        }
        return nil
    }
}

@Suite("SerialFileWriter: one write at a time, continuing writes joined")
struct SerialFileWriterTests {
    private static func bytes(_ value: UInt8, _ count: Int) -> ByteBuffer {
        ByteBuffer(repeating: value, count: count)
    }

    /// Starts a write held at the gate, then the `writes` (offset, fill byte, length), waits until
    /// they are all queued, opens the gate and returns each write's result in order.
    private static func run(
        _ writes: [(offset: UInt64?, fill: UInt8, count: Int)], recorder: RecordedWrites
    ) async throws -> [CInt?] {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let writer = SerialFileWriter(descriptor: -1, pool: pool) { buffers, _, offset in
            recorder.write(buffers, at: offset)
        }
        let results = try await withThrowingTaskGroup(of: (Int, CInt?).self) { group in
            group.addTask { (-1, await writer.write([Self.bytes(0xEE, 1)], at: 1_000_000)) }
            while !recorder.held.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
            for (index, write) in writes.enumerated() {
                group.addTask { (index, await writer.write([Self.bytes(write.fill, write.count)], at: write.offset)) }
                while writer.queuedCount < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
            }
            recorder.open()
            var results = [CInt?](repeating: nil, count: writes.count)
            for try await (index, result) in group where index >= 0 { results[index] = result }
            return results
        }
        try await pool.shutdownGracefully()
        return results
    }

    @Test func writesThatContinueEachOtherGoOutAsOne() async throws {
        let recorder = RecordedWrites()
        let results = try await Self.run(
            [(0, 1, 3), (3, 2, 2), (5, 3, 1), (10, 4, 2), (nil, 5, 1), (nil, 6, 1), (12, 7, 1)],
            recorder: recorder)
        #expect(results.allSatisfy { $0 == nil })
        #expect(
            recorder.recorded == [
                .init(offset: 1_000_000, bytes: [0xEE]),
                .init(offset: 0, bytes: [1, 1, 1, 2, 2, 3]),  // 0..<6 in one
                .init(offset: 10, bytes: [4, 4]),  // a gap before it: a write of its own
                .init(offset: nil, bytes: [5]),  // appends one by one, in order
                .init(offset: nil, bytes: [6]),
                .init(offset: 12, bytes: [7]),
            ])
    }

    @Test func aFailedJoinedWriteIsRetriedWriteByWriteAndOnlyTheFailingOneFails() async throws {
        let recorder = RecordedWrites(failingOffset: 4)
        let results = try await Self.run([(0, 1, 2), (2, 2, 2), (4, 3, 2), (6, 4, 2)], recorder: recorder)
        #expect(results == [nil, nil, EIO, nil])
        #expect(
            recorder.recorded.dropFirst() == [
                .init(offset: 0, bytes: [1, 1, 2, 2, 3, 3, 4, 4]),
                .init(offset: 0, bytes: [1, 1]),
                .init(offset: 2, bytes: [2, 2]),
                .init(offset: 4, bytes: [3, 3]),
                .init(offset: 6, bytes: [4, 4]),
            ])
    }

    @Test func aPoolThatHasStoppedFailsTheWriteWithEIO() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        try await pool.shutdownGracefully()
        let writer = SerialFileWriter(descriptor: -1, pool: pool) { _, _, _ in nil }
        #expect(await writer.write([Self.bytes(1, 1)], at: 0) == EIO)
    }

    @Test func manyConcurrentWritesToARealFileLandWhereTheyBelong() async throws {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        var template = Array("/tmp/wharf-serial-writer.XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(descriptor >= 0)
        let path = String(cString: template)
        defer {
            close(descriptor)
            unlink(path)
        }
        let writer = SerialFileWriter(descriptor: descriptor, pool: pool)
        let block = 8192
        // Blocks written all at once in a shuffled order, as an SFTP client's pipelined WRITEs arrive.
        let order = Array(0..<256).shuffled()
        try await withThrowingTaskGroup(of: CInt?.self) { group in
            for index in order {
                group.addTask {
                    await writer.write([Self.bytes(UInt8(index % 251), block)], at: UInt64(index * block))
                }
            }
            for try await result in group { #expect(result == nil) }
        }
        var buffer = [UInt8](repeating: 0, count: 256 * block)
        let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        #expect(read == 256 * block)
        for index in 0..<256 {
            #expect(buffer[index * block..<(index + 1) * block].allSatisfy { $0 == UInt8(index % 251) })
        }
        try await pool.shutdownGracefully()
    }
}

extension SerialFileWriter {
    /// As `LocalFile` calls it, the length counted here.
    fileprivate func write(_ buffers: [ByteBuffer], at offset: UInt64?) async -> CInt? {
        await self.write(buffers, length: buffers.reduce(0) { $0 + UInt64($1.readableBytes) }, at: offset)
    }
}
