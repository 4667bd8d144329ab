#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSystemShims
import NIOCore
import WharfCore

/// File system calls that may run where the caller is, an event loop included, because each one
/// either completes without waiting for a device or fails at once; on failure the caller makes the
/// ordinary call on the thread pool.
///
/// Why: a trip to the pool costs a wake-up of a pool thread and another of the event loop (50-100 us
/// on a 2-core VM), and a small-file download (OPEN, READ, the READ that finds the end, CLOSE) made
/// three of them where OpenSSH's sftp-server makes plain system calls. Linux can answer from its
/// caches or refuse: openat2(2) with RESOLVE_CACHED (as io_uring opens inline), preadv2(2) with
/// RWF_NOWAIT (as io_uring reads inline). The rule that file I/O never blocks an event loop stands:
/// nothing here waits for a disk, a network file system or a lock held across I/O.
enum NonBlockingFileAccess {
    /// Which file systems this applies to: local ones whose open and fstat never leave memory once
    /// the lookup is cached. A network or FUSE file system may do a round trip in open(2) itself.
    enum FileSystem: Sendable, Equatable {
        /// ext4, XFS, btrfs: reads with RWF_NOWAIT.
        case pageCached
        /// tmpfs: its pages are memory, or swap; RWF_NOWAIT is refused (EOPNOTSUPP), so a read
        /// is made inline only while no swap is configured.
        case memory
        /// Anything else: every call on the pool.
        case other

        init(type: Int) {
            switch type {
            case 0xEF53, 0x5846_5342, 0x9123_683E: self = .pageCached  // ext2/3/4, XFS, btrfs
            case 0x0102_1994: self = .memory  // tmpfs
            default: self = .other
            }
        }

        /// The file system of an open descriptor (fstatfs(2): blocking on a network file system,
        /// so call it on the pool).
        init(descriptor: CInt) {
            self.init(type: wharf_file_system_type(descriptor))
        }
    }

    /// Reads larger than this go to the pool even when they could be made here: there the copy
    /// runs beside the event loop's encryption and sending, which a big download needs on two
    /// cores; below it, the trip costs more than the copy (64 KiB: ~10 us).
    static let largestInlineRead = 64 * 1024

    /// Opens the regular file at `relativePath` below `directory` for reading, when the kernel has
    /// every component cached and the path stays below `directory` and on its mount (symlinks
    /// included). Nil otherwise (not cached, not a regular file, a symlink that leaves, any error):
    /// the caller then opens it the ordinary way, which also gives the authoritative error.
    static func openForReading(below directory: CInt, relativePath: String) -> (descriptor: CInt, size: UInt64)? {
        guard !relativePath.isEmpty else { return nil }
        let descriptor = wharf_open_cached_beneath(directory, relativePath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (UInt32(info.st_mode) & 0o170000) == 0o100000,
            fcntl(descriptor, F_SETFL, 0) == 0  // drop O_NONBLOCK: the file is then as open(2) leaves it
        else {
            _ = close(descriptor)
            return nil
        }
        return (descriptor, UInt64(max(0, info.st_size)))
    }

    /// The status of the entry at `relativePath` below `directory`, resolved as `openForReading`
    /// resolves (a final symlink followed or not), when the kernel has every component cached.
    /// Nil otherwise: the ordinary way then gives the answer, or the error.
    static func status(below directory: CInt, relativePath: String, followingSymlinks: Bool) -> stat? {
        var info = stat()
        guard wharf_status_cached_beneath(directory, relativePath, followingSymlinks ? 1 : 0, &info) == 0 else {
            return nil
        }
        return info
    }

    /// A directory found without blocking: what realpath(3) and stat(2) would have said.
    struct CachedDirectory: Equatable {
        let canonicalPath: String
        let device: UInt64
        let inode: UInt64
    }

    /// The directory at the absolute `path`, when the kernel has every component of the lookup
    /// cached (a home directory at a login). Nil otherwise (not cached, not a directory, any
    /// error): the caller then resolves it the ordinary way, on the pool.
    static func cachedDirectory(atAbsolutePath path: String) -> CachedDirectory? {
        guard path.hasPrefix("/") else { return nil }
        var device: UInt64 = 0
        var inode: UInt64 = 0
        let capacity = Int(PATH_MAX) + 1
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { canonical -> CachedDirectory? in
            guard let base = canonical.baseAddress,
                wharf_directory_cached(path, &device, &inode, base, capacity) == 0
            else { return nil }
            return CachedDirectory(canonicalPath: String(cString: base), device: device, inode: inode)
        }
    }

    /// Whether every page of `length` bytes from `offset` is in the page cache, asked with
    /// cachestat(2), which maps nothing (mincore(2) needs an mmap and its munmap, a TLB shootdown
    /// on every core the process runs on). False when the kernel cannot tell (before 6.5, or not
    /// permitted): the caller then asks on the pool the old way.
    static func isCached(_ descriptor: CInt, at offset: UInt64, length: Int) -> Bool {
        guard length > 0, offset <= UInt64(Int64.max) - UInt64(length) else { return true }
        let pageSize = UInt64(max(4096, sysconf(Int32(_SC_PAGESIZE))))
        let pages = (offset + UInt64(length) - 1) / pageSize - offset / pageSize + 1
        let cached = wharf_cached_pages(descriptor, offset, UInt64(length))
        return cached >= 0 && UInt64(cached) >= pages
    }

    /// The outcome of a read tried here.
    enum ReadAttempt {
        case done(ByteBuffer)
        case failed(CInt)
        /// The data is not in memory, or the file system cannot tell: read on the pool.
        case wouldBlock
    }

    /// Reads up to `capacity` bytes at `offset` from what is in memory.
    static func read(
        _ descriptor: CInt, at offset: UInt64, capacity: Int, fileSystem: FileSystem
    ) -> ReadAttempt {
        guard capacity <= self.largestInlineRead else { return .wouldBlock }
        switch fileSystem {
        case .other:
            return .wouldBlock
        case .memory:
            // Checked on every read: swap can be turned on while a file is open.
            guard wharf_swap_is_off() == 1 else { return .wouldBlock }
        case .pageCached:
            break
        }
        let (buffer, failure) = PositionalRead.fill(capacity: capacity, from: offset) { base, length, position in
            fileSystem == .memory
                ? pread(descriptor, base, length, position) : wharf_pread_nowait(descriptor, base, length, position)
        }
        switch failure {
        case nil:
            return .done(buffer)
        case EAGAIN?, EOPNOTSUPP?:
            // Part of the range may have been read; the pool reads all of it again.
            return .wouldBlock
        case let failure?:
            return buffer.readableBytes > 0 ? .done(buffer) : .failed(failure)
        }
    }
}
