import WharfCore

/// Turns a client's path into the real path to hand to the kernel.
///
/// Jailed: the client's path is normalized lexically (".." stops at the home), then every directory
/// on the way is resolved with realpath(3) and must stay inside the home; so a symlink that leads
/// out, however it was made, cannot be followed. Unrestricted (the drop-in sftp-server): paths go
/// to the kernel as the client wrote them, relative ones against the start directory.
struct PathResolver: Sendable {
    enum Confinement: Sendable {
        case jailed(root: String)
        case unrestricted(startDirectory: String)
    }

    let confinement: Confinement

    var isJailed: Bool {
        if case .jailed = self.confinement { return true }
        return false
    }

    /// The real path for `path`. With `followingFinal`, a final symlink is resolved (and checked);
    /// without, the path names the entry itself (for lstat, remove, rename, readlink…).
    func resolve(_ path: String, followingFinal: Bool) throws(StorageError) -> String {
        switch self.confinement {
        case .unrestricted(let start):
            if path.hasPrefix("/") { return path }
            if path.isEmpty || path == "." { return start }
            return start == "/" ? "/" + path : start + "/" + path
        case .jailed(let root):
            let virtual = VirtualPath(path)
            if virtual.isRoot { return root }
            if followingFinal, let resolved = try? POSIX.realPath(root + virtual.description) {
                guard Self.isInside(resolved, root: root) else { throw StorageError.outsideHome }
                return resolved
            }
            // The final component does not resolve (it does not exist, or is a dangling link),
            // or must not be followed: resolve its directory and name the entry in it.
            let parent = try POSIX.realPath(root + virtual.parent.description)
            guard Self.isInside(parent, root: root) else { throw StorageError.outsideHome }
            return parent == "/" ? "/" + virtual.name : parent + "/" + virtual.name
        }
    }

    /// The client-visible path for a real path, when it lies inside the jail.
    func virtualPath(forReal real: String) -> String? {
        guard case .jailed(let root) = self.confinement else { return real }
        guard Self.isInside(real, root: root) else { return nil }
        let rest = real.dropFirst(root == "/" ? 0 : root.count)
        return rest.isEmpty ? "/" : String(rest)
    }

    static func isInside(_ path: String, root: String) -> Bool {
        root == "/" || path == root || path.hasPrefix(root + "/")
    }
}
