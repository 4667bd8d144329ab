import Foundation
import Logging
import NIOCore
import NIOPosix
import SSHTransport
import ServiceLifecycle
import WharfCore
import WharfStorage
import WharfUsers

/// `wharf serve`: the composition of user store, host keys, storage and listeners, run under
/// swift-service-lifecycle so that SIGTERM and SIGINT drain transfers instead of cutting them.
public enum WharfServerRunner {
    public static func run(configuration: ServerConfiguration, logger: Logger) async throws {
        let dataDirectory = HomeDirectory.absolute(configuration.dataDirectory)
        try prepareDataDirectory(dataDirectory)
        ResourceLimits.raiseOpenFileLimit()

        let store = try UserStore(dataDirectory: dataDirectory)
        try FirstStart.createDefaultUserIfNeeded(store: store, dataDirectory: dataDirectory, logger: logger)
        let hostKeys = try HostKeyStore.loadOrCreate(dataDirectory: dataDirectory)
        for key in hostKeys {
            logger.info("host key \(key.fingerprint) \(key.path)")
        }

        let pool = NIOThreadPool(numberOfThreads: max(4, System.coreCount * 2))
        pool.start()

        var sshConfiguration = SSHServer.Configuration(
            host: configuration.sftpHost, port: configuration.sftpPort, hostKeys: hostKeys.map(\.privateKey))
        sshConfiguration.failedLoginDelay = configuration.failedLoginDelay
        sshConfiguration.loginGraceTime = configuration.loginGraceTime
        sshConfiguration.maximumConnections = configuration.maximumConnections
        sshConfiguration.maximumConnectionsPerAddress = configuration.maximumConnectionsPerAddress
        sshConfiguration.shutdownGracePeriod = configuration.shutdownGracePeriod

        let server = SSHServer(
            configuration: sshConfiguration,
            authenticator: UserStoreAuthenticator(store: store),
            makeStorage: { user in
                _ = try HomeDirectory.prepare(user.home)
                return try LocalStorage(jailedAt: user.home, pool: pool)
            },
            group: MultiThreadedEventLoopGroup.singleton,
            pool: pool,
            logger: logger)

        let service = SSHService(server: server, gracePeriod: configuration.shutdownGracePeriod, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        try? await pool.shutdownGracefully()
        logger.info("server stopped")
    }

    private static func prepareDataDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ServerError.dataDirectoryNotADirectory(path) }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServerError.cannotCreateDataDirectory(path, "\(error)")
        }
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case dataDirectoryNotADirectory(String)
    case cannotCreateDataDirectory(String, String)

    public var description: String {
        switch self {
        case .dataDirectoryNotADirectory(let path): return "data directory \(path) is not a directory"
        case .cannotCreateDataDirectory(let path, let reason): return "cannot create data directory \(path): \(reason)"
        }
    }
}

/// The SSH listener as a lifecycle service: on graceful shutdown it stops accepting, lets running
/// sessions finish for the grace period, then closes what is left and says so.
struct SSHService: Service {
    let server: SSHServer
    let gracePeriod: Duration
    let logger: Logger

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.server.run { address in
                    self.logger.notice("SFTP listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
                }
            }
            group.addTask {
                // Returns when shutdown begins; throws (and we end quietly) if the server ends first.
                do { try await gracefulShutdown() } catch { return }
                self.server.stopAccepting()
                let open = self.server.connectionCount
                if open > 0 {
                    self.logger.notice("shutting down: waiting up to \(self.gracePeriod) for \(open) connection(s)")
                }
                do { try await Task.sleep(for: self.gracePeriod) } catch { return }
                let cut = self.server.closeAllConnections()
                if cut > 0 {
                    self.logger.warning("shutdown grace period over: closed \(cut) connection(s) still open")
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
