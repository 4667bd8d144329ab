#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import Logging
import NIOCore
import NIOPosix

/// One listening socket per event loop, all on the same address (SO_REUSEPORT): the kernel
/// spreads connections over them, and each connection is accepted, set up and served on its
/// listener's loop.
///
/// With one listener for the whole group, NIO accepts on the listener's loop and hands the
/// connection to the next loop of the group; the channel initializer, the registration and the
/// accept loop's task then cross between the two loops five times before the greeting. That cost
/// half of all connections (those landing on the other loop of two) about 60 us of CPU and 50 us
/// before the first byte, a fifth of a whole FTP login.
///
/// SO_REUSEPORT would also let a second server of the same user bind the same port and take
/// half its connections, where it should fail with "address already in use". So the address is
/// first bound by a socket without SO_REUSEPORT, which fails as usual while anyone listens there
/// (and picks the port when `port` is 0), then released and bound again by the listeners.
public enum PerLoopListeners {
    /// Binds the listeners (backlog 256; accepted sockets get TCP_NODELAY). `setUpConnection` runs
    /// on the connection's loop, before it is registered: socket options and synchronous pipeline
    /// set-up only; its result is what the listener's async sequence yields.
    ///
    /// A connection whose set-up throws is logged, closed, and yielded as nil. NIO ends a
    /// listener's whole accept sequence when a child channel's options fail (an option set with
    /// `childChannelOption`), and drops a child whose initializer fails without closing its
    /// socket: either way one bad connection would cost the listener or a descriptor, so
    /// options are set here, where a failure is that connection's alone.
    public static func bind<Output: Sendable>(
        group: any EventLoopGroup, host: String, port: Int, logger: Logger,
        setUpConnection: @escaping @Sendable (any Channel) throws -> Output
    ) async throws -> [NIOAsyncChannel<Output?, Never>] {
        try await Self.bindEach(group: group, host: host, port: port, close: { try? await $0.channel.close() }) {
            loop, boundPort in
            try await Self.bootstrap(on: loop)
                .bind(host: host, port: boundPort) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        Self.setUp(channel, logger: logger, setUpConnection)
                    }
                }
        }
    }

    /// Binds listeners whose connections start themselves: `startConnection` runs on the
    /// connection's loop, before it is registered, and hands the connection to its owner (a
    /// pipeline that greets on `channelActive`, a session registry). No task and no async
    /// sequence per connection: a server that needs neither saves their hops before the first byte.
    /// A connection whose start throws is logged and closed, as with `bind`.
    public static func bindStartingConnections(
        group: any EventLoopGroup, host: String, port: Int, logger: Logger,
        startConnection: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> [any Channel] {
        try await Self.bindEach(group: group, host: host, port: port, close: { try? await $0.close() }) {
            loop, boundPort in
            try await Self.bootstrap(on: loop)
                // The async bind adds NIO's accept backoff itself; here it is ours to add, so
                // that running out of descriptors pauses accepting instead of spinning.
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler(shouldForwardIOErrorCaught: false))
                    }
                }
                .childChannelInitializer { channel in
                    _ = Self.setUp(channel, logger: logger, startConnection)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                .bind(host: host, port: boundPort).get()
        }
    }

    private static func bootstrap(on loop: any EventLoop) -> ServerBootstrap {
        ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .serverChannelOption(.backlog, value: 256)
    }

    /// Probes the address (see above), then binds one listener per loop of `group` on its port.
    private static func bindEach<Listener>(
        group: any EventLoopGroup, host: String, port: Int, close: (Listener) async -> Void,
        bindOne: (any EventLoop, Int) async throws -> Listener
    ) async throws -> [Listener] {
        let loops = Array(group.makeIterator())
        guard let firstLoop = loops.first else { return [] }
        let probe: any Channel
        do {
            probe = try await ServerBootstrap(group: firstLoop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
        } catch {
            throw ListenError(host: host, port: port, underlying: error)
        }
        let boundPort = probe.localAddress?.port ?? port
        try await probe.close()

        var listeners: [Listener] = []
        do {
            for loop in loops {
                listeners.append(try await bindOne(loop, boundPort))
            }
        } catch {
            for listener in listeners { await close(listener) }
            throw ListenError(host: host, port: boundPort, underlying: error)
        }
        return listeners
    }

    private static func setUp<Output>(
        _ channel: any Channel, logger: Logger, _ setUpConnection: (any Channel) throws -> Output
    ) -> Output? {
        do {
            try channel.syncOptions?.setOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            return try setUpConnection(channel)
        } catch {
            let peer = channel.peerDescription
            logger.warning("closed the connection from \(peer): cannot set it up: \(error)")
            // Not registered yet: NIO's registration of a closed channel fails and stops there.
            channel.close(promise: nil)
            return nil
        }
    }
}

/// A listener that could not be bound, said the way a user reads it:
/// "cannot listen on 127.0.0.1:2022: Address already in use".
public struct ListenError: Error, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let underlying: any Error

    public var description: String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if let error = underlying as? IOError {
            return "cannot listen on \(address): \(String(cString: strerror(error.errnoCode)))"
        }
        return "cannot listen on \(address): \(underlying)"
    }
}
