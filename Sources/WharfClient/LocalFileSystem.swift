import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a path is, from the file type bits of a mode (`st_mode`, or SFTP's `permissions`).
public enum FileKind: Sendable, Hashable {
    case file
    case directory
    case symbolicLink
    case other

    /// The kind the type bits of `mode` give.
    public init(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .file
        case 0o040000: self = .directory
        case 0o120000: self = .symbolicLink
        default: self = .other
        }
    }
}

/// The local file-system calls transfers need besides reading and writing (`LocalFile`): status,
/// directories, renames, times. Every call blocks, so each runs on a thread pool, never on the
/// cooperative pool or an event loop.
enum LocalFileSystem {
    struct Status: Sendable, Hashable {
        var kind: FileKind
        var size: UInt64
        /// The full `st_mode`.
        var mode: UInt32
        /// Seconds since the epoch.
        var accessTime: Int64
        var modificationTime: Int64
    }

    /// One entry of a directory, `lstat`ed: symbolic links are reported as such, not followed.
    struct Entry: Sendable, Hashable {
        var name: String
        var status: Status
    }

    static var pool: NIOThreadPool { .singleton }

    /// The status of a path, or nil when it does not exist (ENOENT or ENOTDIR).
    static func status(_ path: String, followingSymlinks: Bool = true) async throws -> Status? {
        try await self.pool.runIfActive { () throws -> Status? in
            try self.blockingStatus(path, followingSymlinks: followingSymlinks)
        }
    }

    /// Creates a directory; an existing directory at `path` is not an error. Returns whether it was created.
    @discardableResult
    static func makeDirectory(_ path: String, permissions: UInt32 = 0o777) async throws -> Bool {
        try await self.pool.runIfActive { () throws -> Bool in
            if mkdir(path, mode_t(permissions)) == 0 { return true }
            let code = errno
            if code == EEXIST, let existing = try? self.blockingStatus(path, followingSymlinks: true),
                existing.kind == .directory
            {
                return false
            }
            throw LocalFileError(path: path, operation: "mkdir", errno: code)
        }
    }

    /// Creates a directory and any missing parents (`mkdir -p`).
    static func makeDirectories(_ path: String) async throws {
        try await self.pool.runIfActive { () throws in
            var prefix = path.hasPrefix("/") ? "/" : ""
            for component in path.split(separator: "/", omittingEmptySubsequences: true) {
                prefix += component
                if mkdir(prefix, 0o777) != 0 {
                    let code = errno
                    let existing = try? self.blockingStatus(prefix, followingSymlinks: true)
                    guard code == EEXIST, existing?.kind == .directory else {
                        throw LocalFileError(path: prefix, operation: "mkdir", errno: code)
                    }
                }
                prefix += "/"
            }
        }
    }

    /// Renames `source` over `destination` (atomically replacing a file there).
    static func renameItem(_ source: String, to destination: String) async throws {
        try await self.pool.runIfActive { () throws in
            guard rename(source, destination) == 0 else {
                throw LocalFileError(path: destination, operation: "rename", errno: errno)
            }
        }
    }

    /// Removes a file or a symbolic link (never what it points to).
    static func removeFile(_ path: String) async throws {
        try await self.pool.runIfActive { () throws in
            guard unlink(path) == 0 else { throw LocalFileError(path: path, operation: "unlink", errno: errno) }
        }
    }

    /// Removes an empty directory.
    static func removeDirectory(_ path: String) async throws {
        try await self.pool.runIfActive { () throws in
            guard rmdir(path) == 0 else { throw LocalFileError(path: path, operation: "rmdir", errno: errno) }
        }
    }

    /// Sets the access and modification times (whole seconds), following symbolic links.
    static func setTimes(_ path: String, access: Int64, modification: Int64) async throws {
        try await self.pool.runIfActive { () throws in
            let times = [timespec(tv_sec: time_t(access), tv_nsec: 0), timespec(tv_sec: time_t(modification), tv_nsec: 0)]
            let result = times.withUnsafeBufferPointer { utimensat(AT_FDCWD, path, $0.baseAddress, 0) }
            guard result == 0 else { throw LocalFileError(path: path, operation: "utimensat", errno: errno) }
        }
    }

    /// Sets the permission bits (`& 0o7777`).
    static func setPermissions(_ path: String, _ permissions: UInt32) async throws {
        try await self.pool.runIfActive { () throws in
            guard chmod(path, mode_t(permissions & 0o7777)) == 0 else {
                throw LocalFileError(path: path, operation: "chmod", errno: errno)
            }
        }
    }

    /// The entries of a directory, without `.` and `..`, each `lstat`ed, sorted by name.
    static func list(_ path: String) async throws -> [Entry] {
        try await self.pool.runIfActive { () throws -> [Entry] in
            try self.blockingList(path)
        }
    }

    // MARK: Blocking implementations (thread pool only)

    private static func blockingStatus(_ path: String, followingSymlinks: Bool) throws -> Status? {
        var info = stat()
        let result = followingSymlinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw LocalFileError(path: path, operation: "stat", errno: code)
        }
        return self.status(of: info)
    }

    private static func status(of info: stat) -> Status {
        #if canImport(Darwin)
        let (atime, mtime) = (Int64(info.st_atimespec.tv_sec), Int64(info.st_mtimespec.tv_sec))
        #else
        let (atime, mtime) = (Int64(info.st_atim.tv_sec), Int64(info.st_mtim.tv_sec))
        #endif
        let mode = UInt32(info.st_mode)
        return Status(
            kind: FileKind(mode: mode), size: UInt64(max(0, info.st_size)), mode: mode, accessTime: atime,
            modificationTime: mtime)
    }

    private static func blockingList(_ path: String) throws -> [Entry] {
        guard let directory = opendir(path) else { throw LocalFileError(path: path, operation: "opendir", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw LocalFileError(path: path, operation: "readdir", errno: errno) }
                break
            }
            var raw = entry.pointee.d_name
            let name = withUnsafeBytes(of: &raw) { bytes in
                String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        let base = path.hasSuffix("/") ? path : path + "/"
        var entries: [Entry] = []
        entries.reserveCapacity(names.count)
        for name in names.sorted() {
            // Gone since readdir: not an entry any more.
            guard let status = try self.blockingStatus(base + name, followingSymlinks: false) else { continue }
            entries.append(Entry(name: name, status: status))
        }
        return entries
    }
}
