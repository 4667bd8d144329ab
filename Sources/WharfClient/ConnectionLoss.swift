import NIOCore
import NIOSSH

/// Whether an error means the connection went away (worth a reconnect and a resume) rather than
/// a refusal that another try would meet again (login, host key, no such file, permissions).
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
