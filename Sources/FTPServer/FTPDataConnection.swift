import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A passive-mode listener (PASV/EPSV) waiting for one data connection.
///
/// Only a connection from the control connection's address is accepted (RFC 2577's defence
/// against port stealing); any other is logged and closed, and the listener keeps waiting for the
/// right one. Accepted channels do not read until the transfer has set up their pipeline.
final class FTPPassiveListener: Sendable {
    let port: Int
    private let server: any Channel
    private let accepted: EventLoopFuture<any Channel>
    private let claimed = Atomic<Bool>(false)

    private init(port: Int, server: any Channel, accepted: EventLoopFuture<any Channel>) {
        self.port = port
        self.server = server
        self.accepted = accepted
    }

    /// Binds on `host` to a port in `ports` (probed in random order), or to any port.
    /// With `tls` (PROT P at PASV time) the TLS handshake starts as soon as the client connects,
    /// as the client expects: curl handshakes on the data connection before it sends RETR and
    /// only polls the control connection meanwhile.
    static func open(
        host: String, ports: ClosedRange<Int>?, expectedPeer: String, tls: NIOSSLContext?, on eventLoop: any EventLoop,
        logger: Logger
    ) async throws -> FTPPassiveListener {
        let candidates = ports.map { PassivePortCandidates.order(of: $0) } ?? [0]
        var lastError: (any Error)? = nil
        for port in candidates {
            // The first connection from the right address fulfils the promise; closing the
            // listener first fails it. Both happen on `eventLoop`, which the guard below serialises.
            let promise = eventLoop.makePromise(of: (any Channel).self)
            let settled = Mutex(false)
            let settle: @Sendable (Result<any Channel, any Error>) -> Bool = { result in
                guard settled.withLock({ done in
                    defer { done = true }
                    return !done
                }) else { return false }
                promise.completeWith(result)
                return true
            }
            do {
                let server = try await ServerBootstrap(group: eventLoop)
                    .serverChannelOption(.backlog, value: 4)
                    // A port whose last data connection is in TIME_WAIT is free to listen on again
                    // (Linux still refuses a port another socket listens on or is connected from).
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    // The client's end of an upload must not close the channel before the gate opens.
                    .childChannelOption(.allowRemoteHalfClosure, value: true)
                    .childChannelOption(.recvAllocator, value: FTPDataChannel.receiveAllocator)
                    .childChannelInitializer { child in
                        let peer = child.remoteAddress?.ipAddress ?? "unknown"
                        guard peer == expectedPeer else {
                            logger.warning(
                                "refused data connection from \(peer): the control connection is from \(expectedPeer)")
                            return child.close()
                        }
                        // Handed over once registered and active: the bootstrap registers the child
                        // only after this initializer, and pipeline work before that can fail.
                        return child.eventLoop.makeCompletedFuture {
                            let operations = child.pipeline.syncOperations
                            if let tls { try operations.addHandler(NIOSSLServerHandler(context: tls)) }
                            try operations.addHandler(
                                FTPDataChannelGate { channel in
                                    if !settle(.success(channel)) { channel.close(promise: nil) }
                                })
                        }
                    }
                    // A numeric address: `bind(host:)` would resolve it with getaddrinfo, a
                    // netlink query of the machine's addresses on every PASV.
                    .bind(to: try SocketAddress(ipAddress: host, port: port))
                    .get()
                server.closeFuture.whenComplete { _ in _ = settle(.failure(FTPDataConnectionError.listenerClosed)) }
                guard let bound = server.localAddress?.port else {
                    server.close(promise: nil)
                    throw FTPDataConnectionError.cannotListen("no local port")
                }
                return FTPPassiveListener(port: bound, server: server, accepted: promise.futureResult)
            } catch {
                _ = settle(.failure(error))
                lastError = error
            }
        }
        throw FTPDataConnectionError.cannotListen("\(lastError.map { "\($0)" } ?? "no port free")")
    }

    /// The first connection from the right peer; throws once the listener is closed (ABOR, timeout).
    func accept() async throws -> any Channel {
        let channel = try await self.accepted.get()
        self.claimed.store(true, ordering: .releasing)
        return channel
    }

    /// Stops listening; a connection that arrived but no transfer took (PASV, connect, then PASV
    /// again or QUIT) is closed with it.
    func close() {
        self.server.close(promise: nil)
        self.accepted.whenSuccess { channel in
            if !self.claimed.load(ordering: .acquiring) { channel.close(promise: nil) }
        }
    }
}

/// Added to every data channel before it is registered (after the TLS handler when TLS starts at
/// once).
///
/// It reports the channel once active and holds what arrives (bytes, the client's end of input,
/// errors) until the transfer has built the rest of the pipeline and calls `open`. A client
/// may send a whole small upload and close before the STOR handler runs; without the gate
/// those bytes would reach the end of an empty pipeline and be lost. Past `holdLimit` bytes it
/// stops asking the socket for more, so an early sender cannot make it buffer without bound.
final class FTPDataChannelGate: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let holdLimit = 256 * 1024

    private enum Held {
        case read(NIOAny)
        case event(Any)
        case error(any Error)
        case inactive
    }

    private let onActive: (@Sendable (any Channel) -> Void)?
    private var held: [Held] = []
    private var heldBytes = 0
    private var readDeferred = false
    private var isOpen = false
    private var context: ChannelHandlerContext?

    init(onActive: (@Sendable (any Channel) -> Void)? = nil) {
        self.onActive = onActive
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        self.onActive?(context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.isOpen {
            context.fireChannelRead(data)
        } else {
            self.heldBytes += self.unwrapInboundIn(data).readableBytes
            self.held.append(.read(data))
        }
    }

    func read(context: ChannelHandlerContext) {
        if self.isOpen || self.heldBytes < Self.holdLimit {
            context.read()
        } else {
            self.readDeferred = true
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.isOpen { context.fireChannelReadComplete() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if self.isOpen { context.fireUserInboundEventTriggered(event) } else { self.held.append(.event(event)) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.isOpen { context.fireErrorCaught(error) } else { self.held.append(.error(error)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.isOpen { context.fireChannelInactive() } else { self.held.append(.inactive) }
    }

    /// Closes the socket from the head of the pipeline, past the TLS handler: an aborted or
    /// stalled transfer must end now, not after waiting for the client's close_notify.
    func closeAbruptly() {
        self.context?.close(promise: nil)
    }

    /// Lets everything through, starting with what was held. On the channel's event loop.
    func open() {
        guard !self.isOpen, let context = self.context else { return }
        self.isOpen = true
        let held = self.held
        self.held = []
        var readAny = false
        for item in held {
            switch item {
            case .read(let data):
                readAny = true
                context.fireChannelRead(data)
            case .event(let event):
                if readAny { context.fireChannelReadComplete() }
                readAny = false
                context.fireUserInboundEventTriggered(event)
            case .error(let error):
                context.fireErrorCaught(error)
            case .inactive:
                context.fireChannelInactive()
            }
        }
        if readAny { context.fireChannelReadComplete() }
        self.heldBytes = 0
        if self.readDeferred {
            self.readDeferred = false
            context.read()
        }
    }
}

enum FTPDataConnectionError: Error, CustomStringConvertible {
    case cannotListen(String)
    case listenerClosed
    case timedOut
    /// PROT C came after PASV announced a TLS data connection.
    case protectionChanged

    var description: String {
        switch self {
        case .cannotListen(let reason): return "cannot open a passive port: \(reason)"
        case .listenerClosed: return "no data connection arrived"
        case .timedOut: return "the data connection timed out"
        case .protectionChanged: return "PROT changed after PASV/EPSV: send PASV or EPSV again"
        }
    }
}

/// Set when a data connection moved no byte for the data timeout, so that the end of its stream is
/// not mistaken for the end of a file.
final class FTPDataStallFlag: Sendable {
    private let stalled = Atomic<Bool>(false)
    var isSet: Bool { self.stalled.load(ordering: .acquiring) }
    func set() { self.stalled.store(true, ordering: .releasing) }
}

/// Closes a data connection on IdleStateHandler's event, after raising the stall flag.
final class FTPDataStallHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let flag: FTPDataStallFlag

    init(flag: FTPDataStallFlag) { self.flag = flag }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            self.flag.set()
            FTPDataChannel.closeAbruptly(context.channel)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Opening and preparing data channels.
enum FTPDataChannel {
    /// Uploads arrive in reads of up to 256 KiB (NIO's default stops at 64 KiB): fewer system calls
    /// and buffers per upload; the adaptive allocator shrinks again for a slow sender.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 64 * 1024, maximum: 256 * 1024)

    /// Active mode: connects to the client's PORT/EPRT address (already checked by the session).
    static func connect(to address: SocketAddress, on eventLoop: any EventLoop, timeout: TimeAmount) async throws
        -> any Channel
    {
        try await ClientBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.recvAllocator, value: Self.receiveAllocator)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FTPDataChannelGate())
                }
            }
            .connectTimeout(timeout)
            .connect(to: address)
            .get()
    }

    /// Closes a data channel without the TLS goodbye (see `FTPDataChannelGate.closeAbruptly`).
    static func closeAbruptly(_ channel: any Channel) {
        channel.eventLoop.execute {
            if let gate = try? channel.pipeline.syncOperations.handler(type: FTPDataChannelGate.self) {
                gate.closeAbruptly()
            } else {
                channel.close(promise: nil)
            }
        }
    }

    /// Sets up a data channel's pipeline (TLS when PROT P, the stall timer) and starts reading.
    static func prepare(
        _ channel: any Channel, tls: NIOSSLContext?, stallTimeout: TimeAmount, flag: FTPDataStallFlag
    ) async throws -> NIOAsyncChannel<ByteBuffer, Never> {
        try await Self.wrap(channel, tls: tls, stallTimeout: stallTimeout, flag: flag, batcher: nil)
    }

    /// As `prepare`, for an upload: reads come as batches of about `chunkSize` bytes, four times
    /// that for a fast upload (see `FTPUploadBatcher`), reading paused while four of them wait for
    /// the transfer's task. With one waiting, a single fast upload was held back (curl, 1 GiB, when
    /// batches were all 256 KiB: 0.742 s at one, 0.716 s at eight, 0.655 s before batching); with
    /// the larger batches, four do as well as eight (0.435 and 0.447 s, vsftpd 0.46–0.49 s) and
    /// bound a fast upload's queue at 4 MiB.
    static func prepareForUpload(
        _ channel: any Channel, tls: NIOSSLContext?, stallTimeout: TimeAmount, flag: FTPDataStallFlag,
        chunkSize: Int, count: @escaping @Sendable (Int) -> Void
    ) async throws -> NIOAsyncChannel<FTPUploadBatch, Never> {
        try await Self.wrap(
            channel, tls: tls, stallTimeout: stallTimeout, flag: flag,
            batcher: { FTPUploadBatcher(chunkSize: chunkSize, count: count) },
            configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 4)))
    }

    private static func wrap<Inbound: Sendable>(
        _ channel: any Channel, tls: NIOSSLContext?, stallTimeout: TimeAmount, flag: FTPDataStallFlag,
        batcher: (@Sendable () -> FTPUploadBatcher)?,
        configuration: NIOAsyncChannel<Inbound, Never>.Configuration = .init()
    ) async throws -> NIOAsyncChannel<Inbound, Never> {
        try await channel.eventLoop.submit {
            let operations = channel.pipeline.syncOperations
            let hasTLS = (try? operations.handler(type: NIOSSLServerHandler.self)) != nil
            if let tls, !hasTLS {
                // RFC 4217: the FTP client is always the TLS client, whoever opened the TCP connection.
                // Behind the gate, which holds the client's first bytes (its ClientHello) until now.
                try operations.addHandler(NIOSSLServerHandler(context: tls))
            } else if tls == nil && hasTLS {
                throw FTPDataConnectionError.protectionChanged
            }
            try operations.addHandler(IdleStateHandler(allTimeout: stallTimeout))
            try operations.addHandler(FTPDataStallHandler(flag: flag))
            if let batcher { try operations.addHandler(batcher()) }
            let wrapped = try NIOAsyncChannel<Inbound, Never>(
                wrappingChannelSynchronously: channel, configuration: configuration)
            try operations.handler(type: FTPDataChannelGate.self).open()
            return wrapped
        }.get()
    }
}
