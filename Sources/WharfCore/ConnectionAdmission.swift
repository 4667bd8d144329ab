import Synchronization

/// Counts open control connections, in total and per client address, against the configured limits.
///
/// One instance is shared by every listener of a server (SFTP, FTP, FTPS), so the limits are the
/// server's, as in SFTPGo: a client cannot double its share by switching protocols.
public final class ConnectionAdmission: Sendable {
    public let maximumConnections: Int
    public let maximumConnectionsPerAddress: Int
    private let state = Mutex<(total: Int, perAddress: [String: Int])>((0, [:]))

    public init(maximumConnections: Int, maximumConnectionsPerAddress: Int) {
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerAddress = maximumConnectionsPerAddress
    }

    /// Counts the connection in and returns true, or returns false when a limit is reached.
    public func admit(_ address: String) -> Bool {
        self.state.withLock { state in
            let fromAddress = state.perAddress[address, default: 0]
            guard state.total < self.maximumConnections, fromAddress < self.maximumConnectionsPerAddress else {
                return false
            }
            state.total += 1
            state.perAddress[address] = fromAddress + 1
            return true
        }
    }

    public func release(_ address: String) {
        self.state.withLock { state in
            state.total -= 1
            let remaining = state.perAddress[address, default: 1] - 1
            state.perAddress[address] = remaining > 0 ? remaining : nil
        }
    }

    public var count: Int { self.state.withLock { $0.total } }
}
