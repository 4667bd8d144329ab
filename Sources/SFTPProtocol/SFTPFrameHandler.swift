import NIOCore

/// Splits a channel's byte stream into SFTP packets, as `SFTPFrameDecoder` does, with each byte
/// copied at most once.
///
/// NIO's `ByteToMessageHandler` appends every read to one cumulation buffer. The packets it emits
/// are slices of that buffer, so while the session still holds one (a 255 KiB WRITE on its way to
/// the disk), the next append or the reclaiming of read bytes copies the whole buffer into a new
/// allocation: a large packet crossing many reads (SSH channel data comes in 32 KiB pieces, a pipe
/// in 64 KiB) was copied several times, into fresh memory each time (~40,000 page faults per GiB
/// uploaded through `wharf sftp-server`). Here a packet that lies whole in a read is a slice of
/// that read; one that crosses reads is copied, piece by piece, into a buffer of its exact size.
public final class SFTPFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    public let maximumPacketLength: Int
    /// The packet being gathered across reads, its uint32 length first; empty between packets.
    private var partial = ByteBuffer()
    private var failed = false

    public init(maximumPacketLength: Int = SFTPFrameDecoder.defaultMaximumPacketLength) {
        self.maximumPacketLength = maximumPacketLength
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var input = self.unwrapInboundIn(data)
        do {
            if self.partial.readableBytes > 0 {
                guard let packet = try self.continuePartial(with: &input) else { return }
                context.fireChannelRead(self.wrapInboundOut(packet))
            }
            while let length = try self.packetLength(in: input) {
                guard input.readableBytes >= 4 + length else { break }
                input.moveReaderIndex(forwardBy: 4)
                // A slice of the read: no copy.
                if let packet = input.readSlice(length: length) {
                    context.fireChannelRead(self.wrapInboundOut(packet))
                }
            }
            if input.readableBytes > 0 {
                // The start of a packet that goes on in the next read.
                let length = try self.packetLength(in: input)
                self.partial = context.channel.allocator.buffer(capacity: 4 + (length ?? 0))
                self.partial.writeBuffer(&input)
            }
        } catch {
            self.failed = true
            self.partial = ByteBuffer()
            context.fireErrorCaught(error)
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { self.reportTruncation(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.reportTruncation(context: context)
        context.fireChannelInactive()
    }

    /// The stream ended inside a packet: as `ByteToMessageHandler` reports it.
    private func reportTruncation(context: ChannelHandlerContext) {
        guard !self.failed, self.partial.readableBytes > 0 else { return }
        let leftover = self.partial
        self.partial = ByteBuffer()
        self.failed = true
        context.fireErrorCaught(ByteToMessageDecoderError.leftoverDataWhenDone(leftover))
    }

    /// The length of the packet at the start of `buffer`, once its 4 bytes are there.
    private func packetLength(in buffer: ByteBuffer) throws -> Int? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length <= self.maximumPacketLength else {
            throw SFTPProtocolError.packetTooLarge(length: length, limit: self.maximumPacketLength)
        }
        guard length > 0 else { throw SFTPProtocolError.emptyPacket }
        return Int(length)
    }

    /// Moves what the partial packet still needs from `input`; the packet once it is whole.
    private func continuePartial(with input: inout ByteBuffer) throws -> ByteBuffer? {
        if self.partial.readableBytes < 4 {
            // The length itself was cut: complete it first, then size the buffer for the packet.
            guard var header = input.readSlice(length: min(4 - self.partial.readableBytes, input.readableBytes)) else {
                return nil
            }
            self.partial.writeBuffer(&header)
            guard let length = try self.packetLength(in: self.partial) else { return nil }
            self.partial.reserveCapacity(minimumWritableBytes: length)
        }
        guard let length = try self.packetLength(in: self.partial) else { return nil }
        let missing = 4 + length - self.partial.readableBytes
        if var piece = input.readSlice(length: min(missing, input.readableBytes)) {
            self.partial.writeBuffer(&piece)
        }
        guard self.partial.readableBytes == 4 + length else { return nil }
        var packet = self.partial
        self.partial = ByteBuffer()
        packet.moveReaderIndex(forwardBy: 4)
        return packet
    }
}
