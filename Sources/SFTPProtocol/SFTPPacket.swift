import NIOCore

/// One SFTP packet as `SFTPFrameHandler` delivers it, its length field taken off.
///
/// Usually `bytes` is the whole packet, type byte first. A WRITE whose data crossed reads comes
/// as `bytes` up to its data (type, id, handle and offset, without the data's length field) and
/// `writeData`, the data in the pieces it arrived in.
public struct SFTPPacket: Sendable {
    public var bytes: ByteBuffer
    public var writeData: SFTPPayload?

    public init(bytes: ByteBuffer, writeData: SFTPPayload? = nil) {
        self.bytes = bytes
        self.writeData = writeData
    }

    /// The whole packet in one buffer, as it was on the wire after its length: `bytes` itself
    /// when there are no separate pieces, a copy otherwise.
    public var contiguousBytes: ByteBuffer {
        guard let writeData else { return self.bytes }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(self.bytes.readableBytes + 4 + writeData.readableBytes)
        buffer.writeImmutableBuffer(self.bytes)
        buffer.writeInteger(UInt32(writeData.readableBytes))
        for piece in writeData.pieces { buffer.writeImmutableBuffer(piece) }
        return buffer
    }
}
