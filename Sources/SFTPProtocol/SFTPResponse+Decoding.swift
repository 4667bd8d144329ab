import NIOCore

extension SFTPResponse {
    /// Decodes one whole packet from a server (type byte then payload, without the length prefix):
    /// the inverse of `writeSFTPResponse`. Never traps on peer input.
    ///
    /// A STATUS may lack its message and language tag (servers of protocol versions before 3 omit
    /// them): the message is then empty. Trailing bytes after the fields are ignored.
    public init(packet: ByteBuffer) throws(SFTPProtocolError) {
        var buffer = packet
        guard let typeByte = buffer.readInteger(as: UInt8.self) else { throw .emptyPacket }
        guard let type = SFTPPacketType(rawValue: typeByte) else { throw .unknownPacketType(typeByte) }
        let truncated = SFTPProtocolError.truncated(type: typeByte)

        if type == .version {
            guard let version = buffer.readInteger(as: UInt32.self) else { throw truncated }
            var extensions: [(name: String, data: String)] = []
            while buffer.readableBytes > 0 {
                guard let name = buffer.readSFTPString(), let data = buffer.readSFTPString() else { throw truncated }
                extensions.append((name, data))
            }
            self = .version(version: version, extensions: extensions)
            return
        }
        guard let id = buffer.readInteger(as: UInt32.self) else { throw truncated }
        var fields = SFTPFieldReader(buffer: buffer, truncated: truncated)

        switch type {
        case .status:
            let code = SFTPStatusCode(rawValue: try fields.uint32())
            // The message is optional in practice; the language tag after it is ignored.
            let message = fields.buffer.readSFTPString() ?? ""
            self = .status(id: id, code: code, message: message)
        case .handle:
            self = .handle(id: id, handle: try fields.bytes())
        case .data:
            self = .data(id: id, data: SFTPPayload(try fields.bytes()))
        case .name:
            let count = try fields.uint32()
            // Each entry takes at least 12 bytes (two empty strings, empty flags): refuse counts the
            // packet cannot hold before reserving room for them.
            guard Int(count) <= fields.buffer.readableBytes / 12 else { throw truncated }
            var names: [SFTPName] = []
            names.reserveCapacity(Int(count))
            for _ in 0..<count {
                let filename = try fields.string()
                let longname = try fields.string()
                names.append(SFTPName(filename: filename, longname: longname, attributes: try fields.attributes()))
            }
            self = .name(id: id, names: names)
        case .attrs:
            self = .attributes(id: id, attributes: try fields.attributes())
        case .extendedReply:
            self = .extendedReply(id: id, payload: fields.buffer)
        case .version, .initialize, .open, .close, .read, .write, .lstat, .fstat, .setstat, .fsetstat, .opendir,
            .readdir, .remove, .mkdir, .rmdir, .realpath, .stat, .rename, .readlink, .symlink, .extended:
            // Client-to-server messages are not responses (VERSION was handled above).
            throw .unknownPacketType(typeByte)
        }
    }

    /// The request id this response answers; nil for VERSION.
    public var id: UInt32? {
        switch self {
        case .version: return nil
        case .status(let id, _, _), .handle(let id, _), .data(let id, _), .name(let id, _), .attributes(let id, _),
            .extendedReply(let id, _):
            return id
        }
    }

    /// Decodes a packet from `SFTPFrameHandler`: as `init(packet:)`, and a DATA whose data came in
    /// pieces with its data as those pieces.
    public init(packet: SFTPPacket) throws(SFTPProtocolError) {
        guard let (id, _, data) = try packet.fieldsBeforeData(of: .data) else {
            try self.init(packet: packet.bytes)
            return
        }
        self = .data(id: id, data: data)
    }

    /// The request id of a response packet that could not be decoded, when its first bytes carry one,
    /// so that a client can fail the one request it answers.
    public static func peekID(packet: ByteBuffer) -> UInt32? {
        guard packet.readableBytes >= 5,
            let type = packet.getInteger(at: packet.readerIndex, as: UInt8.self),
            type != SFTPPacketType.version.rawValue
        else { return nil }
        return packet.getInteger(at: packet.readerIndex + 1, as: UInt32.self)
    }
}
