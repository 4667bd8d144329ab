import NIOCore

/// Sits in front of `NIOSSHHandler`. It binds the connection's `KeyExchangeGate` while
/// swift-nio-ssh processes inbound bytes, which is when it creates transport protections, and it
/// keeps back read-complete while the gate is shut.
///
/// swift-nio-ssh hands the channel data of a read to its channels at read-complete, and a channel
/// that consumes data answers with a window adjustment there and then: refused during a key
/// exchange, and the peer's window would shrink for good. So when the peer's `KEXINIT` came in
/// that read, read-complete reaches swift-nio-ssh only once the gate opens; what it wrote during
/// the read (its side of the key exchange) is flushed now.
public final class KeyExchangeGateScopeHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer

    public let gate: KeyExchangeGate
    private var context: ChannelHandlerContext?
    private var readCompleteHeld = false

    public init(gate: KeyExchangeGate) {
        self.gate = gate
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.gate.bind {
            context.fireChannelRead(data)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if self.gate.isOpen {
            context.fireChannelReadComplete()
            return
        }
        context.flush()
        guard !self.readCompleteHeld else { return }
        self.readCompleteHeld = true
        self.gate.whenOpen { [weak self] in
            guard let self, let context = self.context else { return }
            self.readCompleteHeld = false
            context.fireChannelReadComplete()
        }
    }
}
