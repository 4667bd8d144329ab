import NIOCore

/// Splits a channel's byte stream into SFTP packets, as `SFTPFrameDecoder` does, with each byte
/// copied at most once, and the data of a large WRITE (server) or DATA (client) not at all.
///
/// NIO's `ByteToMessageHandler` appends every read to one cumulation buffer. The packets it emits
/// are slices of that buffer, so while the session still holds one (a 255 KiB WRITE on its way to
/// the disk), the next append or the reclaiming of read bytes copies the whole buffer into a new
/// allocation: a large packet crossing many reads (SSH channel data comes in 32 KiB pieces, a pipe
/// in 64 KiB) was copied several times, into fresh memory each time (~40,000 page faults per GiB
/// uploaded through `wharf sftp-server`). Here a packet that lies whole in a read is a slice of
/// that read; one that crosses reads is copied, piece by piece, into a buffer of its exact size.
///
/// With `dataInPiecesFor` (WRITE for a server, DATA for a client), the data of such a packet that
/// crosses reads is not copied either: it comes out as the slices of the reads it arrived in
/// (`SFTPPacket.data`), which the file is written from with one `pwritev`. The join copy was the
/// largest cost of an upload in user space (perf, 1 GiB put: 4.3% of `wharf serve`'s CPU, 5.6% of
/// `wharf sftp-server`'s) and 4% of `wharf get`'s CPU. Small slices are copied into buffers of our
/// own, so that a peer sending its data a few bytes at a time cannot make us hold a read buffer,
/// or an array entry, per few bytes.
public final class SFTPFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = SFTPPacket

    public let maximumPacketLength: Int
    /// The packet type whose data may come out in pieces; nil: every packet in one buffer.
    public let dataInPiecesFor: SFTPPacketType?
    /// The packet being gathered across reads, its uint32 length first; empty between packets.
    private var partial = ByteBuffer()
    /// The packet whose data is being gathered in pieces, instead of `partial`.
    private var splitPacket: SplitPacket?
    private var failed = false

    public init(
        maximumPacketLength: Int = SFTPFrameDecoder.defaultMaximumPacketLength,
        dataInPiecesFor type: SFTPPacketType? = nil
    ) {
        self.maximumPacketLength = maximumPacketLength
        self.dataInPiecesFor = type
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.failed else { return }
        var input = self.unwrapInboundIn(data)
        do {
            if var split = self.splitPacket {
                self.splitPacket = nil
                split.take(from: &input, allocator: context.channel.allocator)
                guard split.missing == 0 else {
                    self.splitPacket = split
                    return
                }
                context.fireChannelRead(self.wrapInboundOut(split.packet))
            } else if self.partial.readableBytes > 0 {
                guard let packet = try self.continuePartial(with: &input) else { return }
                context.fireChannelRead(self.wrapInboundOut(SFTPPacket(bytes: packet)))
            }
            while let length = try self.packetLength(in: input) {
                guard input.readableBytes >= 4 + length else { break }
                input.moveReaderIndex(forwardBy: 4)
                // A slice of the read: no copy.
                if let packet = input.readSlice(length: length) {
                    context.fireChannelRead(self.wrapInboundOut(SFTPPacket(bytes: packet)))
                }
            }
            if input.readableBytes > 0 {
                // The start of a packet that goes on in the next read.
                let length = try self.packetLength(in: input)
                if let type = self.dataInPiecesFor, let length,
                    var split = SplitPacket(startingIn: &input, length: length, type: type, allocator: context.channel.allocator)
                {
                    split.take(from: &input, allocator: context.channel.allocator)
                    self.splitPacket = split
                } else {
                    self.partial = context.channel.allocator.buffer(capacity: 4 + (length ?? 0))
                    self.partial.writeBuffer(&input)
                }
            }
        } catch {
            self.failed = true
            self.partial = ByteBuffer()
            self.splitPacket = nil
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
        guard !self.failed else { return }
        let leftover: ByteBuffer
        if let split = self.splitPacket {
            leftover = split.head
        } else if self.partial.readableBytes > 0 {
            leftover = self.partial
        } else {
            return
        }
        self.partial = ByteBuffer()
        self.splitPacket = nil
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

/// A WRITE or DATA gathered with its data in pieces: the fields before the data, copied, and the data.
private struct SplitPacket {
    /// The fields before the data's length: type and id, and for a WRITE handle and offset.
    let head: ByteBuffer
    private var pieces: [ByteBuffer] = []
    /// Whether the last piece is a buffer of ours that small pieces are copied into.
    private var lastPieceIsOwn = false
    /// Data bytes still to come.
    private(set) var missing: Int

    /// Pieces at least this large, and at least half of the buffer they lie in, are kept as they
    /// are; smaller ones are copied.
    static let smallestKeptPiece = 4096
    /// The capacity of a buffer that small pieces are copied into, at most.
    static let ownPieceCapacity = 64 * 1024

    /// Takes the head of the packet of `type` (WRITE or DATA) at the start of `input` (length
    /// field first) when `input` holds all of it and the data fills the rest of the packet; nil,
    /// with `input` untouched, for any other packet, which is gathered in one buffer as before.
    init?(startingIn input: inout ByteBuffer, length: Int, type: SFTPPacketType, allocator: ByteBufferAllocator) {
        let start = input.readerIndex
        guard input.getInteger(at: start + 4, as: UInt8.self) == type.rawValue else { return nil }
        // The fields before the data's length: type and id, then for a WRITE its handle and offset.
        let headLength: Int
        switch type {
        case .write:
            guard let handleLength = input.getInteger(at: start + 4 + 1 + 4, as: UInt32.self) else { return nil }
            headLength = 1 + 4 + 4 + Int(handleLength) + 8
        case .data:
            headLength = 1 + 4
        default:
            return nil
        }
        guard 4 + headLength + 4 <= input.readableBytes,
            let dataLength = input.getInteger(at: start + 4 + headLength, as: UInt32.self),
            headLength + 4 + Int(dataLength) == length
        else { return nil }
        input.moveReaderIndex(forwardBy: 4)
        guard let fields = input.readSlice(length: headLength) else { return nil }
        input.moveReaderIndex(forwardBy: 4)
        // A copy, so that the head does not hold the whole read.
        var head = allocator.buffer(capacity: headLength)
        head.writeImmutableBuffer(fields)
        self.head = head
        self.missing = Int(dataLength)
    }

    /// Takes as much of the data as `input` holds.
    mutating func take(from input: inout ByteBuffer, allocator: ByteBufferAllocator) {
        guard let piece = input.readSlice(length: min(self.missing, input.readableBytes)), piece.readableBytes > 0
        else { return }
        self.missing -= piece.readableBytes
        if piece.readableBytes >= Self.smallestKeptPiece, piece.readableBytes * 2 >= piece.storageCapacity {
            self.pieces.append(piece)
            self.lastPieceIsOwn = false
        } else if self.lastPieceIsOwn, let last = self.pieces.indices.last,
            self.pieces[last].writableBytes >= piece.readableBytes
        {
            self.pieces[last].writeImmutableBuffer(piece)
        } else {
            var own = allocator.buffer(
                capacity: max(piece.readableBytes, min(piece.readableBytes + self.missing, Self.ownPieceCapacity)))
            own.writeImmutableBuffer(piece)
            self.pieces.append(own)
            self.lastPieceIsOwn = true
        }
    }

    var packet: SFTPPacket {
        SFTPPacket(bytes: self.head, data: SFTPPayload(pieces: self.pieces))
    }
}
