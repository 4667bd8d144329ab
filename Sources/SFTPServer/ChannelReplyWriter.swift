import NIOCore
import Synchronization

/// Writes a session's replies to its channel. Most replies (status, attributes, names) are small
/// and go out without waiting for the write to complete, which saves a hop to the event loop per
/// request for clients that wait for each reply; large replies, and any reply while the channel is
/// not writable (the peer's window is full), are awaited, so memory stays bounded.
///
/// `drain()` awaits the last write: writes complete in order, so afterwards nothing is left
/// queued that closing the channel could drop.
public final class ChannelReplyWriter: Sendable {
    private let channel: any Channel
    private let lastWrite = Mutex<EventLoopFuture<Void>?>(nil)
    /// Replies at least this large are always awaited.
    static let awaitedSize = 16 * 1024

    public init(channel: any Channel) {
        self.channel = channel
    }

    public func send(_ reply: ByteBuffer) async throws {
        let size = reply.readableBytes
        let promise = self.channel.eventLoop.makePromise(of: Void.self)
        self.channel.writeAndFlush(reply, promise: promise)
        let write = promise.futureResult
        self.lastWrite.withLock { $0 = write }
        if size >= Self.awaitedSize || !self.channel.isWritable {
            try await write.get()
        }
    }

    public func drain() async throws {
        try await self.lastWrite.withLock { $0 }?.get()
    }
}
