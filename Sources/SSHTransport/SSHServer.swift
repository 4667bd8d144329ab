import Logging
import NIOCore
import NIOPosix
import NIOSSH
import SSHCiphers
import SFTPProtocol
import SFTPServer
import Synchronization
import WharfCore

/// The SSH listener: accepts connections, authenticates users, and serves the `sftp` subsystem
/// on their session channels.
///
/// Ownership: `run()` owns one task per connection, and each connection task owns one task per
/// session channel (structured task groups, nothing detached). A session ends by closing its
/// handles and awaiting its exit hook before its channel is closed; a connection task ends after
/// all its channels.
public final class SSHServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var hostKeys: [NIOSSHPrivateKey]
        public var failedLoginDelay: TimeAmount = .seconds(1)
        /// A connection not logged in by then is closed (OpenSSH's LoginGraceTime).
        public var loginGraceTime: TimeAmount = .seconds(120)
        public var maximumAuthenticationAttempts = 6
        /// Connections still running this long after shutdown began are closed.
        public var shutdownGracePeriod: Duration = .seconds(30)
        public var sftp = SFTPSessionConfiguration()

        public init(host: String, port: Int, hostKeys: [NIOSSHPrivateKey]) {
            self.host = host
            self.port = port
            self.hostKeys = hostKeys
        }
    }

    /// Makes the storage a logged-in user sees; throwing refuses the session.
    public typealias StorageFactory = @Sendable (AuthenticatedUser) throws -> any Storage
    /// Awaited when a session ends, after its handles are closed.
    public typealias SessionExitHook = @Sendable (AuthenticatedUser) async -> Void

    private let configuration: Configuration
    private let authenticator: any SSHUserAuthenticator
    private let makeStorage: StorageFactory
    private let exitHook: SessionExitHook?
    private let group: any EventLoopGroup
    private let pool: NIOThreadPool
    private let logger: Logger
    private let live = LiveConnections()
    private let admission: ConnectionAdmission
    private let acceptLoop = AcceptLoop()
    private let executors = EventLoopTaskExecutors()

    public init(
        configuration: Configuration, authenticator: any SSHUserAuthenticator, makeStorage: @escaping StorageFactory,
        exitHook: SessionExitHook? = nil, admission: ConnectionAdmission, group: any EventLoopGroup,
        pool: NIOThreadPool, logger: Logger
    ) {
        self.admission = admission
        self.configuration = configuration
        self.authenticator = authenticator
        self.makeStorage = makeStorage
        self.exitHook = exitHook
        self.group = group
        self.pool = pool
        self.logger = logger
    }

    /// The address the listener is bound to, once `run()` has bound it.
    public var localAddress: SocketAddress? { self.acceptLoop.localAddress }

    /// Binds, then serves until `stopAccepting()` is called and every connection has ended.
    /// `onBound` is called once the listener is bound (tests and logs use the chosen port).
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        let listeners = try await PerLoopListeners.bind(
            group: self.group, host: self.configuration.host, port: self.configuration.port, logger: self.logger
        ) { channel in
            try self.setUpConnection(channel)
        }
        // A connection's task waits for its sessions on its channel's event loop, where they open.
        try await self.acceptLoop.run(
            listeners, logger: self.logger, onBound: onBound,
            executor: { [executors] in executors.executor(for: $0.channel.eventLoop) }
        ) { connection in
            await self.serve(connection)
        }
    }

    /// Stops accepting. Running transfers go on; after the grace period, connections are closed.
    public func stopAccepting() {
        self.acceptLoop.stopAccepting()
    }

    /// Closes every connection still open, for the end of the grace period.
    public func closeAllConnections() -> Int {
        self.live.closeAll()
    }

    public var connectionCount: Int { self.live.count }

    // MARK: - Per connection

    struct Connection: Sendable {
        let channel: any Channel
        let delegate: AuthenticationDelegate
        let sessions: AsyncStream<SessionChannel>
        let peer: String
        /// False for a connection refused by the limits: it is already closing.
        let admitted: Bool
    }

    struct SessionChannel: Sendable {
        let channel: NIOAsyncChannel<SFTPPacket, ByteBuffer>
        let subsystemRequested: EventLoopFuture<Void>
    }

    /// Runs on the connection's event loop, inside the accept path: synchronous pipeline set-up only.
    private func setUpConnection(_ channel: any Channel) throws -> Connection {
        let peer = channel.peerDescription
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(peer)"

        let address = channel.remoteAddress?.ipAddress ?? "unknown"
        // Connections beyond the server's limits are closed as soon as they are accepted.
        guard self.admission.admit(address) else {
            logger.warning("refused connection from \(peer): too many connections")
            channel.close(promise: nil)
            let (sessions, continuation) = AsyncStream.makeStream(of: SessionChannel.self)
            continuation.finish()
            let delegate = AuthenticationDelegate(
                authenticator: self.authenticator, pool: self.pool, failureDelay: .zero, logger: logger, peer: peer)
            return Connection(channel: channel, delegate: delegate, sessions: sessions, peer: peer, admitted: false)
        }
        let admission = self.admission
        channel.closeFuture.whenComplete { _ in admission.release(address) }
        let delegate = AuthenticationDelegate(
            authenticator: self.authenticator, pool: self.pool, failureDelay: self.configuration.failedLoginDelay,
            logger: logger, peer: peer)
        let (sessions, continuation) = AsyncStream.makeStream(of: SessionChannel.self)
        let frameLimit = self.configuration.sftp.maximumPacketLength

        var serverConfiguration = SSHServerConfiguration(
            hostKeys: self.configuration.hostKeys, userAuthDelegate: delegate)
        serverConfiguration.transportProtectionSchemes = WharfTransportProtection.schemes
        serverConfiguration.maxAuthAttempts = self.configuration.maximumAuthenticationAttempts

        let keyExchangeGate = KeyExchangeGate(eventLoop: channel.eventLoop)
        let handler = NIOSSHHandler(
            role: .server(serverConfiguration),
            allocator: channel.allocator,
            inboundChildChannelInitializer: { child, channelType in
                guard case .session = channelType else {
                    // Port forwarding and other channel types: the client gets an open failure.
                    logger.notice("refused \(channelType) channel")
                    return child.eventLoop.makeFailedFuture(SSHServerError.channelTypeRefused)
                }
                return child.eventLoop.makeCompletedFuture {
                    // A client's EOF ends the request stream but not the replies still to come.
                    try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                    let subsystem = child.eventLoop.makePromise(of: Void.self)
                    try child.pipeline.syncOperations.addHandlers([
                        KeyExchangeHoldHandler(gate: keyExchangeGate),
                        SessionRequestHandler(subsystemRequested: subsystem, logger: logger),
                        SSHChannelDataCodec(),
                        SFTPFrameHandler(maximumPacketLength: frameLimit, dataInPiecesFor: .write),
                    ])
                    let asyncChannel = try NIOAsyncChannel<SFTPPacket, ByteBuffer>(
                        wrappingChannelSynchronously: child)
                    continuation.yield(SessionChannel(channel: asyncChannel, subsystemRequested: subsystem.futureResult))
                }
            })
        try channel.pipeline.syncOperations.addHandlers([
            KeyExchangeGateScopeHandler(gate: keyExchangeGate), handler, ConnectionErrorHandler(logger: logger),
        ])
        // A client that connects and never logs in (or never speaks) holds a socket and memory:
        // close it after the grace time. The timer belongs to the channel's event loop.
        let graceLogger = logger
        let graceTimer = channel.eventLoop.scheduleTask(in: self.configuration.loginGraceTime) {
            if delegate.user == nil {
                graceLogger.notice("closing connection: not logged in within the login grace time")
                channel.close(promise: nil)
            }
        }
        channel.closeFuture.whenComplete { _ in
            graceTimer.cancel()
            continuation.finish()
        }
        return Connection(channel: channel, delegate: delegate, sessions: sessions, peer: peer, admitted: true)
    }

    /// The connection's task: its frames stay for as long as the connection does, so the logging
    /// (string interpolation, metadata dictionaries) is in synchronous calls, on the thread's stack.
    private func serve(_ connection: Connection) async {
        guard connection.admitted else { return }
        let token = self.live.insert(connection.channel)
        defer { self.live.remove(token) }
        self.logOpened(connection)
        let started = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            for await session in connection.sessions {
                group.addTask { await self.serveSession(session, on: connection) }
            }
        }
        self.logClosed(connection, after: ContinuousClock.now - started)
    }

    @inline(never)
    private func logOpened(_ connection: Connection) {
        self.logger.info("connection from \(connection.peer)", metadata: ["peer": "\(connection.peer)"])
    }

    @inline(never)
    private func logClosed(_ connection: Connection, after duration: Duration) {
        let user = connection.delegate.user?.name ?? "-"
        self.logger.info(
            "connection from \(connection.peer) closed after \(duration.logDescription)",
            metadata: ["peer": "\(connection.peer)", "user": "\(user)"])
    }

    /// Set-up and serving are calls of their own, not inlined: the session's task keeps, for as long
    /// as the session lasts, the slabs of the deepest chain of async frames it ran, and the chain
    /// that waits for requests should not carry set-up's locals.
    private func serveSession(_ session: SessionChannel, on connection: Connection) async {
        guard let started = await self.startSFTP(session, on: connection) else { return }
        await self.runSFTP(started.sftp, on: session.channel, logger: started.logger)
        started.logger.info("session closed for local user \(started.userName) from \(connection.peer)")
    }

    /// The SFTP session for a channel that asked for the subsystem; nil (and the channel closed)
    /// when it did not, or when the user's home cannot be opened. Only what crosses an `await`
    /// is in this frame; the session is put together in a synchronous call.
    @inline(never)
    private func startSFTP(
        _ session: SessionChannel, on connection: Connection
    ) async -> (sftp: SFTPSession, logger: Logger, userName: String)? {
        do {
            try await session.subsystemRequested.get()
        } catch {
            // Closed without asking for sftp, or refused requests only.
            try? await session.channel.channel.close()
            return nil
        }
        guard let user = connection.delegate.user else {
            try? await session.channel.channel.close()
            return nil
        }
        let storage: any Storage
        do {
            // Preparing the home directory is file I/O: off the event loop this session runs on.
            let makeStorage = self.makeStorage
            storage = try await self.pool.runIfActive { try makeStorage(user) }
        } catch {
            self.sessionLogger(for: user, on: connection).error("cannot open home \(user.home) for \(user.name): \(error)")
            try? await session.channel.channel.close()
            return nil
        }
        return self.makeSFTPSession(for: user, storage: storage, on: connection)
    }

    @inline(never)
    private func sessionLogger(for user: AuthenticatedUser, on connection: Connection) -> Logger {
        var logger = self.logger
        logger[metadataKey: "user"] = "\(user.name)"
        logger[metadataKey: "peer"] = "\(connection.peer)"
        return logger
    }

    @inline(never)
    private func makeSFTPSession(
        for user: AuthenticatedUser, storage: any Storage, on connection: Connection
    ) -> (sftp: SFTPSession, logger: Logger, userName: String) {
        let logger = self.sessionLogger(for: user, on: connection)
        var configuration = self.configuration.sftp
        configuration.userName = user.name
        configuration.dataHeaderFillLength = SFTPSessionConfiguration.sshChannelDataHeaderFillLength
        logger.info("session opened for local user \(user.name) from \(connection.peer)")
        var sessionExitHook: (@Sendable () async -> Void)? = nil
        if let exitHook = self.exitHook {
            sessionExitHook = { @Sendable in await exitHook(user) }
        }
        let sftp = SFTPSession(storage: storage, configuration: configuration, logger: logger, exitHook: sessionExitHook)
        return (sftp, logger, user.name)
    }

    @inline(never)
    private func runSFTP(_ sftp: SFTPSession, on asyncChannel: NIOAsyncChannel<SFTPPacket, ByteBuffer>, logger: Logger) async {
        let channel = asyncChannel.channel
        do {
            // The body always leaves by throwing `SessionFinished`: NIOSSH fails a child channel's
            // closeFuture when the TCP connection drops under it, and NIOAsyncChannel asserts on a
            // failed closeFuture only on its normal exit path, not on the error path.
            try await asyncChannel.executeThenClose { inbound, _ in
                // Replies are written straight to the channel; `drain()` awaits the last write, whose
                // promise completes only once NIOSSH has sent the data within the flow-control
                // window, so nothing is left queued that a close could drop.
                var exitStatus = 0
                let writer = ChannelReplyWriter(channel: channel)
                do {
                    // The session runs on the channel's event loop: it receives from and writes to
                    // that loop, so each request then costs no hop to the cooperative pool and back.
                    try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: channel.eventLoop)) {
                        try await sftp.run(packets: inbound) { reply, payload in try await writer.send(reply, payload) }
                        try await writer.drain()
                    }
                } catch {
                    logger.debug("session ended: \(error)")
                    exitStatus = 1
                }
                // sshd reports the subsystem's exit; scp and `ssh -s` fail without one.
                try? await channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: exitStatus)).get()
                throw SessionFinished()
            }
        } catch is SessionFinished {
        } catch {
            logger.debug("session channel closed: \(error)")
        }
    }
}

enum SSHServerError: Error {
    case channelTypeRefused
}

/// Thrown to leave `executeThenClose` by its error path; see `serveSession`.
struct SessionFinished: Error {}

/// Logs and closes on a connection-level error (bad packets, failed key exchange).
final class ConnectionErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.notice("connection error: \(error)")
        context.close(promise: nil)
    }
}
