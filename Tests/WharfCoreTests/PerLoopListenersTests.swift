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
        var greeted = 0
        for _ in 0..<10 {
            let received = try await receive(from: port, group: group)
            #expect(received == "hello" || received == "")
            if received == "hello" { greeted += 1 }
        }
        #expect(greeted == 5)
        #expect(attempts.load(ordering: .relaxed) == 10)

        acceptLoop.stopAccepting()
        try await server.value
        try await group.shutdownGracefully()
    }
}
