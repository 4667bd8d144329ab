import NIOCore

/// One entry of an SSH_FXP_NAME reply.
public struct SFTPName: Sendable {
    public var filename: String
    /// `ls -l` style line; clients such as OpenSSH's `sftp` print it as is.
    public var longname: String
    public var attributes: SFTPFileAttributes

    public init(filename: String, longname: String, attributes: SFTPFileAttributes) {
        self.filename = filename
        self.longname = longname
        self.attributes = attributes
    }
}

/// A message from server to client.
public enum SFTPResponse: Sendable {
    case version(version: UInt32, extensions: [(name: String, data: String)])
    case status(id: UInt32, code: SFTPStatusCode, message: String)
    case handle(id: UInt32, handle: ByteBuffer)
    case data(id: UInt32, data: SFTPPayload)
    case name(id: UInt32, names: [SFTPName])
    case attributes(id: UInt32, attributes: SFTPFileAttributes)
    /// The payload after the id; its layout depends on the extension.
    case extendedReply(id: UInt32, payload: ByteBuffer)

    public var packetType: SFTPPacketType {
        switch self {
        case .version: return .version
        case .status: return .status
        case .handle: return .handle
        case .data: return .data
        case .name: return .name
        case .attributes: return .attrs
        case .extendedReply: return .extendedReply
        }
    }
}

extension ByteBuffer {
    /// Writes a whole framed packet: uint32 length, type byte, fields.
    @discardableResult
    public mutating func writeSFTPResponse(_ response: SFTPResponse) -> Int {
        let start = self.writerIndex
        self.writeInteger(UInt32(0))
        self.writeInteger(response.packetType.rawValue)
        switch response {
        case .version(let version, let extensions):
            self.writeInteger(version)
            for pair in extensions {
                self.writeSFTPString(pair.name)
                self.writeSFTPString(pair.data)
            }
        case .status(let id, let code, let message):
            self.writeInteger(id)
            self.writeInteger(code.rawValue)
            self.writeSFTPString(message)
            self.writeSFTPString("en")
        case .handle(let id, let handle):
            self.writeInteger(id)
            self.writeSFTPString(handle)
        case .data(let id, let data):
            self.writeInteger(id)
            self.writeInteger(UInt32(data.readableBytes))
            for piece in data.pieces { self.writeImmutableBuffer(piece) }
        case .name(let id, let names):
            self.writeInteger(id)
            self.writeInteger(UInt32(names.count))
            for name in names {
                self.writeSFTPString(name.filename)
                self.writeSFTPString(name.longname)
                self.writeSFTPFileAttributes(name.attributes)
            }
        case .attributes(let id, let attributes):
            self.writeInteger(id)
            self.writeSFTPFileAttributes(attributes)
        case .extendedReply(let id, let payload):
            self.writeInteger(id)
            self.writeImmutableBuffer(payload)
        }
        let length = self.writerIndex - start
        self.setInteger(UInt32(length - 4), at: start)
        return length
    }
}
