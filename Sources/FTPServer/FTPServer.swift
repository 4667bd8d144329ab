#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import FTPProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import WharfCore

/// One FTP listener: explicit FTP with AUTH TLS, or implicit FTPS.
///
/// Ownership: `run()` owns the session registry and returns only once it is empty; the registry
/// owns each session's driver (`FTPSessionDriver`), which owns the session and the task that
/// handles its events while it has any; the session owns its one running transfer, which it
/// awaits before it ends. Shutdown stops accepting, lets running transfers finish, tells idle
/// sessions 421, and after the grace period closes what is left.
public final class FTPServer: Sendable {
    /// Makes the storage a logged-in user sees; throwing refuses the login.
    public typealias StorageFactory = @Sendable (AuthenticatedUser) throws -> any Storage
    /// The same storage when it can be made without blocking (on an event loop); nil: use the
    /// `StorageFactory` on the pool.
    public typealias NonBlockingStorageFactory = @Sendable (AuthenticatedUser) -> (any Storage)?

    private let configuration: Configuration
    private let environment: FTPSessionEnvironment
    private let admission: ConnectionAdmission
    private let group: any EventLoopGroup
    private let logger: Logger
    private let live = LiveConnections()
    private let sessions = FTPSessionRegistry()
    private let acceptLoop = AcceptLoop()
    /// Sessions run their tasks on their connection's loop, through that loop's shared executor.
    private let executors = EventLoopTaskExecutors()
    private let timeouts: FTPTimeoutSweeps

    /// `tls` is required for implicit TLS and for AUTH TLS; without it TLS is off.
    public init(
        configuration: Configuration, tls: NIOSSLContext?, authenticator: any FTPUserAuthenticator,
        makeStorage: @escaping StorageFactory, makeStorageWithoutBlocking: NonBlockingStorageFactory? = nil,
        admission: ConnectionAdmission, group: any EventLoopGroup, pool: NIOThreadPool, logger: Logger
    ) {
        var configuration = configuration
        if tls == nil { configuration.tlsPolicy = .off }
        self.configuration = configuration
        self.environment = FTPSessionEnvironment(
            configuration: configuration, tls: configuration.tlsPolicy == .off && !configuration.implicitTLS ? nil : tls,
            authenticator: authenticator, makeStorage: makeStorage, makeStorageWithoutBlocking: makeStorageWithoutBlocking,
            pool: pool)
        self.admission = admission
        self.timeouts = FTPTimeoutSweeps(idle: configuration.idleTimeout, loginGrace: configuration.loginGraceTime)
        self.group = group
        self.logger = logger
    }

    public var localAddress: SocketAddress? { self.acceptLoop.localAddress }

    public var connectionCount: Int { self.live.count }

    /// Binds, then serves until `stopAccepting()` is called and every connection has ended.
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        if self.configuration.implicitTLS && self.environment.tls == nil {
            throw FTPServerError.implicitTLSWithoutCertificate
        }
        let listeners = try await PerLoopListeners.bindStartingConnections(
            group: self.group, host: self.configuration.host, port: self.configuration.port, logger: self.logger
        ) { channel in
            try self.startConnection(channel)
        }
        await self.acceptLoop.run(listeners, onBound: onBound)
        // The listeners only start sessions; the sessions themselves end later.
        await self.sessions.waitUntilEmpty()
    }

    /// Stops accepting; sessions without a transfer are told 421 and closed, transfers go on.
    public func stopAccepting() {
        self.acceptLoop.stopAccepting()
        self.sessions.shutDownAll()
    }

    /// Closes every connection still open, for the end of the grace period.
    public func closeAllConnections() -> Int {
        self.live.closeAll()
    }

    // MARK: - Per connection

    /// On the connection's event loop, before it is registered: socket options, admission, the
    /// pipeline and the session, synchronously. The input handler greets once the connection is
    /// active; from then on the session runs in tasks of its own only while it has events
    /// (`FTPSessionDriver`), so an idle session holds no task. The registry owns the session.
    private func startConnection(_ channel: any Channel) throws {
        if let options = channel.syncOptions {
            // Control connections carry short lines, and each channel keeps its last receive buffer
            // for as long as it lives: start at 64 bytes, enough for a command; a longer line or a
            // TLS handshake fills it and the next reads grow.
            try options.setOption(
                ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 64, maximum: 4096))
            // Clients send ABOR's last byte as TCP urgent data (RFC 959's Synch; Python's ftplib
            // does). Without SO_OOBINLINE the kernel takes that byte out of the stream and the
            // ABOR line never ends.
            try options.setOption(ChannelOptions.socketOption(NIOBSDSocket.Option(rawValue: SO_OOBINLINE)), value: 1)
        }
        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        let peer = channel.peerDescription
        let operations = channel.pipeline.syncOperations
        if self.configuration.implicitTLS, let tls = self.environment.tls {
            try operations.addHandler(NIOSSLServerHandler(context: tls))
        }
        guard self.admission.admit(address) else {
            self.logger.warning("refused FTP connection from \(peer): too many connections")
            try operations.addHandler(FTPRefusalHandler(FTPReply(code: 421, "Too many connections; try again later.")))
            return
        }
        let admission = self.admission
        channel.closeFuture.whenComplete { _ in admission.release(address) }

        let driver = FTPSessionDriver(executor: self.executors.executor(for: channel.eventLoop))
        let epoch = self.configuration.implicitTLS ? 1 : 0
        let inputHandler = FTPControlInputHandler(
            events: driver, greeting: FTPReply(code: 220, self.configuration.greeting),
            maximumLineLength: self.configuration.maximumLineLength, epoch: epoch, logger: self.logger, peer: peer)
        try operations.addHandler(inputHandler)
        let control = FTPControlChannel(channel: channel, input: inputHandler)

        let liveToken = self.live.insert(channel)
        let logger = FTPSessionLogger(base: self.logger, peer: peer)
        logger.info("FTP connection from \(peer)\(self.configuration.implicitTLS ? " (implicit TLS)" : "")")
        let registration = self.sessions.register(driver)
        let activity = FTPActivity()
        let session = FTPSession(
            environment: self.environment, control: control, driver: driver,
            activity: activity, tlsActive: self.configuration.implicitTLS, epoch: epoch, logger: logger)
        let timeouts = self.timeouts.sweep(for: channel.eventLoop)
        timeouts.add(activity, of: driver)
        // Kept by every idle session until it ends: what the end needs and no more.
        driver.attach(session) { [live, sessions] session in
            session.control.close()
            // The session's logger: its metadata has the user once logged in.
            session.logger.info(
                "FTP connection from \(session.logger.peer) closed after \((ContinuousClock.now - session.activity.connectedAt).logDescription)")
            timeouts.remove(session.driver)
            live.remove(liveToken)
            sessions.unregister(registration)
        }
        if self.acceptLoop.isStopping { driver.post(.shutdown) }
    }
}

public enum FTPServerError: Error, CustomStringConvertible {
    case implicitTLSWithoutCertificate

    public var description: String {
        switch self {
        case .implicitTLSWithoutCertificate: return "implicit FTPS needs a TLS certificate"
        }
    }
}

/// The running sessions' drivers: shutdown tells each of them, and `run` waits until none is left.
final class FTPSessionRegistry: Sendable {
    private struct State {
        var next = 0
        var sessions: [Int: FTPSessionDriver] = [:]
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func register(_ driver: FTPSessionDriver) -> Int {
        self.state.withLock { state in
            state.next += 1
            state.sessions[state.next] = driver
            return state.next
        }
    }

    func unregister(_ token: Int) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.sessions.removeValue(forKey: token)
            guard state.sessions.isEmpty else { return [] }
            defer { state.emptyWaiters = [] }
            return state.emptyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func shutDownAll() {
        let sessions = self.state.withLock { Array($0.sessions.values) }
        for session in sessions { session.post(.shutdown) }
    }

    /// Returns once no session is registered.
    func waitUntilEmpty() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let empty = self.state.withLock { state -> Bool in
                if state.sessions.isEmpty { return true }
                state.emptyWaiters.append(waiter)
                return false
            }
            if empty { waiter.resume() }
        }
    }
}
