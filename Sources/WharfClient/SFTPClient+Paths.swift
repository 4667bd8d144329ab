import SFTPProtocol

/// Path operations built from single requests: `mkdir -p` and `rm -r`.
extension RemoteFileSystem {
    /// Creates `path` and its missing parents; an existing directory is fine.
    public func makeDirectories(_ path: String) async throws {
        if let attributes = try? await self.stat(path) {
            guard attributes.isDirectory else { throw SFTPClientError.status(code: .failure, message: "File exists", path: path) }
            return
        }
        let parent = RemotePath.parent(path)
        if parent != path, !parent.isEmpty, parent != ".", parent != "/" {
            try await self.makeDirectories(parent)
        }
        do {
            try await self.makeDirectory(path, permissions: nil)
        } catch {
            // Someone else (a parallel transfer) may have made it meanwhile.
            guard let attributes = try? await self.stat(path), attributes.isDirectory else { throw error }
        }
    }

    /// Removes a directory tree depth first; symbolic links are removed, not followed.
    public func removeTree(_ path: String) async throws {
        for entry in try await self.listDirectory(path, includingDotEntries: false) {
            let child = RemotePath.join(path, entry.filename)
            if entry.attributes.isDirectory {
                try await self.removeTree(child)
            } else {
                try await self.removeFile(child)
            }
        }
        try await self.removeDirectory(path)
    }
}

extension SFTPFileAttributes {
    /// The extended pair that marks attributes whose permission bits the server did not say (an
    /// FTP listing or SIZE/MDTM without a mode): `permissions` then holds the file type bits only.
    static let unknownPermissionBitsTag = "permissions-unknown@wharf"

    /// The permission bits (`0o7777`), nil when the server did not say them.
    public var permissionBits: UInt32? {
        guard let permissions = self.permissions, !self.extended.contains(where: { $0.type == Self.unknownPermissionBitsTag })
        else { return nil }
        return permissions & 0o7777
    }

    /// Attributes knowing the file type (`typeBits`, e.g. `0o100000`) but not the permissions.
    static func withUnknownPermissionBits(typeBits: UInt32, size: UInt64? = nil, modificationTime: UInt32? = nil) -> SFTPFileAttributes {
        var attributes = SFTPFileAttributes(
            size: size, permissions: typeBits, accessModificationTime: modificationTime.map { ($0, $0) })
        attributes.extended = [(Self.unknownPermissionBitsTag, "")]
        return attributes
    }

    public var isDirectory: Bool { self.permissions.map { $0 & 0o170000 == 0o040000 } ?? false }
    public var isRegularFile: Bool { self.permissions.map { $0 & 0o170000 == 0o100000 } ?? false }
    public var isSymbolicLink: Bool { self.permissions.map { $0 & 0o170000 == 0o120000 } ?? false }
}

/// Remote path arithmetic: SFTP paths are "/"-separated whatever the server's system.
public enum RemotePath {
    public static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty || directory == "." { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    public static func lastComponent(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    public static func parent(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }
}
