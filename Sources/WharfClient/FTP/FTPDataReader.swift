import NIOCore

/// The end of a data connection's pipeline: the transfer pulls what arrived with `take`, in as
/// large batches as have accumulated, so that a slow disk does not get one write per TCP read.
/// Reading stops while more than `highWaterMark` bytes wait (the channel runs without autoRead),
/// which is the backpressure to the server.
///
/// Also the stall detector: an `IdleStateHandler` event before it fails the transfer with
/// `FTPClientError.timedOut`, and closes the connection.
///
/// Event-loop bound: call `take` on the channel's event loop.
final class FTPDataReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let highWaterMark = 4 * 1024 * 1024
    /// A waiting `take` is answered once this much has arrived (or the connection ended): fewer,
    /// larger disk writes and fewer thread hops than one per TCP read.
    static let batchSize = 1024 * 1024

    private var buffered: [ByteBuffer] = []
    private var bufferedBytes = 0
    private var ended = false
    private var failure: (any Error)?
    private var waiter: EventLoopPromise<[ByteBuffer]?>?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private let stallTimeout: TimeAmount

    init(stallTimeout: TimeAmount) {
        self.stallTimeout = stallTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.readMore() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.readMore()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        self.bufferedBytes += buffer.readableBytes
        self.buffered.append(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.readPending = false
        self.deliver()
        self.readMore()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let idle as IdleStateHandler.IdleStateEvent where idle == .read || idle == .write:
            self.fail(FTPClientError.timedOut("on a stalled data connection (nothing moved for \(Self.seconds(self.stallTimeout)) s)"))
            context.close(promise: nil)
        case ChannelEvent.inputClosed:
            self.ended = true
            self.deliver()
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.ended = true
        self.deliver()
        context.fireChannelInactive()
    }

    /// What arrived since the last call, waiting for something when nothing did; nil once the
    /// data connection ended cleanly and everything was taken. Throws the connection's failure
    /// (after the data received before it).
    func take(eventLoop: any EventLoop) -> EventLoopFuture<[ByteBuffer]?> {
        precondition(self.waiter == nil, "one reader per data connection")
        let promise = eventLoop.makePromise(of: [ByteBuffer]?.self)
        self.waiter = promise
        self.deliver()
        return promise.futureResult
    }

    /// The failure recorded so far, if any (succeeds with nil otherwise).
    func failureFuture(eventLoop: any EventLoop) -> EventLoopFuture<(any Error)?> {
        eventLoop.makeSucceededFuture(self.failure)
    }

    private func readMore() {
        guard !self.readPending, !self.ended, self.failure == nil, self.bufferedBytes < Self.highWaterMark,
            let context = self.context
        else { return }
        self.readPending = true
        context.read()
    }

    private func deliver() {
        guard let waiter = self.waiter else { return }
        let batchReady = self.bufferedBytes >= Self.batchSize || self.ended || self.failure != nil
        if !self.buffered.isEmpty, batchReady {
            self.waiter = nil
            let batch = self.buffered
            self.buffered = []
            self.bufferedBytes = 0
            waiter.succeed(batch)
            self.readMore()
        } else if !self.buffered.isEmpty {
            return  // more to come before the batch is worth a write
        } else if let failure = self.failure {
            self.waiter = nil
            waiter.fail(failure)
        } else if self.ended {
            self.waiter = nil
            waiter.succeed(nil)
        }
    }

    private func fail(_ error: any Error) {
        if self.failure == nil { self.failure = error }
        self.deliver()
    }

    private static func seconds(_ amount: TimeAmount) -> String {
        let value = Double(amount.nanoseconds) / 1e9
        return value == value.rounded() ? String(Int(value)) : String(value)
    }
}
