/// Why an FTP client call failed. Each description is one line, fit for `wharf: <reason>`.
public enum FTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The TCP connection (control or data) could not be made.
    case connectFailed(host: String, port: Int, reason: String)
    /// Nothing came within the configured time; `what` says what was waited for.
    case timedOut(String)
    /// The server closed the control connection (or it failed) while a reply was awaited.
    case connectionClosed
    /// USER/PASS refused (530 and friends).
    case loginFailed(code: Int, text: String)
    /// `ftpes://`: the server refused AUTH TLS (or PBSZ/PROT), so the session cannot be protected.
    case tlsRefused(code: Int, text: String)
    /// The server refused a command with a 4xx or 5xx reply.
    case refused(command: String, path: String?, code: Int, text: String)
    /// A reply that makes no sense at this point, or cannot be read (a PASV reply without an address).
    case unexpectedReply(command: String, code: Int, text: String)
    /// The data connection broke or the server aborted the transfer (425, 426, 451, or the end of a
    /// data connection the server did not confirm): worth a retry that resumes.
    case transferAborted(String)
    /// A path FTP cannot carry (CR or LF in it).
    case unusablePath(String)

    /// The reply code of a refusal, for `RemoteFailure`.
    public var replyCode: Int? {
        if case .refused(_, _, let code, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "cannot connect to \(shownHost):\(port): \(reason)"
        case .timedOut(let what):
            return "timed out \(what)"
        case .connectionClosed:
            return "the FTP server closed the connection"
        case .loginFailed(let code, let text):
            return "login failed: \(code) \(text)"
        case .tlsRefused(let code, let text):
            return "the server refused TLS: \(code) \(text)"
        case .refused(let command, let path, let code, let text):
            if let path { return "\(path): \(text) (\(command): \(code))" }
            return "\(command) refused: \(code) \(text)"
        case .unexpectedReply(let command, let code, let text):
            return "unexpected reply to \(command): \(code) \(text)"
        case .transferAborted(let reason):
            return "transfer aborted: \(reason)"
        case .unusablePath(let path):
            return "\(path.debugDescription): FTP cannot carry line breaks in a path"
        }
    }
}
