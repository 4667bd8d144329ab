import Logging
import NIOCore
import NIOSSH

/// Answers the requests on a `session` channel: the `sftp` subsystem is accepted once, everything
/// else (exec, shell, pty-req, env, x11, signals) is refused with a failure reply, so that the
/// client hears "no" instead of seeing the connection drop.
final class SessionRequestHandler: ChannelInboundHandler {
    typealias InboundIn = SSHChannelData

    private let subsystemRequested: EventLoopPromise<Void>
    /// Event-loop confined, like every handler's state.
    private var answered = false
    private let logger: Logger

    init(subsystemRequested: EventLoopPromise<Void>, logger: Logger) {
        self.subsystemRequested = subsystemRequested
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let request as SSHChannelRequestEvent.SubsystemRequest:
            // A second subsystem request on the same channel is refused, as OpenSSH does.
            if request.subsystem == "sftp", !self.answered {
                self.answered = true
                self.reply(context: context, success: true, wantReply: request.wantReply)
                self.subsystemRequested.succeed(())
            } else {
                self.logger.notice("refused subsystem \"\(request.subsystem)\"")
                self.reply(context: context, success: false, wantReply: request.wantReply)
            }
        case let request as SSHChannelRequestEvent.ExecRequest:
            self.refuse("exec", context: context, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.ShellRequest:
            self.refuse("shell", context: context, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.PseudoTerminalRequest:
            self.refuse("pty-req", context: context, wantReply: request.wantReply)
        case let request as SSHChannelRequestEvent.EnvironmentRequest:
            self.logger.debug("ignored env request for \(request.name)")
            self.reply(context: context, success: false, wantReply: request.wantReply)
        case is SSHChannelRequestEvent.WindowChangeRequest:
            break
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client went away before asking for the subsystem: the session never starts.
        self.failIfPending()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failIfPending()
    }

    private func failIfPending() {
        if !self.answered {
            self.answered = true
            self.subsystemRequested.fail(ChannelError.alreadyClosed)
        }
    }

    private func refuse(_ name: String, context: ChannelHandlerContext, wantReply: Bool) {
        self.logger.notice("refused \(name) request: only the sftp subsystem is served")
        self.reply(context: context, success: false, wantReply: wantReply)
    }

    private func reply(context: ChannelHandlerContext, success: Bool, wantReply: Bool) {
        guard wantReply else { return }
        if success {
            context.triggerUserOutboundEvent(ChannelSuccessEvent(), promise: nil)
        } else {
            context.triggerUserOutboundEvent(ChannelFailureEvent(), promise: nil)
        }
    }
}
