import FTPProtocol
import NIOCore

/// The end of the control connection's pipeline: keeps the decoded replies until the session asks
/// for the next one, with a deadline. A failure of the connection (TLS, decoding, the server
/// closing it) fails the waiting request and every later one.
///
/// Event-loop bound: `nextReply` must be called on the channel's event loop.
final class FTPReplyReceiver: ChannelInboundHandler {
    typealias InboundIn = FTPReply

    private var queued = CircularBuffer<FTPReply>()
    private var waiter: EventLoopPromise<FTPReply>?
    private var deadline: Scheduled<Void>?
    private var failure: (any Error)?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = Self.unwrapInboundIn(data)
        if let waiter = self.waiter {
            self.waiter = nil
            self.deadline?.cancel()
            waiter.succeed(reply)
        } else {
            self.queued.append(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(FTPClientError.connectionClosed)
        context.fireChannelInactive()
    }

    /// The next reply, waiting at most `timeout`; on timeout the connection is closed (its
    /// conversation is out of step from then on) and `FTPClientError.timedOut(what)` thrown.
    func nextReply(timeout: TimeAmount, what: String, eventLoop: any EventLoop) -> EventLoopFuture<FTPReply> {
        if let reply = self.queued.popFirst() { return eventLoop.makeSucceededFuture(reply) }
        if let failure = self.failure { return eventLoop.makeFailedFuture(failure) }
        precondition(self.waiter == nil, "one request at a time on an FTP control connection")
        let promise = eventLoop.makePromise(of: FTPReply.self)
        self.waiter = promise
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        self.deadline = eventLoop.scheduleTask(in: timeout) {
            let receiver = bound.value
            receiver.fail(FTPClientError.timedOut(what))
            receiver.context?.close(promise: nil)
        }
        return promise.futureResult
    }

    /// Removes the replies nobody asked for (a 421 sent to an idle connection before the server
    /// closed it) and returns them; called before a connection is handed out.
    func takeUnsolicited() -> [FTPReply] {
        defer { self.queued.removeAll() }
        return Array(self.queued)
    }

    var isFailed: Bool { self.failure != nil }

    private func fail(_ error: any Error) {
        if self.failure == nil { self.failure = error }
        if let waiter = self.waiter {
            self.waiter = nil
            self.deadline?.cancel()
            waiter.fail(self.failure ?? error)
        }
    }
}
