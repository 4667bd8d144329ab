import NIOCore

/// The first handler of an SSH channel's pipeline: while its connection's `KeyExchangeGate` is
/// shut, it keeps back what the channel would send (writes, flushes, closes, outbound events) and
/// its reads (a read can send a window adjustment), and passes them on in order when it opens.
///
/// What it keeps is bounded by one round trip of the key exchange: the peer cannot send requests
/// meanwhile.
public final class KeyExchangeHoldHandler: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = Any
    public typealias OutboundOut = Any

    private enum Operation {
        case write(NIOAny, EventLoopPromise<Void>?)
        case flush
        case read
        case close(CloseMode, EventLoopPromise<Void>?)
        case userEvent(Any, EventLoopPromise<Void>?)
    }

    private let gate: KeyExchangeGate
    /// Created at the first hold: a re-exchange is rare, and an idle session should not carry a
    /// buffer for it (CircularBuffer's default capacity is over a KiB per channel).
    private var held: CircularBuffer<Operation>? = nil
    private var waiting = false
    private var context: ChannelHandlerContext?

    public init(gate: KeyExchangeGate) {
        self.gate = gate
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        while let operation = self.held?.popFirst() {
            switch operation {
            case .write(_, let promise), .close(_, let promise), .userEvent(_, let promise):
                promise?.fail(ChannelError.ioOnClosedChannel)
            case .flush, .read:
                break
            }
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.pass(.write(data, promise), context: context)
    }

    public func flush(context: ChannelHandlerContext) {
        self.pass(.flush, context: context)
    }

    public func read(context: ChannelHandlerContext) {
        self.pass(.read, context: context)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        self.pass(.close(mode, promise), context: context)
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        self.pass(.userEvent(event, promise), context: context)
    }

    private func pass(_ operation: Operation, context: ChannelHandlerContext) {
        if self.held?.isEmpty ?? true, self.gate.isOpen {
            Self.perform(operation, context: context)
            return
        }
        if self.held == nil {
            self.held = CircularBuffer(initialCapacity: 16)
        }
        self.held?.append(operation)
        self.waitForGate()
    }

    private func waitForGate() {
        guard !self.waiting else { return }
        self.waiting = true
        self.gate.whenOpen { [weak self] in
            self?.release()
        }
    }

    private func release() {
        self.waiting = false
        guard let context = self.context else { return }
        while self.gate.isOpen, let operation = self.held?.popFirst() {
            Self.perform(operation, context: context)
        }
        if !(self.held?.isEmpty ?? true) {
            self.waitForGate()
        }
    }

    private static func perform(_ operation: Operation, context: ChannelHandlerContext) {
        switch operation {
        case .write(let data, let promise):
            context.write(data, promise: promise)
        case .flush:
            context.flush()
        case .read:
            context.read()
        case .close(let mode, let promise):
            context.close(mode: mode, promise: promise)
        case .userEvent(let event, let promise):
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }
}
