/// Why a connection could not be made or used; descriptions are one line for the command line.
public enum SSHClientError: Error, CustomStringConvertible, Sendable {
    case connectFailed(host: String, port: Int, reason: String)
    case authenticationFailed(user: String, host: String, tried: [String])
    case hostKeyRejected(String)
    case subsystemRefused
    case timedOut(String)
    case closed

    public var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason): return "cannot connect to \(host):\(port): \(reason)"
        case .authenticationFailed(let user, let host, let tried):
            let methods = tried.isEmpty ? "no usable method" : "tried \(tried.joined(separator: ", "))"
            return "authentication failed for \(user)@\(host) (\(methods))"
        case .hostKeyRejected(let why): return why
        case .subsystemRefused: return "the server refused the sftp subsystem"
        case .timedOut(let what): return "timed out \(what)"
        case .closed: return "the connection is closed"
        }
    }
}
