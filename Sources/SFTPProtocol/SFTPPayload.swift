import NIOCore

/// Bytes held in one or more buffers: a WRITE's or DATA's data as it arrived from the transport.
///
/// A 256 KiB WRITE crosses many reads (SSH channel data comes in 32 KiB pieces, a pipe in 64 KiB);
/// kept in those pieces, its data goes to the file in one vectored write instead of being copied
/// into one buffer first (see `SFTPFrameHandler`).
public struct SFTPPayload: Sendable {
    public private(set) var pieces: [ByteBuffer]
    /// The bytes of all pieces together.
    public private(set) var readableBytes: Int

    public init(_ buffer: ByteBuffer) {
        self.pieces = [buffer]
        self.readableBytes = buffer.readableBytes
    }

    public init(pieces: [ByteBuffer]) {
        self.pieces = pieces
        self.readableBytes = pieces.reduce(0) { $0 + $1.readableBytes }
    }

    /// The bytes in one buffer: the only piece as it is, or the pieces copied into a new one.
    public var joined: ByteBuffer {
        if self.pieces.count == 1, let only = self.pieces.first { return only }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(self.readableBytes)
        for piece in self.pieces { buffer.writeImmutableBuffer(piece) }
        return buffer
    }
}
