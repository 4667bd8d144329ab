#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Fills a buffer from a file with positional reads: a short read is legal in SFTP but halves the
/// throughput of a pipelining client, so reading goes on until the buffer is full or the file ends.
enum PositionalRead {
    /// Reads up to `capacity` bytes from `offset` with `read` (pread(2) or a variant with the same
    /// arguments); what was read, and the errno that stopped it early, if one did (EINTR is retried).
    static func fill(
        capacity: Int, from offset: UInt64, with read: (UnsafeMutableRawPointer, Int, off_t) -> Int
    ) -> (buffer: ByteBuffer, failure: CInt?) {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        var failure: CInt? = nil
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { pointer in
            guard let base = pointer.baseAddress else { return 0 }
            var total = 0
            while total < capacity {
                let result = read(base + total, capacity - total, off_t(offset) + off_t(total))
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if result == 0 { break }
                total += result
            }
            return total
        }
        return (buffer, failure)
    }
}
