import NIOCore
import Synchronization

/// Splits a byte stream fed in pieces into SFTP packets (type byte first, length stripped): what
/// `SFTPFrameDecoder` does in a NIO pipeline, for code that receives bytes outside one, such as a
/// session's `send` in tests. Safe to feed from several tasks one after another.
public final class SFTPPacketSplitter: Sendable {
    private let state: Mutex<(buffer: ByteBuffer, decoder: SFTPFrameDecoder)>

    public init(maximumPacketLength: Int = SFTPFrameDecoder.defaultMaximumPacketLength) {
        self.state = Mutex((ByteBuffer(), SFTPFrameDecoder(maximumPacketLength: maximumPacketLength)))
    }

    /// Appends `bytes` and returns every packet now complete.
    public func feed(_ bytes: ByteBuffer) throws -> [ByteBuffer] {
        try self.state.withLock { state in
            var incoming = bytes
            state.buffer.writeBuffer(&incoming)
            var packets: [ByteBuffer] = []
            while let packet = try state.decoder.decode(buffer: &state.buffer) { packets.append(packet) }
            state.buffer.discardReadBytes()
            return packets
        }
    }
}
