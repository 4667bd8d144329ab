import Logging
import NIOCore
import NIOPosix
import NIOSSH
import SSHCiphers
import SFTPProtocol
import Synchronization
import WharfCore

/// Where and how to connect.
public struct SSHConnectionOptions: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    /// Tried in order, each where the server accepts its method.
    public var credentials: [SSHClientCredential]
    public var hostKeyVerifier: any HostKeyVerifier
    public var connectTimeout: Duration = .seconds(30)

    public init(host: String, port: Int = 22, user: String, credentials: [SSHClientCredential], hostKeyVerifier: any HostKeyVerifier) {
        self.host = host
        self.port = port
        self.user = user
        self.credentials = credentials
        self.hostKeyVerifier = hostKeyVerifier
    }
}

/// An authenticated SSH connection. It owns its TCP channel and every SSH channel opened on it;
/// `close()` closes them all and returns when they are closed.
public final class SSHClientConnection: Sendable {
    private let channel: any Channel
    private let logger: Logger

    private init(channel: any Channel, logger: Logger) {
        self.channel = channel
        self.logger = logger
    }

    /// Connects, checks the host key and logs in; returns once authentication has succeeded.
    public static func connect(
        _ options: SSHConnectionOptions,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> SSHClientConnection {
        let loop = group.next()
        let authenticated = loop.makePromise(of: Void.self)
        let userAuth = ClientAuthenticationDelegate(
            username: options.user, host: options.host, credentials: options.credentials, authenticated: authenticated)
        let hostKeys = HostKeyValidationDelegate(host: options.host, port: options.port, verifier: options.hostKeyVerifier)
        let timeoutMilliseconds = Int64(options.connectTimeout.components.seconds * 1000)
            + Int64(options.connectTimeout.components.attoseconds / 1_000_000_000_000_000)

        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(timeoutMilliseconds))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let configuration = SSHClientConfiguration(
                            userAuthDelegate: userAuth,
                            serverAuthDelegate: hostKeys,
                            transportProtectionSchemes: WharfTransportProtection.schemes
                        )
                        try channel.pipeline.syncOperations.addHandlers([
                            KeyExchangeGateScopeHandler(gate: KeyExchangeGate(eventLoop: channel.eventLoop)),
                            NIOSSHHandler(role: .client(configuration), allocator: channel.allocator, inboundChildChannelInitializer: nil),
                            AuthenticationWatcher(authenticated: authenticated),
                        ])
                    }
                }
                .connect(host: options.host, port: options.port)
                .get()
        } catch {
            authenticated.fail(error)
            throw SSHClientError.connectFailed(host: options.host, port: options.port, reason: Self.describe(error))
        }
        logger.debug("connected to \(options.host):\(options.port)")

        let deadline = loop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
            authenticated.fail(SSHClientError.timedOut("waiting for the SSH handshake and login"))
        }
        do {
            try await authenticated.futureResult.get()
            deadline.cancel()
        } catch {
            deadline.cancel()
            channel.close(promise: nil)
            if let rejection = hostKeys.rejection { throw rejection }
            if let clientError = error as? SSHClientError {
                switch clientError {
                case .timedOut, .authenticationFailed: throw clientError
                default: break
                }
            }
            if !userAuth.triedMethods.isEmpty || error is NIOSSHError {
                throw SSHClientError.authenticationFailed(user: options.user, host: options.host, tried: userAuth.triedMethods)
            }
            throw SSHClientError.connectFailed(host: options.host, port: options.port, reason: Self.describe(error))
        }
        logger.debug("authenticated as \(options.user) using \(userAuth.triedMethods.last ?? "none")")
        return SSHClientConnection(channel: channel, logger: logger)
    }

    /// Opens a session channel with the `sftp` subsystem and runs the SFTP handshake on it.
    public func openSFTP() async throws -> SFTPClient {
        let (packets, continuation) = AsyncThrowingStream.makeStream(of: SFTPPacket.self)
        let logger = self.logger
        let parent = self.channel
        let child: any Channel = try await parent.eventLoop.flatSubmit { () -> EventLoopFuture<any Channel> in
            let opened = parent.eventLoop.makePromise(of: (any Channel).self)
            let subsystem = parent.eventLoop.makePromise(of: Void.self)
            do {
                let handler = try parent.pipeline.syncOperations.handler(type: NIOSSHHandler.self)
                let keyExchangeGate = try parent.pipeline.syncOperations.handler(type: KeyExchangeGateScopeHandler.self).gate
                handler.createChannel(opened, channelType: .session) { child, _ in
                    child.eventLoop.makeCompletedFuture {
                        try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                        try child.pipeline.syncOperations.addHandlers([
                            KeyExchangeHoldHandler(gate: keyExchangeGate),
                            SubsystemRequestHandler(answered: subsystem),
                            ClientChannelDataCodec(logger: logger),
                            SFTPFrameHandler(maximumPacketLength: Self.maximumReplyLength, dataInPiecesFor: .data),
                            PacketStreamHandler(continuation: continuation),
                        ])
                    }
                }
            } catch {
                opened.fail(error)
                subsystem.fail(error)
            }
            return opened.futureResult.flatMap { child in subsystem.futureResult.map { child } }
        }.get()
        logger.debug("sftp subsystem started")
        return try await SFTPClient.connect(
            packets: packets,
            send: { packet in try await child.writeAndFlush(packet) },
            executor: EventLoopTaskExecutor(eventLoop: child.eventLoop),
            logger: logger)
    }

    /// Closes the connection and every channel on it.
    public func close() async {
        try? await self.channel.close()
    }

    /// Replies larger than this are refused: a client asks for at most 255 KiB per READ.
    static let maximumReplyLength = 1024 * 1024

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        return "\(error)"
    }
}

/// Completes when NIOSSH reports a successful login, fails when the connection fails first.
final class AuthenticationWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    private let authenticated: EventLoopPromise<Void>

    init(authenticated: EventLoopPromise<Void>) {
        self.authenticated = authenticated
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is UserAuthSuccessEvent { self.authenticated.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.authenticated.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.authenticated.fail(SSHClientError.closed)
        context.fireChannelInactive()
    }
}
