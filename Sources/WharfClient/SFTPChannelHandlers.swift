import Logging
import NIOCore
import SFTPProtocol
import NIOSSH

/// Unwraps channel data into bytes and back; the server's stderr (extended data) is logged.
final class ClientChannelDataCodec: ChannelDuplexHandler, Sendable {
    typealias InboundIn = SSHChannelData
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = SSHChannelData

    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let data = Self.unwrapInboundIn(data)
        guard case .byteBuffer(let bytes) = data.data else { return }
        switch data.type {
        case .channel:
            context.fireChannelRead(Self.wrapInboundOut(bytes))
        default:
            self.logger.debug("server stderr: \(String(buffer: bytes))")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = Self.unwrapOutboundIn(data)
        context.write(Self.wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(bytes))), promise: promise)
    }
}

/// Asks for the `sftp` subsystem once the channel is open and reports the server's answer.
final class SubsystemRequestHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData

    private let answered: EventLoopPromise<Void>
    private var done = false

    init(answered: EventLoopPromise<Void>) {
        self.answered = answered
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.request(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.request(context: context)
        context.fireChannelActive()
    }

    private func request(context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(
            SSHChannelRequestEvent.SubsystemRequest(subsystem: "sftp", wantReply: true), promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelSuccessEvent:
            self.finish(nil)
        case is ChannelFailureEvent:
            self.finish(SSHClientError.subsystemRefused)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(SSHClientError.subsystemRefused)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.finish(SSHClientError.subsystemRefused)
    }

    private func finish(_ error: (any Error)?) {
        guard !self.done else { return }
        self.done = true
        if let error { self.answered.fail(error) } else { self.answered.succeed(()) }
    }
}

/// Hands framed SFTP packets to an AsyncStream. No read backpressure is needed: the client has at
/// most its in-flight requests' replies outstanding, which bounds what can arrive.
final class PacketStreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = SFTPPacket

    let continuation: AsyncThrowingStream<SFTPPacket, any Error>.Continuation

    init(continuation: AsyncThrowingStream<SFTPPacket, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.continuation.yield(Self.unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { self.continuation.finish() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.continuation.finish()
        context.fireChannelInactive()
    }
}
