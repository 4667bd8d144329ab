import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WharfCore

/// One listener per event loop, and a connection whose set-up fails costs only that connection.
@Suite("Per-loop listeners")
struct PerLoopListenersTests {
    struct SetUpFailed: Error {}

    /// What a client reads until the server closes (an error counts as nothing read).
    func receive(from port: Int, group: any EventLoopGroup) async throws -> String {
        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await client.executeThenClose { inbound, _ in
            var received = ""
            do {
                for try await buffer in inbound { received += String(buffer: buffer) }
            } catch {}
            return received
        }
    }

    /// How many of `count` connections, one after another, were said hello to (the others were
    /// closed without a word).
    func greetings(of count: Int, port: Int, group: any EventLoopGroup) async throws -> Int {
        var greeted = 0
        for _ in 0..<count {
            let received = try await receive(from: port, group: group)
            #expect(received == "hello" || received == "")
            if received == "hello" { greeted += 1 }
        }
        return greeted
    }

    @Test func aFailedSetUpClosesThatConnectionAndTheListenerGoesOn() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let attempts = Atomic<Int>(0)
        let listeners = try await PerLoopListeners.bind(
            group: group, host: "127.0.0.1", port: 0, logger: Logger(label: "test")
        ) { channel -> any Channel in
            // Every other connection fails, whichever loop takes it.
            if attempts.add(1, ordering: .relaxed).newValue.isMultiple(of: 2) { throw SetUpFailed() }
            return channel
        }
        #expect(listeners.count == 2)
        let ports = Set(listeners.compactMap { $0.channel.localAddress?.port })
        #expect(ports.count == 1)
        let port = try #require(ports.first)

        let acceptLoop = AcceptLoop()
        let server = Task {
            try await acceptLoop.run(listeners, logger: Logger(label: "test"), onBound: { _ in }) { channel in
                try? await channel.writeAndFlush(ByteBuffer(string: "hello"))
                try? await channel.close()
            }
        }
        #expect(try await greetings(of: 10, port: port, group: group) == 5)
        #expect(attempts.load(ordering: .relaxed) == 10)

        acceptLoop.stopAccepting()
        try await server.value
        try await group.shutdownGracefully()
    }

    /// Says hello when the connection becomes active, and closes.
    final class Greeter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        func channelActive(context: ChannelHandlerContext) {
            let channel = context.channel
            context.writeAndFlush(NIOAny(ByteBuffer(string: "hello"))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Connections that start themselves (FTP's): no task, no sequence; a failing start costs
    /// only its connection, and `run` returns once the listeners are closed.
    @Test func connectionsStartFromTheirSetUpAndAFailedOneIsClosedAlone() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let attempts = Atomic<Int>(0)
        let listeners = try await PerLoopListeners.bindStartingConnections(
            group: group, host: "127.0.0.1", port: 0, logger: Logger(label: "test")
        ) { channel in
            if attempts.add(1, ordering: .relaxed).newValue.isMultiple(of: 2) { throw SetUpFailed() }
            try channel.pipeline.syncOperations.addHandler(Greeter())
        }
        #expect(listeners.count == 2)
        let ports = Set(listeners.compactMap { $0.localAddress?.port })
        #expect(ports.count == 1)
        let port = try #require(ports.first)

        let acceptLoop = AcceptLoop()
        let bound = Atomic<Int>(0)
        let server = Task { await acceptLoop.run(listeners, onBound: { bound.store($0.port ?? 0, ordering: .relaxed) }) }
        #expect(try await greetings(of: 10, port: port, group: group) == 5)
        #expect(attempts.load(ordering: .relaxed) == 10)
        #expect(bound.load(ordering: .relaxed) == port)
        #expect(acceptLoop.localAddress?.port == port)

        acceptLoop.stopAccepting()
        await server.value
        #expect(listeners.allSatisfy { !$0.isActive }, "run returned once every listener was closed")
        try await group.shutdownGracefully()
    }
}
