import NIOCore

/// A message from client to server. Value type; decoding never traps on peer input.
public enum SFTPRequest: Sendable {
    case initialize(version: UInt32)
    case open(id: UInt32, path: String, flags: SFTPOpenFlags, attributes: SFTPFileAttributes)
    case close(id: UInt32, handle: ByteBuffer)
    case read(id: UInt32, handle: ByteBuffer, offset: UInt64, length: UInt32)
    case write(id: UInt32, handle: ByteBuffer, offset: UInt64, data: SFTPPayload)
    case lstat(id: UInt32, path: String)
    case fstat(id: UInt32, handle: ByteBuffer)
    case setstat(id: UInt32, path: String, attributes: SFTPFileAttributes)
    case fsetstat(id: UInt32, handle: ByteBuffer, attributes: SFTPFileAttributes)
    case opendir(id: UInt32, path: String)
    case readdir(id: UInt32, handle: ByteBuffer)
    case remove(id: UInt32, path: String)
    case mkdir(id: UInt32, path: String, attributes: SFTPFileAttributes)
    case rmdir(id: UInt32, path: String)
    case realpath(id: UInt32, path: String)
    case stat(id: UInt32, path: String)
    case rename(id: UInt32, oldPath: String, newPath: String)
    case readlink(id: UInt32, path: String)
    /// OpenSSH sends the target first and the link second, the reverse of the draft; we follow OpenSSH.
    case symlink(id: UInt32, targetPath: String, linkPath: String)
    /// The request-specific payload is decoded separately, see `SFTPExtendedRequest`.
    case extended(id: UInt32, name: String, payload: ByteBuffer)

    /// The request id, which every request but INIT carries.
    public var id: UInt32? {
        switch self {
        case .initialize: return nil
        case .open(let id, _, _, _), .close(let id, _), .read(let id, _, _, _), .write(let id, _, _, _),
            .lstat(let id, _), .fstat(let id, _), .setstat(let id, _, _), .fsetstat(let id, _, _),
            .opendir(let id, _), .readdir(let id, _), .remove(let id, _), .mkdir(let id, _, _),
            .rmdir(let id, _), .realpath(let id, _), .stat(let id, _), .rename(let id, _, _),
            .readlink(let id, _), .symlink(let id, _, _), .extended(let id, _, _):
            return id
        }
    }

    public var packetType: SFTPPacketType {
        switch self {
        case .initialize: return .initialize
        case .open: return .open
        case .close: return .close
        case .read: return .read
        case .write: return .write
        case .lstat: return .lstat
        case .fstat: return .fstat
        case .setstat: return .setstat
        case .fsetstat: return .fsetstat
        case .opendir: return .opendir
        case .readdir: return .readdir
        case .remove: return .remove
        case .mkdir: return .mkdir
        case .rmdir: return .rmdir
        case .realpath: return .realpath
        case .stat: return .stat
        case .rename: return .rename
        case .readlink: return .readlink
        case .symlink: return .symlink
        case .extended: return .extended
        }
    }
}

extension SFTPRequest {
    /// Decodes one whole packet (type byte then payload, without the length prefix).
    ///
    /// Trailing bytes after the fields are ignored, as OpenSSH's server does, because some clients
    /// append fields from later protocol versions (REALPATH's control byte, for one).
    public init(packet: ByteBuffer) throws(SFTPProtocolError) {
        var buffer = packet
        guard let typeByte = buffer.readInteger(as: UInt8.self) else { throw .emptyPacket }
        guard let type = SFTPPacketType(rawValue: typeByte) else { throw .unknownPacketType(typeByte) }
        let truncated = SFTPProtocolError.truncated(type: typeByte)

        if type == .initialize {
            guard let version = buffer.readInteger(as: UInt32.self) else { throw truncated }
            self = .initialize(version: version)
            return
        }
        guard let id = buffer.readInteger(as: UInt32.self) else { throw truncated }

        var fields = SFTPFieldReader(buffer: buffer, truncated: truncated)

        switch type {
        case .open:
            let path = try fields.string()
            let flags = SFTPOpenFlags(rawValue: try fields.uint32())
            self = .open(id: id, path: path, flags: flags, attributes: try fields.attributes())
        case .close: self = .close(id: id, handle: try fields.bytes())
        case .read:
            let handle = try fields.bytes()
            let offset = try fields.uint64()
            self = .read(id: id, handle: handle, offset: offset, length: try fields.uint32())
        case .write:
            let handle = try fields.bytes()
            let offset = try fields.uint64()
            self = .write(id: id, handle: handle, offset: offset, data: SFTPPayload(try fields.bytes()))
        case .lstat: self = .lstat(id: id, path: try fields.string())
        case .fstat: self = .fstat(id: id, handle: try fields.bytes())
        case .setstat:
            let path = try fields.string()
            self = .setstat(id: id, path: path, attributes: try fields.attributes())
        case .fsetstat:
            let handle = try fields.bytes()
            self = .fsetstat(id: id, handle: handle, attributes: try fields.attributes())
        case .opendir: self = .opendir(id: id, path: try fields.string())
        case .readdir: self = .readdir(id: id, handle: try fields.bytes())
        case .remove: self = .remove(id: id, path: try fields.string())
        case .mkdir:
            let path = try fields.string()
            self = .mkdir(id: id, path: path, attributes: try fields.attributes())
        case .rmdir: self = .rmdir(id: id, path: try fields.string())
        case .realpath: self = .realpath(id: id, path: try fields.string())
        case .stat: self = .stat(id: id, path: try fields.string())
        case .rename:
            let oldPath = try fields.string()
            self = .rename(id: id, oldPath: oldPath, newPath: try fields.string())
        case .readlink: self = .readlink(id: id, path: try fields.string())
        case .symlink:
            let target = try fields.string()
            self = .symlink(id: id, targetPath: target, linkPath: try fields.string())
        case .extended:
            let name = try fields.string()
            self = .extended(id: id, name: name, payload: fields.buffer)
        case .initialize, .version, .status, .handle, .data, .name, .attrs, .extendedReply:
            // Server-to-client messages are not requests.
            throw .unknownPacketType(typeByte)
        }
    }

    /// Decodes a packet from `SFTPFrameHandler`: as `init(packet:)`, and a WRITE whose data came
    /// in pieces with its data as those pieces.
    public init(packet: SFTPPacket) throws(SFTPProtocolError) {
        guard let (id, fields: head, data) = try packet.fieldsBeforeData(of: .write) else {
            try self.init(packet: packet.bytes)
            return
        }
        var fields = SFTPFieldReader(buffer: head, truncated: .truncated(type: SFTPPacketType.write.rawValue))
        let handle = try fields.bytes()
        self = .write(id: id, handle: handle, offset: try fields.uint64(), data: data)
    }

    /// The request id of a packet that could not be decoded, when its first bytes carry one,
    /// so that the error can still be answered with a status.
    public static func peekID(packet: ByteBuffer) -> UInt32? {
        guard packet.readableBytes >= 5,
            let type = packet.getInteger(at: packet.readerIndex, as: UInt8.self),
            type != SFTPPacketType.initialize.rawValue
        else { return nil }
        return packet.getInteger(at: packet.readerIndex + 1, as: UInt32.self)
    }
}
