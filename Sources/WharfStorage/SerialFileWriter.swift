import NIOCore
import NIOPosix
import Synchronization
import WharfCore

/// Writes to one file descriptor one at a time, on one thread-pool thread at a time, joining
/// writes that continue each other into one `pwritev`.
///
/// An SFTP client keeps dozens of WRITEs to one file in flight, and the session serves them
/// concurrently. Sent to the pool one by one, they met in the kernel: a buffered write holds the
/// inode's lock, and the pool's other threads spun on it (perf: 12% of the server's CPU in
/// `rwsem_spin_on_owner` during a 1 GiB upload on 2 cores, CPU the client and its SSH process
/// wanted). Here the first write starts a drain on the pool; writes arriving meanwhile queue, and
/// the drain takes them all at its next turn, so the writes of a busy file cost one pool trip per
/// batch, not one each.
final class SerialFileWriter: Sendable {
    private struct Pending {
        var buffers: [ByteBuffer]
        /// nil: at the end of the file (O_APPEND), in arrival order.
        var offset: UInt64?
        var length: UInt64
        var done: CheckedContinuation<CInt?, Never>
    }

    private struct State {
        var queue: [Pending] = []
        var draining = false
    }

    /// Writes buffers at an offset (nil: append); nil, or the errno. `VectoredWrite.write` but in tests.
    typealias WriteVectors = @Sendable (_ buffers: [ByteBuffer], _ descriptor: CInt, _ offset: UInt64?) -> CInt?

    private let descriptor: CInt
    private let pool: NIOThreadPool
    private let writeVectors: WriteVectors
    private let state = Mutex(State())

    init(
        descriptor: CInt, pool: NIOThreadPool,
        writeVectors: @escaping WriteVectors = { VectoredWrite.write($0, to: $1, at: $2) }
    ) {
        self.descriptor = descriptor
        self.pool = pool
        self.writeVectors = writeVectors
    }

    /// Writes waiting for the drain (for tests).
    var queuedCount: Int { self.state.withLock { $0.queue.count } }

    /// Writes `buffers`, `length` bytes in all (the caller has counted them to check the end
    /// offset), at `offset` (nil: append); nil, or the errno of the failed write.
    /// A pool that has shut down answers EIO.
    func write(_ buffers: [ByteBuffer], length: UInt64, at offset: UInt64?) async -> CInt? {
        await withCheckedContinuation { done in
            let startsDrain = self.state.withLock { state in
                state.queue.append(Pending(buffers: buffers, offset: offset, length: length, done: done))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            guard startsDrain else { return }
            self.pool.submit { workState in
                if case .cancelled = workState {
                    self.failQueued(with: EIO)
                } else {
                    self.drain()
                }
            }
        }
    }

    private func takeQueue() -> [Pending] {
        self.state.withLock { state in
            if state.queue.isEmpty { state.draining = false }
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
    }

    private func failQueued(with failure: CInt) {
        while true {
            let batch = self.takeQueue()
            if batch.isEmpty { return }
            for pending in batch { pending.done.resume(returning: failure) }
        }
    }

    /// On a pool thread: writes until the queue is empty.
    private func drain() {
        while true {
            let batch = self.takeQueue()
            if batch.isEmpty { return }
            var start = batch.startIndex
            while start < batch.endIndex {
                let end = Self.endOfRun(in: batch, from: start)
                self.write(batch[start..<end])
                start = end
            }
        }
    }

    /// The end of the run of writes from `start` that continue each other (each starts where the
    /// one before ends). Appends are never joined: a failed joined write could not be retried
    /// without writing the same bytes twice.
    private static func endOfRun(in batch: [Pending], from start: Int) -> Int {
        guard var next = batch[start].offset else { return start + 1 }
        var end = start
        while end < batch.endIndex, let offset = batch[end].offset, offset == next {
            next = offset + batch[end].length
            end += 1
        }
        return end
    }

    /// Writes one run in one go. When that fails, each write is tried alone, so that each hears of
    /// its own failure: a positional write may be repeated without changing the result.
    private func write(_ run: ArraySlice<Pending>) {
        guard let first = run.first else { return }
        if run.count == 1 {
            first.done.resume(returning: self.writeVectors(first.buffers, self.descriptor, first.offset))
            return
        }
        let joined = run.flatMap(\.buffers)
        if self.writeVectors(joined, self.descriptor, first.offset) == nil {
            for pending in run { pending.done.resume(returning: nil) }
            return
        }
        for pending in run {
            pending.done.resume(returning: self.writeVectors(pending.buffers, self.descriptor, pending.offset))
        }
    }
}
