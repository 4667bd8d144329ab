#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Writes buffers in order from an offset with `pwritev`: one system call per batch and no copy to
/// join them. Blocking: call it on a thread pool.
public enum VectoredWrite {
    /// Linux's IOV_MAX (UIO_MAXIOV): buffers per pwritev.
    static let maximumVectors = 1024

    /// Writes every buffer's readable bytes from `offset` (nil: at the file's position, `writev`,
    /// for O_APPEND files); nil, or the errno of the failed write.
    public static func write(_ buffers: [ByteBuffer], to descriptor: CInt, at offset: UInt64?) -> CInt? {
        var pending = buffers.filter { $0.readableBytes > 0 }[...]
        var position = offset
        while !pending.isEmpty {
            let written = self.writeVectors(descriptor, pending.prefix(self.maximumVectors), at: position)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            position = position.map { $0 + UInt64(written) }
            // Drop what was written, keeping a partly written buffer's rest.
            var remaining = written
            while remaining > 0, var first = pending.first {
                let take = min(remaining, first.readableBytes)
                first.moveReaderIndex(forwardBy: take)
                remaining -= take
                if first.readableBytes == 0 {
                    pending.removeFirst()
                } else {
                    pending[pending.startIndex] = first
                }
            }
        }
        return nil
    }

    private static func writeVectors(_ descriptor: CInt, _ buffers: ArraySlice<ByteBuffer>, at offset: UInt64?) -> Int {
        // The pointers outlive their closures: each buffer's storage is retained until the call
        // returns, as NIO's own vectored socket writes do (no nesting of one closure per buffer,
        // which took a stack frame per buffer, up to IOV_MAX deep).
        var vectors: [iovec] = []
        var storages: [Unmanaged<AnyObject>] = []
        vectors.reserveCapacity(buffers.count)
        storages.reserveCapacity(buffers.count)
        for buffer in buffers {
            buffer.withUnsafeReadableBytesWithStorageManagement { bytes, storage in
                storages.append(storage.retain())
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
            }
        }
        defer { for storage in storages { storage.release() } }
        return vectors.withUnsafeBufferPointer { pointer in
            guard let offset else { return writev(descriptor, pointer.baseAddress, Int32(pointer.count)) }
            return pwritev(descriptor, pointer.baseAddress, Int32(pointer.count), off_t(clamping: offset))
        }
    }
}
