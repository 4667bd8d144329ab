import FTPProtocol
import Logging
import NIOCore
import NIOSSL

/// The control connection as the session uses it: replies out, TLS upgrade, the credits of
/// handled lines back to the input handler.
///
/// Replies are written straight to the channel (not through the async writer) so that the 234 reply
/// to AUTH TLS and the insertion of the TLS handler happen in one event-loop tick, in that order.
struct FTPControlChannel: Sendable {
    let channel: any Channel
    private let input: InputHandlerReference

    init(channel: any Channel, input: FTPControlInputHandler) {
        self.channel = channel
        self.input = InputHandlerReference(handler: input)
    }

    /// The pipeline's input handler, which lives on the channel's event loop. What `NIOLoopBound`
    /// does, with the loop taken from the channel instead of stored again in every idle session.
    private struct InputHandlerReference: @unchecked Sendable {
        let handler: FTPControlInputHandler

        func value(on eventLoop: any EventLoop) -> FTPControlInputHandler {
            eventLoop.preconditionInEventLoop()
            return self.handler
        }
    }

    /// Gives back the credit of a handled line (see `FTPControlInputHandler`), from any thread.
    func releaseCredit() {
        let input = self.input
        let eventLoop = self.channel.eventLoop
        if eventLoop.inEventLoop {
            input.value(on: eventLoop).grantCredit()
        } else {
            eventLoop.execute { input.value(on: eventLoop).grantCredit() }
        }
    }

    /// Sends a reply and waits until it is handed to the socket (or the TLS layer).
    func send(_ reply: FTPReply) async throws {
        try await self.channel.writeAndFlush(reply.encoded(allocator: self.channel.allocator))
    }

    /// Sends `reply` in plaintext, then switches the connection to TLS; returns the new epoch and the
    /// number of plaintext bytes that followed AUTH TLS and were dropped.
    func upgradeToTLS(after reply: FTPReply, context: NIOSSLContext) async throws -> (epoch: Int, dropped: Int) {
        let channel = self.channel
        let input = self.input
        let reply = reply.encoded(allocator: channel.allocator)
        return try await channel.eventLoop.submit {
            // Same tick: the reply passes the head of the pipeline before the TLS handler exists, and
            // no byte can be read between the two.
            channel.writeAndFlush(reply, promise: nil)
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
            let handler = input.value(on: channel.eventLoop)
            let dropped = handler.beginTLS()
            return (handler.epoch, dropped)
        }.get()
    }

    /// Starts closing; the session sees the end through its input handler. Not awaited: over TLS
    /// a close waits for the client's close_notify, which a client gone silent never sends.
    func close() {
        self.channel.close(promise: nil)
    }
}
