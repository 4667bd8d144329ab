import NIOCore
import NIOSSH

/// Unwraps SSH channel data into plain bytes and back. Extended data (stderr) from a client
/// has no meaning for SFTP and is dropped.
final class SSHChannelDataCodec: ChannelDuplexHandler, Sendable {
    typealias InboundIn = SSHChannelData
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = SSHChannelData

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let data = Self.unwrapInboundIn(data)
        guard case .channel = data.type, case .byteBuffer(let bytes) = data.data else { return }
        context.fireChannelRead(Self.wrapInboundOut(bytes))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = Self.unwrapOutboundIn(data)
        context.write(Self.wrapOutboundOut(SSHChannelData(type: .channel, data: .byteBuffer(bytes))), promise: promise)
    }
}
