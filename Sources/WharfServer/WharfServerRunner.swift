import FTPProtocol
import FTPServer
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
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

        let store = try UserStore(dataDirectory: dataDirectory, cachingRecords: true)
        try FirstStart.createDefaultUserIfNeeded(store: store, dataDirectory: dataDirectory, logger: logger)
        if store.cachesRecords {
            logger.info("user records are cached between changes to \(store.databasePath) (inotify)")
        } else {
            logger.info("user records are read from \(store.databasePath) at every login (no inotify watch here)")
        }
        let hostKeys = try HostKeyStore.loadOrCreate(dataDirectory: dataDirectory)
        for key in hostKeys {
            logger.info("host key \(key.fingerprint) \(key.path)")
        }

        let pool = NIOThreadPool(numberOfThreads: max(4, System.coreCount * 2))
        pool.start()
        let admission = ConnectionAdmission(
            maximumConnections: configuration.maximumConnections,
            maximumConnectionsPerAddress: configuration.maximumConnectionsPerAddress)
        let authenticator = UserStoreAuthenticator(store: store)
        let storages = LocalStorageCache(pool: pool)
        let makeStorage: @Sendable (AuthenticatedUser) throws -> any Storage = { user in
            _ = try HomeDirectory.prepare(user.home)
            return try storages.storage(jailedAt: user.home, readOnly: user.readOnly)
        }
        // A home that is there, with its lookup in the kernel's cache: no mkdir needed, no pool.
        let makeStorageWithoutBlocking: @Sendable (AuthenticatedUser) -> (any Storage)? = { user in
            storages.storageWithoutBlocking(jailedAt: user.home, readOnly: user.readOnly)
        }
        var services: [any Service] = []

        if let listen = configuration.sftpListen {
            var sshConfiguration = SSHServer.Configuration(
                host: listen.host, port: listen.port, hostKeys: hostKeys.map(\.privateKey))
            sshConfiguration.failedLoginDelay = configuration.failedLoginDelay
            sshConfiguration.loginGraceTime = configuration.loginGraceTime
            sshConfiguration.shutdownGracePeriod = configuration.shutdownGracePeriod
            let server = SSHServer(
                configuration: sshConfiguration, authenticator: authenticator, makeStorage: makeStorage,
                admission: admission, group: MultiThreadedEventLoopGroup.singleton, pool: pool, logger: logger)
            services.append(
                ListenerService(
                    name: "SFTP", listener: server, gracePeriod: configuration.shutdownGracePeriod, logger: logger))
        }

        if configuration.ftpListen != nil || configuration.ftpsListen != nil {
            var tls: NIOSSLContext? = nil
            if configuration.ftpTLS != .off || configuration.ftpsListen != nil {
                let identity = try TLSCertificateStore.loadOrCreate(
                    dataDirectory: dataDirectory, certificatePath: configuration.tlsCertificatePath,
                    keyPath: configuration.tlsKeyPath)
                logger.info(
                    "TLS certificate \(identity.certificatePath) SHA-256 fingerprint \(identity.fingerprint)\(identity.wasGenerated ? " (generated, self-signed)" : "")")
                tls = try TLSCertificateStore.makeServerContext(for: identity)
            }
            var anonymousRoot: String? = nil
            if let root = configuration.ftpAnonymousRoot {
                anonymousRoot = HomeDirectory.absolute(root)
            }
            for (name, listen, implicitTLS) in [
                ("FTP", configuration.ftpListen, false), ("FTPS", configuration.ftpsListen, true),
            ] {
                guard let listen else { continue }
                var ftpConfiguration = FTPServer.Configuration(host: listen.host, port: listen.port)
                ftpConfiguration.implicitTLS = implicitTLS
                ftpConfiguration.tlsPolicy = implicitTLS ? .required : configuration.ftpTLS
                ftpConfiguration.passivePorts = configuration.ftpPassivePorts
                ftpConfiguration.publicHost = configuration.ftpPublicHost.flatMap { FTPIPAddress($0) }
                ftpConfiguration.activeModeEnabled = configuration.ftpActiveModeEnabled
                ftpConfiguration.idleTimeout = configuration.ftpIdleTimeout
                ftpConfiguration.dataTimeout = configuration.ftpDataTimeout
                ftpConfiguration.loginGraceTime = Duration(configuration.loginGraceTime)
                ftpConfiguration.failedLoginDelay = Duration(configuration.failedLoginDelay)
                ftpConfiguration.anonymousRoot = anonymousRoot
                let server = FTPServer(
                    configuration: ftpConfiguration, tls: tls, authenticator: authenticator, makeStorage: makeStorage,
                    makeStorageWithoutBlocking: makeStorageWithoutBlocking, admission: admission, group: MultiThreadedEventLoopGroup.singleton, pool: pool, logger: logger)
                services.append(
                    ListenerService(
                        name: name, listener: server, gracePeriod: configuration.shutdownGracePeriod, logger: logger))
            }
        }

        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
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
