import NIOCore

extension ByteBuffer {
    /// Writes a whole framed request: uint32 length, type byte, fields. The inverse of `SFTPRequest(packet:)`.
    ///
    /// SYMLINK is written in OpenSSH's order (target, then link path), which is what servers in the
    /// wild expect; see `SFTPRequest.symlink`.
    @discardableResult
    public mutating func writeSFTPRequest(_ request: SFTPRequest) -> Int {
        let start = self.writerIndex
        if case .write(_, let handle, _, let data) = request {
            // Length, type, id, handle string, offset, data string: one allocation for the whole packet.
            self.reserveCapacity(minimumWritableBytes: 4 + 1 + 4 + 4 + handle.readableBytes + 8 + 4 + data.readableBytes)
        }
        self.writeInteger(UInt32(0))
        self.writeInteger(request.packetType.rawValue)
        switch request {
        case .initialize(let version):
            self.writeInteger(version)
        case .open(let id, let path, let flags, let attributes):
            self.writeInteger(id)
            self.writeSFTPString(path)
            self.writeInteger(flags.rawValue)
            self.writeSFTPFileAttributes(attributes)
        case .close(let id, let handle), .fstat(let id, let handle), .readdir(let id, let handle):
            self.writeInteger(id)
            self.writeSFTPString(handle)
        case .read(let id, let handle, let offset, let length):
            self.writeInteger(id)
            self.writeSFTPString(handle)
            self.writeInteger(offset)
            self.writeInteger(length)
        case .write(let id, let handle, let offset, let data):
            self.writeInteger(id)
            self.writeSFTPString(handle)
            self.writeInteger(offset)
            self.writeInteger(UInt32(data.readableBytes))
            for piece in data.pieces { self.writeImmutableBuffer(piece) }
        case .lstat(let id, let path), .opendir(let id, let path), .remove(let id, let path),
            .rmdir(let id, let path), .realpath(let id, let path), .stat(let id, let path),
            .readlink(let id, let path):
            self.writeInteger(id)
            self.writeSFTPString(path)
        case .setstat(let id, let path, let attributes), .mkdir(let id, let path, let attributes):
            self.writeInteger(id)
            self.writeSFTPString(path)
            self.writeSFTPFileAttributes(attributes)
        case .fsetstat(let id, let handle, let attributes):
            self.writeInteger(id)
            self.writeSFTPString(handle)
            self.writeSFTPFileAttributes(attributes)
        case .rename(let id, let oldPath, let newPath):
            self.writeInteger(id)
            self.writeSFTPString(oldPath)
            self.writeSFTPString(newPath)
        case .symlink(let id, let targetPath, let linkPath):
            self.writeInteger(id)
            self.writeSFTPString(targetPath)
            self.writeSFTPString(linkPath)
        case .extended(let id, let name, let payload):
            self.writeInteger(id)
            self.writeSFTPString(name)
            self.writeImmutableBuffer(payload)
        }
        let length = self.writerIndex - start
        self.setInteger(UInt32(length - 4), at: start)
        return length
    }
}

extension SFTPExtendedRequest {
    /// The wire name this request is sent under: the inverse of the `name` that `init(name:payload:)` reads.
    public var name: String {
        switch self {
        case .posixRename: return Name.posixRename
        case .statvfs: return Name.statvfs
        case .fstatvfs: return Name.fstatvfs
        case .hardlink: return Name.hardlink
        case .fsync: return Name.fsync
        case .lsetstat: return Name.lsetstat
        case .limits: return Name.limits
        case .expandPath: return Name.expandPath
        case .copyData: return Name.copyData
        case .homeDirectory: return Name.homeDirectory
        case .usersGroupsByID: return Name.usersGroupsByID
        case .checkFile(.path, _, _, _, _): return Name.checkFileName
        case .checkFile(.handle, _, _, _, _): return Name.checkFileHandle
        }
    }

    /// The bytes after the name: the inverse of `init(name:payload:)`.
    public var payload: ByteBuffer {
        var payload = ByteBuffer()
        switch self {
        case .posixRename(let oldPath, let newPath), .hardlink(let oldPath, let newPath):
            payload.writeSFTPString(oldPath)
            payload.writeSFTPString(newPath)
        case .statvfs(let path), .expandPath(let path):
            payload.writeSFTPString(path)
        case .fstatvfs(let handle), .fsync(let handle):
            payload.writeSFTPString(handle)
        case .lsetstat(let path, let attributes):
            payload.writeSFTPString(path)
            payload.writeSFTPFileAttributes(attributes)
        case .limits:
            break
        case .copyData(let readHandle, let readOffset, let readLength, let writeHandle, let writeOffset):
            payload.writeSFTPString(readHandle)
            payload.writeInteger(readOffset)
            payload.writeInteger(readLength)
            payload.writeSFTPString(writeHandle)
            payload.writeInteger(writeOffset)
        case .homeDirectory(let username):
            payload.writeSFTPString(username)
        case .usersGroupsByID(let uids, let gids):
            for ids in [uids, gids] {
                payload.writeInteger(UInt32(ids.count * 4))
                for id in ids { payload.writeInteger(id) }
            }
        case .checkFile(let target, let algorithms, let startOffset, let length, let blockSize):
            switch target {
            case .path(let path): payload.writeSFTPString(path)
            case .handle(let handle): payload.writeSFTPString(handle)
            }
            payload.writeSFTPString(algorithms.joined(separator: ","))
            payload.writeInteger(startOffset)
            payload.writeInteger(length)
            payload.writeInteger(blockSize)
        }
        return payload
    }

    /// The EXTENDED request carrying this payload under request id `id`.
    public func request(id: UInt32) -> SFTPRequest {
        .extended(id: id, name: self.name, payload: self.payload)
    }
}
