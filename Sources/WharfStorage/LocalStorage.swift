#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix
import WharfCore

/// The local POSIX file system as a `Storage`. Every system call that may wait runs on `pool`;
/// `NonBlockingFileAccess` says which few are tried first where the caller is.
///
/// A value holds one reference (`LocalStorageRoot`), so `any Storage` keeps it inline without a
/// box of its own, and sessions of the same home can share the root (`LocalStorageCache`).
public struct LocalStorage: Storage {
    private let root: LocalStorageRoot

    private var resolver: PathResolver { self.root.resolver }
    private var pool: NIOThreadPool { self.root.pool }
    private var names: AccountNameCache { self.root.names }
    /// The jail's root, held open after the first open or status: read-only opens and statuses
    /// below it are tried inline.
    private var jail: JailDirectory? { self.root.jail }
    public var startDirectory: String { self.root.startDirectory }
    public var homeDirectory: String { self.root.homeDirectory }
    public var isReadOnly: Bool { self.root.isReadOnly }

    /// A storage jailed in `root`: the client sees `root` as "/", and nothing outside it.
    public init(jailedAt root: String, pool: NIOThreadPool, readOnly: Bool = false) throws(StorageError) {
        self.root = LocalStorageRoot(jailedAt: try POSIX.realPath(root), pool: pool, readOnly: readOnly)
    }

    /// The invoking user's whole file system, as OpenSSH's sftp-server serves it.
    public init(unrestrictedStartingAt start: String?, pool: NIOThreadPool, readOnly: Bool = false) throws(StorageError) {
        self.root = LocalStorageRoot(
            unrestrictedStartingAt: try POSIX.realPath(start ?? POSIX.currentDirectory()),
            home: POSIX.invokingUserHome(), pool: pool, readOnly: readOnly)
    }

    init(sharing root: LocalStorageRoot) {
        self.root = root
    }

    /// Whether both use the same root (same jail, same caches): see `LocalStorageCache`.
    func sharesRoot(with other: LocalStorage) -> Bool {
        self.root === other.root
    }

    private func blocking<T: Sendable>(_ body: @Sendable @escaping () throws(StorageError) -> T) async throws(StorageError) -> T {
        try await Blocking.run(on: self.pool, body)
    }

    private func refuseIfReadOnly() throws(StorageError) {
        if self.isReadOnly { throw StorageError.readOnlySession }
    }

    /// Jailed users may not set setuid, setgid or sticky bits: the server may run as root.
    private func allowedPermissions(_ permissions: UInt32) -> UInt32 {
        self.resolver.isJailed ? permissions & 0o777 : permissions & 0o7777
    }

    public func attributes(at path: String, followingSymlinks: Bool) async throws(StorageError) -> FileAttributes {
        let resolver = self.resolver
        let names = self.names
        let jail = self.jail
        if let root = jail?.descriptor,
            let info = NonBlockingFileAccess.status(
                below: root.descriptor, relativePath: JailDirectory.relativePath(path), followingSymlinks: followingSymlinks)
        {
            var attributes = POSIX.attributes(info)
            if let cached = names.cachedNames(userID: attributes.userID, groupID: attributes.groupID) {
                attributes.userName = cached.user
                attributes.groupName = cached.group
                return attributes
            }
        }
        return try await self.blocking { () throws(StorageError) in
            jail?.openIfNeeded()
            let real = try resolver.resolve(path, followingFinal: followingSymlinks)
            var attributes = POSIX.attributes(try POSIX.status(real, followingSymlinks: followingSymlinks))
            attributes.userName = names.userName(attributes.userID)
            attributes.groupName = names.groupName(attributes.groupID)
            return attributes
        }
    }

    public func setAttributes(
        at path: String, _ changes: AttributeChanges, followingSymlinks: Bool
    ) async throws(StorageError) {
        try self.refuseIfReadOnly()
        var changes = changes
        changes.permissions = changes.permissions.map(self.allowedPermissions)
        let resolver = self.resolver
        let applied = changes
        try await self.blocking { () throws(StorageError) in
            let real = try resolver.resolve(path, followingFinal: followingSymlinks)
            try POSIX.apply(applied, path: real, followingSymlinks: followingSymlinks)
        }
    }

    public func openFile(
        at path: String, options: OpenOptions, permissions: UInt32?
    ) async throws(StorageError) -> any StorageFile {
        if options.writes { try self.refuseIfReadOnly() }
        var flags: Int32 = O_CLOEXEC
        switch (options.contains(.read), options.contains(.write) || options.contains(.append)) {
        case (true, true): flags |= O_RDWR
        case (false, true): flags |= O_WRONLY
        default: flags |= O_RDONLY
        }
        if options.contains(.append) { flags |= O_APPEND }
        if options.contains(.create) { flags |= O_CREAT }
        if options.contains(.truncate) { flags |= O_TRUNC }
        if options.contains(.exclusive) { flags |= O_EXCL }
        let resolver = self.resolver
        // In the jail every directory on the path is already resolved; a final symlink that is still
        // there is dangling, and O_CREAT through it could create a file outside: refuse it.
        if resolver.isJailed { flags |= O_NOFOLLOW }
        let mode = mode_t(self.allowedPermissions(permissions ?? 0o666))
        let permissionMask: UInt32 = resolver.isJailed ? 0o777 : 0o7777
        let readOnly = self.isReadOnly
        let pool = self.pool
        let openFlags = flags
        let jail = self.jail
        let readsOnly = options == .read
        if readsOnly, let jail, let root = jail.descriptor {
            let relativePath = JailDirectory.relativePath(path)
            if let opened = NonBlockingFileAccess.openForReading(below: root.descriptor, relativePath: relativePath) {
                return LocalFile(
                    path: path, descriptor: opened.descriptor, appends: false, readOnly: readOnly,
                    permissionMask: permissionMask, size: opened.size, pool: pool,
                    fileSystem: root.fileSystem, readsOnly: true)
            }
        }
        return try await self.blocking { () throws(StorageError) -> LocalFile in
            jail?.openIfNeeded()
            let real = try resolver.resolve(path, followingFinal: true)
            let descriptor = open(real, openFlags, mode)
            guard descriptor >= 0 else { throw POSIX.fail() }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else {
                let failure = errno
                _ = close(descriptor)
                throw POSIX.fail(failure)
            }
            if (UInt32(info.st_mode) & 0o170000) == 0o040000 {
                // open(2) succeeds on a directory for reading; SFTP clients expect a failure here.
                _ = close(descriptor)
                throw StorageError(errno: EISDIR)
            }
            return LocalFile(
                path: path, descriptor: descriptor, appends: options.contains(.append), readOnly: readOnly,
                permissionMask: permissionMask, size: UInt64(max(0, info.st_size)), pool: pool,
                fileSystem: jail?.fileSystem(ofFileOnDevice: UInt64(info.st_dev)) ?? .other, readsOnly: readsOnly)
        }
    }

    public func openDirectory(at path: String) async throws(StorageError) -> any StorageDirectory {
        let resolver = self.resolver
        let pool = self.pool
        let names = self.names
        return try await self.blocking { () throws(StorageError) -> LocalDirectory in
            let real = try resolver.resolve(path, followingFinal: true)
            guard let stream = opendir(real) else { throw POSIX.fail() }
            return LocalDirectory(path: path, stream: StreamPointer(pointer: stream), pool: pool, names: names)
        }
    }

    public func removeFile(at path: String) async throws(StorageError) {
        try self.refuseIfReadOnly()
        let resolver = self.resolver
        try await self.blocking { () throws(StorageError) in
            try POSIX.check(unlink(try resolver.resolve(path, followingFinal: false)))
        }
    }

    public func makeDirectory(at path: String, permissions: UInt32?) async throws(StorageError) {
        try self.refuseIfReadOnly()
        let resolver = self.resolver
        let mode = mode_t(self.allowedPermissions(permissions ?? 0o777))
        try await self.blocking { () throws(StorageError) in
            try POSIX.check(mkdir(try resolver.resolve(path, followingFinal: false), mode))
        }
    }

    public func removeDirectory(at path: String) async throws(StorageError) {
        try self.refuseIfReadOnly()
        let resolver = self.resolver
        try await self.blocking { () throws(StorageError) in
            let real = try resolver.resolve(path, followingFinal: false)
            if resolver.isJailed, VirtualPath(path).isRoot { throw StorageError(.permissionDenied, "Cannot remove the home directory") }
            try POSIX.check(rmdir(real))
        }
    }

    /// Both steps in one trip to the thread pool (an FTP upload's 226 waited for two).
    public func closeAndRename(_ file: any StorageFile, from source: String, to destination: String)
        async throws(StorageError)
    {
        guard let local = file as? LocalFile else {
            try await file.close()
            try await self.rename(from: source, to: destination, replacing: true)
            return
        }
        let (resolver, readOnly) = (self.resolver, self.isReadOnly)
        try await self.blocking { () throws(StorageError) in
            try local.closeBlocking()
            if readOnly { throw StorageError.readOnlySession }
            try Self.renameReplacing(source, to: destination, resolver: resolver)
        }
    }

    /// rename(2) of two jailed paths, replacing the target. Blocking: on the pool.
    private static func renameReplacing(_ source: String, to destination: String, resolver: PathResolver)
        throws(StorageError)
    {
        let from = try resolver.resolve(source, followingFinal: false)
        let to = try resolver.resolve(destination, followingFinal: false)
        try POSIX.check(Glibc.rename(from, to))
    }

    public func rename(from source: String, to destination: String, replacing: Bool) async throws(StorageError) {
        try self.refuseIfReadOnly()
        let resolver = self.resolver
        try await self.blocking { () throws(StorageError) in
            if replacing {
                try Self.renameReplacing(source, to: destination, resolver: resolver)
                return
            }
            let from = try resolver.resolve(source, followingFinal: false)
            let to = try resolver.resolve(destination, followingFinal: false)
            // SFTP v3 RENAME must not replace. Like OpenSSH: link+unlink for regular files (atomic
            // refusal when the target exists), else check then rename.
            let info = try POSIX.status(from, followingSymlinks: false)
            if (UInt32(info.st_mode) & 0o170000) == 0o100000 {
                if link(from, to) == 0 {
                    if unlink(from) != 0 {
                        let failure = errno
                        _ = unlink(to)
                        throw POSIX.fail(failure)
                    }
                    return
                }
                let failure = errno
                guard failure == EXDEV || failure == EPERM || failure == EOPNOTSUPP || failure == ENOSYS
                        || failure == EMLINK
                else { throw POSIX.fail(failure) }
            }
            var existing = stat()
            if lstat(to, &existing) == 0 { throw StorageError(errno: EEXIST) }
            try POSIX.check(Glibc.rename(from, to))
        }
    }

    public func readSymbolicLink(at path: String) async throws(StorageError) -> String {
        let resolver = self.resolver
        return try await self.blocking { () throws(StorageError) in
            let target = try POSIX.readLink(try resolver.resolve(path, followingFinal: false))
            // Jailed links are stored as real absolute paths; show the client its own view.
            if resolver.isJailed, target.hasPrefix("/") {
                return resolver.virtualPath(forReal: target) ?? target
            }
            return target
        }
    }

    public func createSymbolicLink(at linkPath: String, pointingTo target: String) async throws(StorageError) {
        try self.refuseIfReadOnly()
        let resolver = self.resolver
        try await self.blocking { () throws(StorageError) in
            let link = try resolver.resolve(linkPath, followingFinal: false)
            var stored = target
            if case .jailed(let root) = resolver.confinement {
                // The kernel resolves a relative target from the directory the link really lies in,
                // so check and rewrite it against that directory (symlinks on the way resolved).
                // Stored targets never hold ".." after a name: a leading run of ".." that stays
                // within the home, then plain names; absolute targets become real absolute paths.
                let realDirectory = String(link[..<(link.lastIndex(of: "/") ?? link.startIndex)])
                guard let virtualDirectory = resolver.virtualPath(forReal: realDirectory.isEmpty ? "/" : realDirectory) else {
                    throw StorageError.outsideHome
                }
                let linkDirectory = VirtualPath(virtualDirectory)
                if VirtualPath.climbsAboveRoot(target, relativeTo: linkDirectory) {
                    throw StorageError.outsideHome
                }
                let virtualTarget = VirtualPath(target, relativeTo: linkDirectory)
                if target.hasPrefix("/") {
                    stored = virtualTarget.isRoot ? root : (root == "/" ? "" : root) + virtualTarget.description
                } else {
                    stored = virtualTarget.relative(from: linkDirectory)
                }
            }
            try POSIX.check(symlink(stored, link))
        }
    }

    public func createHardLink(at newPath: String, to existingPath: String) async throws(StorageError) {
        try self.refuseIfReadOnly()
        let resolver = self.resolver
        try await self.blocking { () throws(StorageError) in
            let existing = try resolver.resolve(existingPath, followingFinal: false)
            let new = try resolver.resolve(newPath, followingFinal: false)
            try POSIX.check(link(existing, new))
        }
    }

    public func canonicalPath(_ path: String) async throws(StorageError) -> String {
        switch self.resolver.confinement {
        case .jailed:
            return VirtualPath(path).description
        case .unrestricted(let start):
            let absolute = path.hasPrefix("/") ? path : (start == "/" ? "/" : start + "/") + path
            if let real = try? await self.blocking({ () throws(StorageError) in try POSIX.realPath(absolute) }) {
                return real
            }
            // Like OpenSSH, a path that does not exist yet still gets a normalized answer.
            return VirtualPath(absolute).description
        }
    }

    public func fileSystemStatistics(at path: String) async throws(StorageError) -> FileSystemStatistics {
        let resolver = self.resolver
        return try await self.blocking { () throws(StorageError) in
            try POSIX.fileSystemStatistics(path: try resolver.resolve(path, followingFinal: true))
        }
    }

    public func accountNames(userIDs: [UInt32], groupIDs: [UInt32]) async -> (users: [String?], groups: [String?]) {
        let names = self.names
        let result = try? await self.blocking { () throws(StorageError) in
            (userIDs.map { names.userName($0) }, groupIDs.map { names.groupName($0) })
        }
        return result ?? (userIDs.map { _ in nil }, groupIDs.map { _ in nil })
    }
}
