import NIOCore

/// Splits a byte stream into SFTP packets: a uint32 length, then that many bytes (type byte first).
///
/// The emitted buffers hold the type byte and payload, without the length. A length over
/// `maximumPacketLength` is an error rather than a wait, so a peer cannot make us buffer unbounded input.
public struct SFTPFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    /// OpenSSH's sftp-server accepts packets of up to 256 KiB; we accept a full 256 KiB write plus its header.
    public static let defaultMaximumPacketLength = 256 * 1024 + 1024

    public let maximumPacketLength: Int

    public init(maximumPacketLength: Int = SFTPFrameDecoder.defaultMaximumPacketLength) {
        self.maximumPacketLength = maximumPacketLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length <= self.maximumPacketLength else {
            throw SFTPProtocolError.packetTooLarge(length: length, limit: self.maximumPacketLength)
        }
        guard length > 0 else { throw SFTPProtocolError.emptyPacket }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try self.decode(buffer: &buffer)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let packet = try self.decode(buffer: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(packet))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        try self.decode(context: context, buffer: &buffer)
    }
}
