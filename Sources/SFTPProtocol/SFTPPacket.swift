import NIOCore

/// One SFTP packet as `SFTPFrameHandler` delivers it, its length field taken off.
///
/// Usually `bytes` is the whole packet, type byte first. A WRITE or DATA whose data crossed reads
/// comes as `bytes` up to its data (type and id, and a WRITE's handle and offset, without the
/// data's length field) and `data`, the data in the pieces it arrived in.
public struct SFTPPacket: Sendable {
    public var bytes: ByteBuffer
    public var data: SFTPPayload?

    public init(bytes: ByteBuffer, data: SFTPPayload? = nil) {
        self.bytes = bytes
        self.data = data
    }

}

extension SFTPPacket {
    /// For a packet whose data came in pieces: its id, the fields between the id and the data,
    /// and the data, once the type byte is `type`'s. Nil for a packet in one buffer.
    func fieldsBeforeData(of type: SFTPPacketType) throws(SFTPProtocolError) -> (id: UInt32, fields: ByteBuffer, data: SFTPPayload)? {
        guard let data = self.data else { return nil }
        var buffer = self.bytes
        guard buffer.readInteger(as: UInt8.self) == type.rawValue else { throw .unknownPacketType(type.rawValue) }
        guard let id = buffer.readInteger(as: UInt32.self) else { throw .truncated(type: type.rawValue) }
        return (id, buffer, data)
    }
}
