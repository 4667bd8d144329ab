import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import FTPServer

@Suite("Upload reads gathered into storage writes")
struct FTPUploadBatcherTests {
    static let chunk = 1024

    final class Counter: Sendable {
        let total = Atomic<Int>(0)
    }

    func makeChannel(counter: Counter) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            FTPUploadBatcher(chunkSize: Self.chunk, count: { counter.total.add($0, ordering: .relaxed) }))
        return channel
    }

    /// A receive buffer as the socket fills it: `used` bytes of `fill` in `capacity`.
    func read(_ used: Int, of capacity: Int, fill: UInt8) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeRepeatingByte(fill, count: used)
        return buffer
    }

    func batches(_ channel: EmbeddedChannel) throws -> [FTPUploadBatch] {
        var out: [FTPUploadBatch] = []
        while let batch = try channel.readInbound(as: FTPUploadBatch.self) { out.append(batch) }
        return out
    }

    func bytes(_ batches: [FTPUploadBatch]) -> [UInt8] {
        batches.flatMap { $0.buffers.flatMap { Array($0.readableBytesView) } }
    }

    @Test("full reads pass as they are, a batch once it holds the large batch size")
    func fullReads() throws {
        let counter = Counter()
        let channel = try self.makeChannel(counter: counter)
        let large = Self.chunk * FTPUploadBatcher.largeBatchFactor
        var sent = 0
        while sent + 600 < large {
            try channel.writeInbound(self.read(600, of: 600, fill: UInt8(sent / 600 % 250)))
            sent += 600
        }
        // One fast upload: more than a chunk, still gathering.
        #expect(sent > Self.chunk)
        #expect(try self.batches(channel).isEmpty)
        try channel.writeInbound(self.read(600, of: 600, fill: 255))
        sent += 600
        let out = try self.batches(channel)
        #expect(out.count == 1)
        #expect(out.first?.buffers.count == sent / 600)  // not copied
        #expect(out.first?.byteCount == sent)
        #expect(counter.total.load(ordering: .relaxed) == sent)
        _ = try channel.finish()
    }

    @Test("a batch with a small read in it keeps the chunk's bounds, not the large batch's")
    func stagedBatchPassesAtAChunk() throws {
        let channel = try self.makeChannel(counter: Counter())
        // Staged: a staging buffer of one chunk is held.
        try channel.writeInbound(self.read(10, of: 4096, fill: 1))
        #expect(try self.batches(channel).isEmpty)
        // A full read: two chunks held, the bound of a batch with small reads (a batch of full
        // reads only would go on to the large size).
        try channel.writeInbound(self.read(1000, of: 1000, fill: 2))
        let out = try self.batches(channel)
        #expect(out.count == 1)
        #expect(out.first?.byteCount == 1010)
        _ = try channel.finish()
    }

    @Test("small reads in large buffers are copied together, in order, so a batch holds about what it writes")
    func smallReads() throws {
        let counter = Counter()
        let channel = try self.makeChannel(counter: counter)
        var expected: [UInt8] = []
        for index in 0..<10 {
            let fill = UInt8(index + 1)
            try channel.writeInbound(self.read(100, of: 4096, fill: fill))
            expected += Array(repeating: fill, count: 100)
        }
        // 1,000 bytes in ten 4 KiB buffers would have passed the memory bound (2 chunks) long ago;
        // staged, they wait for the chunk.
        #expect(try self.batches(channel).isEmpty)
        try channel.writeInbound(self.read(100, of: 4096, fill: 11))
        expected += Array(repeating: 11, count: 100)
        let out = try self.batches(channel)
        #expect(out.count == 1)
        #expect(out.first?.buffers.count == 2)  // a full staging buffer and the next one
        #expect(out.first?.byteCount == 1100)
        #expect(self.bytes(out) == expected)
        _ = try channel.finish()
    }

    @Test("a full read after small ones comes after them")
    func mixedReadsKeepOrder() throws {
        let channel = try self.makeChannel(counter: Counter())
        try channel.writeInbound(self.read(10, of: 4096, fill: 1))
        try channel.writeInbound(self.read(500, of: 500, fill: 2))
        try channel.writeInbound(self.read(10, of: 4096, fill: 3))
        try channel.writeInbound(self.read(600, of: 600, fill: 4))
        _ = try channel.finish()
        let out = try self.batches(channel)
        #expect(out.map(\.byteCount).reduce(0, +) == 1120)
        #expect(
            self.bytes(out)
                == Array(repeating: 1, count: 10) + Array(repeating: 2, count: 500)
                + Array(repeating: 3, count: 10) + Array(repeating: 4, count: 600))
    }

    @Test("what is gathered passes at the end of the client's stream, before the event")
    func endOfStream() throws {
        let channel = try self.makeChannel(counter: Counter())
        try channel.writeInbound(self.read(10, of: 4096, fill: 7))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        let out = try self.batches(channel)
        #expect(out.count == 1)
        #expect(out.first?.byteCount == 10)
        // Nothing left for the close.
        _ = try channel.finish()
        #expect(try self.batches(channel).isEmpty)
    }

    @Test("what is gathered passes when the connection closes")
    func inactive() throws {
        let channel = try self.makeChannel(counter: Counter())
        try channel.writeInbound(self.read(700, of: 700, fill: 7))
        try channel.writeInbound(self.read(5, of: 4096, fill: 8))
        _ = try channel.finish()
        let out = try self.batches(channel)
        #expect(out.count == 1)
        #expect(out.first?.byteCount == 705)
    }

    @Test("empty reads are dropped")
    func emptyReads() throws {
        let channel = try self.makeChannel(counter: Counter())
        try channel.writeInbound(ByteBuffer())
        _ = try channel.finish()
        #expect(try self.batches(channel).isEmpty)
    }
}
