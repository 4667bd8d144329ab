import FTPProtocol
import NIOCore

/// The whole pipeline of a connection refused at the door (too many connections): writes one
/// reply once the connection is active, then closes it. What the client sends is ignored.
///
/// The reply may wait (over implicit TLS, for a handshake the client never finishes): after
/// `patience` the connection is closed all the same, so a refused client cannot keep a descriptor.
final class FTPRefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let patience = TimeAmount.seconds(10)

    private let reply: FTPReply

    init(_ reply: FTPReply) {
        self.reply = reply
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.patience) { channel.close(promise: nil) }
        context.writeAndFlush(NIOAny(self.reply.encoded(allocator: channel.allocator))).whenComplete { _ in
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension FTPRefusalHandler: Sendable {}
