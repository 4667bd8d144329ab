import NIOCore

/// The payloads of the SSH_FXP_EXTENDED requests Wharf serves (OpenSSH's PROTOCOL file and
/// draft-ietf-secsh-filexfer-extensions).
public enum SFTPExtendedRequest: Sendable {
    case posixRename(oldPath: String, newPath: String)
    case statvfs(path: String)
    case fstatvfs(handle: ByteBuffer)
    case hardlink(oldPath: String, newPath: String)
    case fsync(handle: ByteBuffer)
    case lsetstat(path: String, attributes: SFTPFileAttributes)
    case limits
    case expandPath(path: String)
    case copyData(
        readHandle: ByteBuffer, readOffset: UInt64, readLength: UInt64, writeHandle: ByteBuffer, writeOffset: UInt64)
    case homeDirectory(username: String)
    case usersGroupsByID(uids: [UInt32], gids: [UInt32])
    case checkFile(target: CheckFileTarget, algorithms: [String], startOffset: UInt64, length: UInt64, blockSize: UInt32)

    public enum CheckFileTarget: Sendable {
        case path(String)
        case handle(ByteBuffer)
    }

    /// Wire names, as advertised in the VERSION packet.
    public enum Name {
        public static let posixRename = "posix-rename@openssh.com"
        public static let statvfs = "statvfs@openssh.com"
        public static let fstatvfs = "fstatvfs@openssh.com"
        public static let hardlink = "hardlink@openssh.com"
        public static let fsync = "fsync@openssh.com"
        public static let lsetstat = "lsetstat@openssh.com"
        public static let limits = "limits@openssh.com"
        public static let expandPath = "expand-path@openssh.com"
        public static let copyData = "copy-data"
        public static let homeDirectory = "home-directory"
        public static let usersGroupsByID = "users-groups-by-id@openssh.com"
        public static let checkFileName = "check-file-name"
        public static let checkFileHandle = "check-file-handle"
        /// paramiko's `SFTPFile.check` sends this name with a handle.
        public static let checkFileLegacy = "check-file"
    }

    /// Decodes the payload of an extended request; nil when the name is not one we know.
    public init?(name: String, payload: ByteBuffer) throws(SFTPProtocolError) {
        let truncated = SFTPProtocolError.malformed("truncated \(name) request")
        var fields = SFTPFieldReader(buffer: payload, truncated: truncated)
        func idList() throws(SFTPProtocolError) -> [UInt32] {
            var list = try fields.bytes()
            guard list.readableBytes % 4 == 0 else { throw SFTPProtocolError.malformed("id list not a multiple of 4") }
            var ids: [UInt32] = []
            ids.reserveCapacity(list.readableBytes / 4)
            while let id = list.readInteger(as: UInt32.self) { ids.append(id) }
            return ids
        }

        switch name {
        case Name.posixRename:
            let old = try fields.string()
            self = .posixRename(oldPath: old, newPath: try fields.string())
        case Name.statvfs: self = .statvfs(path: try fields.string())
        case Name.fstatvfs: self = .fstatvfs(handle: try fields.bytes())
        case Name.hardlink:
            let old = try fields.string()
            self = .hardlink(oldPath: old, newPath: try fields.string())
        case Name.fsync: self = .fsync(handle: try fields.bytes())
        case Name.lsetstat:
            let path = try fields.string()
            self = .lsetstat(path: path, attributes: try fields.attributes())
        case Name.limits: self = .limits
        case Name.expandPath: self = .expandPath(path: try fields.string())
        case Name.copyData:
            let readHandle = try fields.bytes()
            let readOffset = try fields.uint64()
            let readLength = try fields.uint64()
            let writeHandle = try fields.bytes()
            self = .copyData(
                readHandle: readHandle, readOffset: readOffset, readLength: readLength,
                writeHandle: writeHandle, writeOffset: try fields.uint64())
        case Name.homeDirectory: self = .homeDirectory(username: try fields.string())
        case Name.usersGroupsByID:
            let uids = try idList()
            self = .usersGroupsByID(uids: uids, gids: try idList())
        case Name.checkFileName, Name.checkFileHandle, Name.checkFileLegacy:
            let target: CheckFileTarget = name == Name.checkFileName ? .path(try fields.string()) : .handle(try fields.bytes())
            let algorithms = try fields.string().split(separator: ",").map { String($0) }
            let start = try fields.uint64()
            let length = try fields.uint64()
            self = .checkFile(
                target: target, algorithms: algorithms, startOffset: start, length: length, blockSize: try fields.uint32())
        default:
            return nil
        }
    }
}
