import NIOCore
import NIOSSH
import WharfTLS

/// Whether an error means the connection went away (worth a reconnect and a resume) rather than
/// a refusal that another try would meet again (login, host key, certificate, no such file,
/// permissions). A transfer that ended short counts as lost: a retry resumes it.
public enum ConnectionLoss {
    public static func matches(_ error: any Error) -> Bool {
        switch error {
        case let error as SSHClientError:
            switch error {
            case .connectFailed, .timedOut, .closed: return true
            case .authenticationFailed, .hostKeyRejected, .subsystemRefused: return false
            }
        case let error as SFTPClientError:
            return error == .connectionClosed
        case let error as FTPClientError:
            switch error {
            case .connectFailed, .timedOut, .connectionClosed, .transferAborted: return true
            case .refused(_, _, let code, _): return code == 421
            case .loginFailed, .tlsRefused, .unexpectedReply, .unusablePath: return false
            }
        case let error as TLSClientError:
            switch error {
            case .uncleanShutdown, .closedDuringHandshake, .handshakeTimeout, .protocolFailure: return true
            case .configuration, .certificateVerificationFailed, .hostnameMismatch, .handshakeFailed, .writeAfterClose,
                .resourceFailure:
                return false
            }
        case let error as FileTransferError:
            if case .incomplete = error { return true }
            return false
        case let error as TransferFailure:
            return Self.matches(error.error)
        case let error as NIOSSHError:
            return error.type == .tcpShutdown || error.type == .creatingChannelAfterClosure
        case is IOError, is ChannelError:
            return true
        default:
            return false
        }
    }
}
