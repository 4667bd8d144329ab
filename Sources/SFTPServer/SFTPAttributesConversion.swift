import SFTPProtocol
import WharfCore

extension SFTPFileAttributes {
    init(_ attributes: FileAttributes) {
        self.init(
            size: attributes.size,
            uidgid: (attributes.userID, attributes.groupID),
            permissions: attributes.mode,
            accessModificationTime: (
                UInt32(clamping: max(0, attributes.accessTime)), UInt32(clamping: max(0, attributes.modificationTime))
            )
        )
    }
}

extension AttributeChanges {
    init(_ attributes: SFTPFileAttributes) {
        self.init(
            size: attributes.size,
            permissions: attributes.permissions.map { $0 & 0o7777 },
            userID: attributes.uidgid?.uid,
            groupID: attributes.uidgid?.gid,
            accessTime: attributes.accessModificationTime.map { Int64($0.atime) },
            modificationTime: attributes.accessModificationTime.map { Int64($0.mtime) }
        )
    }
}

extension OpenOptions {
    init(_ flags: SFTPOpenFlags) {
        var options: OpenOptions = []
        if flags.contains(.read) { options.insert(.read) }
        if flags.contains(.write) { options.insert(.write) }
        if flags.contains(.append) { options.insert([.append, .write]) }
        if flags.contains(.create) { options.insert(.create) }
        if flags.contains(.truncate) { options.insert(.truncate) }
        if flags.contains(.exclusive) { options.insert(.exclusive) }
        self = options
    }
}
