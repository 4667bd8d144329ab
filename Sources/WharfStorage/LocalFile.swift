#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix
import Synchronization
import WharfCore

/// An open file descriptor. Reads use pread, so concurrent requests at different offsets need no
/// lock; writes go through one `SerialFileWriter`, which joins them. The session guarantees no
/// request is in flight when it calls `close()`.
final class LocalFile: StorageFile, DescriptorBackedFile {
    let path: String
    private let descriptor: Int32
    private let appends: Bool
    private let readOnly: Bool
    /// Permission bits a client may set (the jail drops setuid, setgid and sticky).
    private let permissionMask: UInt32
    private let pool: NIOThreadPool
    private let closed = Atomic<Bool>(false)
    /// The size when opened, grown by our own writes: a hint for how much a read needs to allocate.
    private let sizeHint: Atomic<UInt64>
    /// Where small reads may be tried without the pool (`NonBlockingFileAccess`).
    private let fileSystem: NonBlockingFileAccess.FileSystem
    /// Opened for reading only: close(2) has no data to flush and cannot wait on a local file system.
    private let readsOnly: Bool
    private let writer: SerialFileWriter

    init(
        path: String, descriptor: Int32, appends: Bool, readOnly: Bool, permissionMask: UInt32, size: UInt64,
        pool: NIOThreadPool, fileSystem: NonBlockingFileAccess.FileSystem = .other, readsOnly: Bool = false
    ) {
        self.sizeHint = Atomic(size)
        self.fileSystem = fileSystem
        self.readsOnly = readsOnly
        self.path = path
        self.descriptor = descriptor
        self.appends = appends
        self.readOnly = readOnly
        self.permissionMask = permissionMask
        self.pool = pool
        self.writer = SerialFileWriter(descriptor: descriptor, pool: pool)
    }

    private func checkOpen() throws(StorageError) {
        guard !self.closed.load(ordering: .acquiring) else { throw StorageError(.invalidHandle, "File is closed") }
    }

    private func onPool<T: Sendable>(_ body: @Sendable @escaping (Int32) throws(StorageError) -> T) async throws(StorageError) -> T {
        try self.checkOpen()
        let descriptor = self.descriptor
        return try await Blocking.run(on: self.pool) { () throws(StorageError) in try body(descriptor) }
    }

    func duplicateDescriptor() throws(StorageError) -> Int32 {
        try self.checkOpen()
        let copy = fcntl(self.descriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw StorageError(errno: errno) }
        return copy
    }

    func cacheRange(at offset: UInt64, length: Int) async throws(StorageError) {
        if self.fileSystem != .other, !self.closed.load(ordering: .acquiring),
            NonBlockingFileAccess.isCached(self.descriptor, at: offset, length: length)
        {
            return
        }
        try await self.onPool { descriptor throws(StorageError) in
            if let failure = PageCache.makeResident(descriptor: descriptor, offset: offset, length: length) {
                throw POSIX.fail(failure)
            }
        }
    }

    func read(at offset: UInt64, length: Int) async throws(StorageError) -> ByteBuffer {
        guard length > 0, offset <= UInt64(Int64.max) - UInt64(length) else { return ByteBuffer() }
        // Clients ask for up to 255 KiB per READ whatever the file's size; allocating that much for a
        // small file costs an mmap and page faults per request. Size the buffer from the file's size
        // (a shorter read than asked is legal; a file that grew meanwhile is read on the next request).
        let known = self.sizeHint.load(ordering: .relaxed)
        let remaining = known > offset ? known - offset : 0
        let capacity = Int(min(UInt64(length), max(remaining, 4096)))
        let requested = length
        if self.fileSystem != .other {
            try self.checkOpen()
            switch NonBlockingFileAccess.read(self.descriptor, at: offset, capacity: capacity, fileSystem: self.fileSystem) {
            case .done(let buffer):
                if buffer.readableBytes == capacity, capacity < requested { self.learnSize(self.descriptor) }
                return buffer
            case .failed(let failure):
                throw POSIX.fail(failure)
            case .wouldBlock:
                break
            }
        }
        return try await self.onPool { descriptor throws(StorageError) in
            let (buffer, failure) = PositionalRead.fill(capacity: capacity, from: offset) { pread(descriptor, $0, $1, $2) }
            if buffer.readableBytes == 0, let failure { throw POSIX.fail(failure) }
            if buffer.readableBytes == capacity, capacity < requested { self.learnSize(descriptor) }
            return buffer
        }
    }

    /// The file is larger than we thought (another writer): learn its size for the next read.
    private func learnSize(_ descriptor: Int32) {
        var info = stat()
        if fstat(descriptor, &info) == 0 { self.sizeHint.store(UInt64(max(0, info.st_size)), ordering: .relaxed) }
    }

    func write(_ data: ByteBuffer, at offset: UInt64) async throws(StorageError) {
        try await self.write(contentsOf: [data], at: offset)
    }

    /// At most one `pwritev` per call (`writev` for O_APPEND files), no copy to join the buffers;
    /// writes that continue each other share one (see `SerialFileWriter`).
    func write(contentsOf buffers: [ByteBuffer], at offset: UInt64) async throws(StorageError) {
        // off_t is signed: an offset the kernel cannot represent is the client's error, not a trap.
        let length = buffers.reduce(0) { $0 + UInt64($1.readableBytes) }
        let end = offset.addingReportingOverflow(length)
        guard !end.overflow, end.partialValue <= UInt64(Int64.max) else {
            throw StorageError(errno: EFBIG)
        }
        try self.checkOpen()
        if let failure = await self.writer.write(buffers, length: length, at: self.appends ? nil : offset) {
            throw POSIX.fail(failure)
        }
        // `end` was checked against Int64.max above.
        var current = self.sizeHint.load(ordering: .relaxed)
        while end.partialValue > current {
            let (exchanged, original) = self.sizeHint.compareExchange(
                expected: current, desired: end.partialValue, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    func attributes() async throws(StorageError) -> FileAttributes {
        if self.fileSystem != .other {
            // fstat(2) of an open file on a local file system reads the inode in memory.
            try self.checkOpen()
            return POSIX.attributes(try POSIX.status(descriptor: self.descriptor))
        }
        return try await self.onPool { descriptor throws(StorageError) in
            POSIX.attributes(try POSIX.status(descriptor: descriptor))
        }
    }

    func setAttributes(_ changes: AttributeChanges) async throws(StorageError) {
        if self.readOnly { throw StorageError.readOnlySession }
        var masked = changes
        masked.permissions = changes.permissions.map { $0 & self.permissionMask }
        let applied = masked
        try await self.onPool { descriptor throws(StorageError) in try POSIX.apply(applied, descriptor: descriptor) }
    }

    func synchronize() async throws(StorageError) {
        try await self.onPool { descriptor throws(StorageError) in try POSIX.check(fsync(descriptor)) }
    }

    func fileSystemStatistics() async throws(StorageError) -> FileSystemStatistics {
        try await self.onPool { descriptor throws(StorageError) in try POSIX.fileSystemStatistics(descriptor: descriptor) }
    }

    /// A file opened only for reading has nothing to report. On the local file systems of
    /// `NonBlockingFileAccess` close(2) reports no write error either: they define no flush
    /// operation, and their deferred write errors reach fsync(2) alone.
    var closeMayReportErrors: Bool { !self.readsOnly && self.fileSystem == .other }

    /// `close()` on the calling thread, which may block (a thread-pool job).
    func closeBlocking() throws(StorageError) {
        guard !self.closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try POSIX.check(Glibc.close(self.descriptor))
    }

    func close() async throws(StorageError) {
        guard !self.closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let descriptor = self.descriptor
        if self.readsOnly, self.fileSystem != .other {
            try POSIX.check(Glibc.close(descriptor))
            return
        }
        try await Blocking.run(on: self.pool) { () throws(StorageError) in
            // close(2) may report a delayed write error (NFS, quota); the client must hear of it.
            try POSIX.check(Glibc.close(descriptor))
        }
    }

    deinit {
        // A file dropped without close() is a bug in its owner; don't leak the descriptor anyway.
        if !self.closed.load(ordering: .acquiring) {
            _ = Glibc.close(self.descriptor)
        }
    }
}
