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
        var buffer = payload
        let truncated = SFTPProtocolError.malformed("truncated \(name) request")
        func string() throws(SFTPProtocolError) -> String {
            guard let value = buffer.readSFTPString() else { throw truncated }
            return value
        }
        func bytes() throws(SFTPProtocolError) -> ByteBuffer {
            guard let value = buffer.readSFTPStringBuffer() else { throw truncated }
            return value
        }
        func uint32() throws(SFTPProtocolError) -> UInt32 {
            guard let value = buffer.readInteger(as: UInt32.self) else { throw truncated }
            return value
        }
        func uint64() throws(SFTPProtocolError) -> UInt64 {
            guard let value = buffer.readInteger(as: UInt64.self) else { throw truncated }
            return value
        }
        func idList() throws(SFTPProtocolError) -> [UInt32] {
            var list = try bytes()
            guard list.readableBytes % 4 == 0 else { throw SFTPProtocolError.malformed("id list not a multiple of 4") }
            var ids: [UInt32] = []
            ids.reserveCapacity(list.readableBytes / 4)
            while let id = list.readInteger(as: UInt32.self) { ids.append(id) }
            return ids
        }

        switch name {
        case Name.posixRename:
            let old = try string()
            self = .posixRename(oldPath: old, newPath: try string())
        case Name.statvfs: self = .statvfs(path: try string())
        case Name.fstatvfs: self = .fstatvfs(handle: try bytes())
        case Name.hardlink:
            let old = try string()
            self = .hardlink(oldPath: old, newPath: try string())
        case Name.fsync: self = .fsync(handle: try bytes())
        case Name.lsetstat:
            let path = try string()
            guard let attributes = buffer.readSFTPFileAttributes() else { throw truncated }
            self = .lsetstat(path: path, attributes: attributes)
        case Name.limits: self = .limits
        case Name.expandPath: self = .expandPath(path: try string())
        case Name.copyData:
            let readHandle = try bytes()
            let readOffset = try uint64()
            let readLength = try uint64()
            let writeHandle = try bytes()
            self = .copyData(
                readHandle: readHandle, readOffset: readOffset, readLength: readLength,
                writeHandle: writeHandle, writeOffset: try uint64())
        case Name.homeDirectory: self = .homeDirectory(username: try string())
        case Name.usersGroupsByID:
            let uids = try idList()
            self = .usersGroupsByID(uids: uids, gids: try idList())
        case Name.checkFileName, Name.checkFileHandle, Name.checkFileLegacy:
            let target: CheckFileTarget = name == Name.checkFileName ? .path(try string()) : .handle(try bytes())
            let algorithms = try string().split(separator: ",").map { String($0) }
            let start = try uint64()
            let length = try uint64()
            self = .checkFile(
                target: target, algorithms: algorithms, startOffset: start, length: length, blockSize: try uint32())
        default:
            return nil
        }
    }
}
