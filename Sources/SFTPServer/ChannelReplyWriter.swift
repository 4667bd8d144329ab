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

    /// Writes `reply` and then `payload` with one flush: one system call for both where the
    /// transport can (a pipe, a socket), instead of a small write for a DATA header alone.
    public func send(_ reply: ByteBuffer, _ payload: ByteBuffer? = nil) async throws {
        let size = reply.readableBytes + (payload?.readableBytes ?? 0)
        let promise = self.channel.eventLoop.makePromise(of: Void.self)
        if let payload {
            self.channel.write(reply, promise: nil)
            self.channel.writeAndFlush(payload, promise: promise)
        } else {
            self.channel.writeAndFlush(reply, promise: promise)
        }
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
