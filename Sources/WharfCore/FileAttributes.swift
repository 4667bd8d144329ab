/// What a file is, from the file type bits of its mode.
public enum FileType: Sendable, Hashable {
    case regular, directory, symbolicLink, characterDevice, blockDevice, fifo, socket, unknown

    /// The `st_mode` file type bits (S_IFMT).
    public init(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .regular
        case 0o040000: self = .directory
        case 0o120000: self = .symbolicLink
        case 0o020000: self = .characterDevice
        case 0o060000: self = .blockDevice
        case 0o010000: self = .fifo
        case 0o140000: self = .socket
        default: self = .unknown
        }
    }
}

/// A file's metadata as the storage layer reports it, independent of any protocol.
public struct FileAttributes: Sendable, Hashable {
    public var size: UInt64
    /// The full `st_mode`, type bits included.
    public var mode: UInt32
    public var userID: UInt32
    public var groupID: UInt32
    public var linkCount: UInt32
    /// Seconds since the epoch.
    public var accessTime: Int64
    public var modificationTime: Int64
    /// Names for `ls -l` style listings, when the storage knows them.
    public var userName: String?
    public var groupName: String?
    /// Device and inode, where the storage has them: what makes an entry unique (MLSx `unique`).
    public var fileIdentity: FileIdentity?

    public init(
        size: UInt64, mode: UInt32, userID: UInt32 = 0, groupID: UInt32 = 0, linkCount: UInt32 = 1,
        accessTime: Int64 = 0, modificationTime: Int64 = 0, userName: String? = nil, groupName: String? = nil
    ) {
        self.size = size
        self.mode = mode
        self.userID = userID
        self.groupID = groupID
        self.linkCount = linkCount
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.userName = userName
        self.groupName = groupName
    }

    public var type: FileType { FileType(mode: self.mode) }
    public var permissions: UInt32 { self.mode & 0o7777 }
}

/// A file's identity on its storage: equal for two paths to the same file (hard links).
public struct FileIdentity: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// `801g1f2c` style: device and inode in hex, as vsftpd and pyftpdlib print the unique fact.
    public var uniqueFact: String { String(self.device, radix: 16) + "g" + String(self.inode, radix: 16) }
}

/// The changes a client asks for in SETSTAT-like requests; nil fields stay as they are.
public struct AttributeChanges: Sendable, Hashable {
    public var size: UInt64?
    public var permissions: UInt32?
    public var userID: UInt32?
    public var groupID: UInt32?
    public var accessTime: Int64?
    public var modificationTime: Int64?

    public init(
        size: UInt64? = nil, permissions: UInt32? = nil, userID: UInt32? = nil, groupID: UInt32? = nil,
        accessTime: Int64? = nil, modificationTime: Int64? = nil
    ) {
        self.size = size
        self.permissions = permissions
        self.userID = userID
        self.groupID = groupID
        self.accessTime = accessTime
        self.modificationTime = modificationTime
    }

    public var isEmpty: Bool { self == AttributeChanges() }
    public var changesOwnership: Bool { self.userID != nil || self.groupID != nil }
}

/// `statvfs` figures, as OpenSSH's statvfs@openssh.com extension carries them.
public struct FileSystemStatistics: Sendable, Hashable {
    public var blockSize: UInt64
    public var fragmentSize: UInt64
    public var blocks: UInt64
    public var freeBlocks: UInt64
    public var availableBlocks: UInt64
    public var files: UInt64
    public var freeFiles: UInt64
    public var availableFiles: UInt64
    public var fileSystemID: UInt64
    public var flags: UInt64
    public var maximumNameLength: UInt64

    public init(
        blockSize: UInt64, fragmentSize: UInt64, blocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64,
        files: UInt64, freeFiles: UInt64, availableFiles: UInt64, fileSystemID: UInt64, flags: UInt64,
        maximumNameLength: UInt64
    ) {
        self.blockSize = blockSize
        self.fragmentSize = fragmentSize
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.files = files
        self.freeFiles = freeFiles
        self.availableFiles = availableFiles
        self.fileSystemID = fileSystemID
        self.flags = flags
        self.maximumNameLength = maximumNameLength
    }
}

/// One entry of a directory listing.
public struct DirectoryEntry: Sendable, Hashable {
    public var name: String
    public var attributes: FileAttributes

    public init(name: String, attributes: FileAttributes) {
        self.name = name
        self.attributes = attributes
    }
}
