import Logging
import NIOCore
import NIOSSL

/// Hands the control connection's lines to the session, straight from the event loop: no reader
/// task sits between them, so an idle session holds no task, and a command costs no extra hop.
///
/// Lines are read ahead of the session by at most `credits`: each line takes one and the session
/// gives it back once the line is handled (`FTPInputCredits`). Without a credit the handler holds
/// the channel's next read, so a client that floods commands (for instance during a transfer)
/// stops being read instead of growing a queue without bound.
final class FTPControlInputHandler: ChannelDuplexHandler {
    typealias InboundIn = FTPControlInput
    typealias OutboundIn = NIOAny

    private let events: any FTPSessionEventSink
    private let logger: Logger
    private let peer: String
    private var credits: Int
    private var readHeld = false
    private var ended = false
    private var context: ChannelHandlerContext?

    init(events: any FTPSessionEventSink, credits: Int, logger: Logger, peer: String) {
        self.events = events
        self.logger = logger
        self.peer = peer
        self.credits = credits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.end()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.ended else { return }
        self.credits -= 1
        self.events.post(.input(self.unwrapInboundIn(data)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tlsError = error as? NIOSSLError, case .uncleanShutdown = tlsError {
            // Most clients close after QUIT without a TLS close_notify; nothing is lost on a control connection.
            self.logger.debug("FTP control connection from \(self.peer) closed without TLS close_notify")
        } else {
            self.logger.notice("FTP control connection from \(self.peer): \(error)")
        }
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.credits > 0 {
            context.read()
        } else {
            self.readHeld = true
        }
    }

    /// A handled line's credit comes back; a held read goes out once there is one.
    func grantCredit() {
        self.credits += 1
        if self.readHeld, self.credits > 0, let context = self.context {
            self.readHeld = false
            context.read()
        }
    }

    private func end() {
        guard !self.ended else { return }
        self.ended = true
        self.events.post(.inputEnded)
    }
}

@available(*, unavailable)
extension FTPControlInputHandler: Sendable {}
