import NIOCore
import NIOPosix
import Synchronization
import WharfCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a download writes: positional writes, in any order (replies may come out of order).
public protocol LocalSink: Sendable {
    func write(_ data: ByteBuffer, at offset: UInt64) async throws
    /// Writes the buffers one after the other from `offset` (a stream's batch, without joining them first).
    func write(contentsOf buffers: [ByteBuffer], at offset: UInt64) async throws
}

extension LocalSink {
    public func write(contentsOf buffers: [ByteBuffer], at offset: UInt64) async throws {
        var position = offset
        for buffer in buffers {
            try await self.write(buffer, at: position)
            position += UInt64(buffer.readableBytes)
        }
    }
}

/// What an upload reads: positional reads; an empty buffer means the end.
public protocol LocalSource: Sendable {
    func read(at offset: UInt64, length: Int) async throws -> ByteBuffer
}

/// Why a local file operation failed.
public struct LocalFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String {
        "\(self.path): \(self.operation) failed: \(String(cString: strerror(self.errno)))"
    }
}

/// A local file read and written with `pread`/`pwrite` on a thread pool, never on an event loop
/// or the cooperative pool. Serves as the sink of downloads and the source of uploads.
///
/// Close it with `close()` once no read or write is running.
public final class LocalFile: LocalSink, LocalSource, Sendable {
    public enum Mode: Sendable {
        /// Reading an existing file.
        case read
        /// Writing, creating the file when missing (with `permissions`), emptying it first when `truncate`.
        case write(truncate: Bool, permissions: UInt32 = 0o644)
    }

    public let path: String
    private let descriptor: CInt
    private let pool: NIOThreadPool
    private let isClosed = Atomic<Bool>(false)

    private init(path: String, descriptor: CInt, pool: NIOThreadPool) {
        self.path = path
        self.descriptor = descriptor
        self.pool = pool
    }

    public static func open(_ path: String, mode: Mode, pool: NIOThreadPool = .singleton) async throws -> LocalFile {
        let descriptor = try await pool.runIfActive { () throws -> CInt in
            let fd: CInt
            switch mode {
            case .read:
                fd = systemOpen(path, O_RDONLY | O_CLOEXEC, 0)
            case .write(let truncate, let permissions):
                fd = systemOpen(path, O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), mode_t(permissions))
            }
            guard fd >= 0 else { throw LocalFileError(path: path, operation: "open", errno: errno) }
            return fd
        }
        return LocalFile(path: path, descriptor: descriptor, pool: pool)
    }

    /// Reads up to `length` bytes at `offset`; fewer only at the end of the file.
    public func read(at offset: UInt64, length: Int) async throws -> ByteBuffer {
        try self.checkOpen()
        let (fd, path) = (self.descriptor, self.path)
        return try await self.pool.runIfActive { () throws -> ByteBuffer in
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            var failure: Int32 = 0
            while buffer.readableBytes < length {
                let position = offset + UInt64(buffer.readableBytes)
                guard position <= UInt64(Int64.max) else { break }
                let want = length - buffer.readableBytes
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { pointer in
                    let result = pread(fd, pointer.baseAddress, want, off_t(position))
                    if result < 0 {
                        failure = errno
                        return 0
                    }
                    return result
                }
                if failure == EINTR {
                    failure = 0
                    continue
                }
                if failure != 0 { throw LocalFileError(path: path, operation: "read", errno: failure) }
                if count == 0 { break }
            }
            return buffer
        }
    }

    /// Writes all of `data` at `offset`.
    public func write(_ data: ByteBuffer, at offset: UInt64) async throws {
        try self.checkOpen()
        let (fd, path) = (self.descriptor, self.path)
        try await self.pool.runIfActive { () throws in
            var remaining = data
            while remaining.readableBytes > 0 {
                let position = offset + UInt64(data.readableBytes - remaining.readableBytes)
                let result = remaining.withUnsafeReadableBytes { pointer in
                    pwrite(fd, pointer.baseAddress, pointer.count, off_t(clamping: position))
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw LocalFileError(path: path, operation: "write", errno: errno)
                }
                remaining.moveReaderIndex(forwardBy: result)
            }
        }
    }

    /// Writes the buffers in order from `offset` with `pwritev`: one trip to the thread pool and
    /// one system call per batch, no copy to join them.
    public func write(contentsOf buffers: [ByteBuffer], at offset: UInt64) async throws {
        try self.checkOpen()
        let (fd, path) = (self.descriptor, self.path)
        try await self.pool.runIfActive { () throws in
            if let failure = VectoredWrite.write(buffers, to: fd, at: offset) {
                throw LocalFileError(path: path, operation: "write", errno: failure)
            }
        }
    }

    /// The file's current size.
    public func size() async throws -> UInt64 {
        try self.checkOpen()
        let (fd, path) = (self.descriptor, self.path)
        return try await self.pool.runIfActive { () throws -> UInt64 in
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw LocalFileError(path: path, operation: "stat", errno: errno) }
            return UInt64(max(0, info.st_size))
        }
    }

    /// Cuts or extends the file to `size` bytes.
    public func truncate(to size: UInt64) async throws {
        try self.checkOpen()
        let (fd, path) = (self.descriptor, self.path)
        try await self.pool.runIfActive { () throws in
            guard ftruncate(fd, off_t(clamping: size)) == 0 else {
                throw LocalFileError(path: path, operation: "truncate", errno: errno)
            }
        }
    }

    /// Flushes the file to stable storage.
    public func synchronize() async throws {
        try self.checkOpen()
        let (fd, path) = (self.descriptor, self.path)
        try await self.pool.runIfActive { () throws in
            guard fsync(fd) == 0 else { throw LocalFileError(path: path, operation: "fsync", errno: errno) }
        }
    }

    /// Closes the descriptor; later calls throw. A second close does nothing.
    public func close() async throws {
        guard !self.isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let (fd, path) = (self.descriptor, self.path)
        try await self.pool.runIfActive { () throws in
            guard systemClose(fd) == 0 else { throw LocalFileError(path: path, operation: "close", errno: errno) }
        }
    }

    private func checkOpen() throws(LocalFileError) {
        if self.isClosed.load(ordering: .acquiring) {
            throw LocalFileError(path: self.path, operation: "use after close", errno: EBADF)
        }
    }
}

// `open` and `close` are shadowed by the methods above inside the type.
private func systemOpen(_ path: String, _ flags: CInt, _ mode: mode_t) -> CInt { open(path, flags, mode) }
private func systemClose(_ fd: CInt) -> CInt { close(fd) }
