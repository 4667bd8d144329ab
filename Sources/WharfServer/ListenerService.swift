import FTPServer
import Logging
import NIOCore
import SSHTransport
import ServiceLifecycle

/// What shutdown needs from a listener: stop accepting, count and cut what is left.
protocol DrainableListener: Sendable {
    func run(onBound: @Sendable (SocketAddress) -> Void) async throws
    func stopAccepting()
    var connectionCount: Int { get }
    func closeAllConnections() -> Int
}

extension SSHServer: DrainableListener {}
extension FTPServer: DrainableListener {}

/// A listener as a lifecycle service: on graceful shutdown it stops accepting, lets running
/// transfers finish for the grace period, then closes what is left and says so.
struct ListenerService: Service {
    /// "SFTP", "FTP" or "FTPS", for the log lines tests and users look for.
    let name: String
    let listener: any DrainableListener
    let gracePeriod: Duration
    let logger: Logger

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.listener.run { address in
                    self.logger.notice("\(self.name) listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
                }
            }
            group.addTask {
                // Returns when shutdown begins; throws (and we end quietly) if the server ends first.
                do { try await gracefulShutdown() } catch { return }
                self.listener.stopAccepting()
                let open = self.listener.connectionCount
                if open > 0 {
                    self.logger.notice(
                        "shutting down \(self.name): waiting up to \(self.gracePeriod) for \(open) connection(s)")
                }
                do { try await Task.sleep(for: self.gracePeriod) } catch { return }
                let cut = self.listener.closeAllConnections()
                if cut > 0 {
                    self.logger.warning("\(self.name) shutdown grace period over: closed \(cut) connection(s) still open")
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
