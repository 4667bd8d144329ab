#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import WharfCore

/// Thin wrappers over the system calls the local storage uses. They block: call them only on the
/// storage's thread pool, never on an event loop.
enum POSIX {
    /// UTIME_OMIT from <sys/stat.h>, a macro Swift does not import.
    static let utimeOmit = (1 << 30) - 2

    static func fail(_ code: Int32 = errno) -> StorageError { StorageError(errno: code) }

    static func realPath(_ path: String) throws(StorageError) -> String {
        guard let resolved = realpath(path, nil) else { throw fail() }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func status(_ path: String, followingSymlinks: Bool) throws(StorageError) -> stat {
        var info = stat()
        let result = followingSymlinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { throw fail() }
        return info
    }

    static func status(descriptor: Int32) throws(StorageError) -> stat {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw fail() }
        return info
    }

    static func attributes(_ info: stat) -> FileAttributes {
        var attributes = FileAttributes(
            size: UInt64(max(0, info.st_size)),
            mode: UInt32(info.st_mode),
            userID: UInt32(info.st_uid),
            groupID: UInt32(info.st_gid),
            linkCount: UInt32(truncatingIfNeeded: info.st_nlink),
            accessTime: Int64(info.st_atim.tv_sec),
            modificationTime: Int64(info.st_mtim.tv_sec)
        )
        attributes.fileIdentity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        return attributes
    }

    static func check(_ result: Int32) throws(StorageError) {
        guard result == 0 else { throw fail() }
    }

    /// Applies changes in OpenSSH's order: size, permissions, times, then ownership.
    static func apply(_ changes: AttributeChanges, path: String, followingSymlinks: Bool) throws(StorageError) {
        if let size = changes.size {
            guard size <= UInt64(Int64.max) else { throw fail(EFBIG) }
            try check(truncate(path, off_t(size)))
        }
        if let permissions = changes.permissions {
            if followingSymlinks {
                try check(chmod(path, mode_t(permissions & 0o7777)))
            } else {
                // Linux cannot chmod a symlink itself; fchmodat would fail with EOPNOTSUPP.
                let info = try status(path, followingSymlinks: false)
                if (UInt32(info.st_mode) & 0o170000) != 0o120000 {
                    try check(chmod(path, mode_t(permissions & 0o7777)))
                }
            }
        }
        if changes.accessTime != nil || changes.modificationTime != nil {
            let times = try timeSpecs(for: changes, current: { () throws(StorageError) in
                try status(path, followingSymlinks: followingSymlinks)
            })
            let flags: Int32 = followingSymlinks ? 0 : AT_SYMLINK_NOFOLLOW
            let result = times.withUnsafeBufferPointer { utimensat(AT_FDCWD, path, $0.baseAddress, flags) }
            try check(result)
        }
        if changes.changesOwnership {
            let uid = changes.userID.map { uid_t($0) } ?? uid_t.max
            let gid = changes.groupID.map { gid_t($0) } ?? gid_t.max
            try check(followingSymlinks ? chown(path, uid, gid) : lchown(path, uid, gid))
        }
    }

    static func apply(_ changes: AttributeChanges, descriptor: Int32) throws(StorageError) {
        if let size = changes.size {
            guard size <= UInt64(Int64.max) else { throw fail(EFBIG) }
            try check(ftruncate(descriptor, off_t(size)))
        }
        if let permissions = changes.permissions {
            try check(fchmod(descriptor, mode_t(permissions & 0o7777)))
        }
        if changes.accessTime != nil || changes.modificationTime != nil {
            let times = try timeSpecs(for: changes, current: { () throws(StorageError) in
                try status(descriptor: descriptor)
            })
            let result = times.withUnsafeBufferPointer { futimens(descriptor, $0.baseAddress) }
            try check(result)
        }
        if changes.changesOwnership {
            let uid = changes.userID.map { uid_t($0) } ?? uid_t.max
            let gid = changes.groupID.map { gid_t($0) } ?? gid_t.max
            try check(fchown(descriptor, uid, gid))
        }
    }

    private static func timeSpecs(
        for changes: AttributeChanges, current: () throws(StorageError) -> stat
    ) throws(StorageError) -> [timespec] {
        // SFTP v3 always sends both; FTP's MFMT only the mtime. UTIME_OMIT keeps the other.
        let omit = timespec(tv_sec: 0, tv_nsec: utimeOmit)
        let atime = changes.accessTime.map { timespec(tv_sec: time_t($0), tv_nsec: 0) } ?? omit
        let mtime = changes.modificationTime.map { timespec(tv_sec: time_t($0), tv_nsec: 0) } ?? omit
        return [atime, mtime]
    }

    static func readLink(_ path: String) throws(StorageError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw fail() }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func fileSystemStatistics(_ info: statvfs) -> FileSystemStatistics {
        FileSystemStatistics(
            blockSize: UInt64(info.f_bsize), fragmentSize: UInt64(info.f_frsize),
            blocks: UInt64(info.f_blocks), freeBlocks: UInt64(info.f_bfree), availableBlocks: UInt64(info.f_bavail),
            files: UInt64(info.f_files), freeFiles: UInt64(info.f_ffree), availableFiles: UInt64(info.f_favail),
            fileSystemID: UInt64(info.f_fsid), flags: UInt64(info.f_flag), maximumNameLength: UInt64(info.f_namemax))
    }

    static func fileSystemStatistics(path: String) throws(StorageError) -> FileSystemStatistics {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw fail() }
        return fileSystemStatistics(info)
    }

    static func fileSystemStatistics(descriptor: Int32) throws(StorageError) -> FileSystemStatistics {
        var info = statvfs()
        guard fstatvfs(descriptor, &info) == 0 else { throw fail() }
        return fileSystemStatistics(info)
    }

    static func userName(_ uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result) == 0, let found = result,
            let name = found.pointee.pw_name
        else { return nil }
        return String(cString: name)
    }

    static func groupName(_ gid: UInt32) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrgid_r(gid_t(gid), &entry, &buffer, buffer.count, &result) == 0, let found = result,
            let name = found.pointee.gr_name
        else { return nil }
        return String(cString: name)
    }

    /// The invoking user's home: $HOME, else the password database.
    static func invokingUserHome() -> String {
        if let home = getenv("HOME") { return String(cString: home) }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result) == 0, let found = result,
            let dir = found.pointee.pw_dir
        {
            return String(cString: dir)
        }
        return "/"
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
