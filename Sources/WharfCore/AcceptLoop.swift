import Logging
import NIOCore
import Synchronization

/// A server's bound listeners: where they listen, the accept loops, and stopping them.
///
/// Shared by the SSH and FTP listeners. `run` owns one task per accepted connection (a discarding
/// task group per listener) and returns once the listeners are closed and every connection task
/// has ended: shutdown drains, it does not cut. Listeners whose connections start without a task
/// of their own (FTP's) use `run(_:onBound:)`, which only holds the listeners until they close.
public final class AcceptLoop: Sendable {
    private let boundAddress = Mutex<SocketAddress?>(nil)
    private let listeners = Mutex<[any Channel]>([])
    private let stopping = Atomic<Bool>(false)

    public init() {}

    public var localAddress: SocketAddress? { self.boundAddress.withLock { $0 } }

    public var isStopping: Bool { self.stopping.load(ordering: .acquiring) }

    /// Accepts on every listener (see `PerLoopListeners`: one per event loop, on one address).
    /// `executor` names where a connection's task should run from its first job (for instance its
    /// channel's event loop, see `EventLoopTaskExecutor`); nil: the global executor.
    public func run<Connection: Sendable>(
        _ serverChannels: [NIOAsyncChannel<Connection?, Never>], logger: Logger,
        onBound: @Sendable (SocketAddress) -> Void,
        executor: @escaping @Sendable (Connection) -> (any TaskExecutor)? = { _ in nil },
        serve: @escaping @Sendable (Connection) async -> Void
    ) async throws {
        self.adopt(serverChannels.map(\.channel), onBound: onBound)
        try await withThrowingDiscardingTaskGroup { listeners in
            for serverChannel in serverChannels {
                // Each loop waits on its listener's event loop, where accepted connections are
                // handed over: on the global executor, every connection would wake a pool thread
                // before its own task.
                let listenerLoop = EventLoopTaskExecutor(eventLoop: serverChannel.channel.eventLoop)
                listeners.addTask(executorPreference: listenerLoop) {
                    try await self.accept(on: serverChannel, logger: logger, executor: executor, serve: serve)
                }
            }
        }
    }

    /// For listeners whose connections start from their set-up (`PerLoopListeners
    /// .bindStartingConnections`): returns once every listener is closed. The connections are owned by
    /// whatever their set-up handed them to, which the server waits for after this returns.
    public func run(_ listeners: [any Channel], onBound: @Sendable (SocketAddress) -> Void) async {
        self.adopt(listeners, onBound: onBound)
        for listener in listeners {
            try? await listener.closeFuture.get()
        }
    }

    private func adopt(_ listeners: [any Channel], onBound: @Sendable (SocketAddress) -> Void) {
        if let address = listeners.first?.localAddress {
            self.boundAddress.withLock { $0 = address }
            onBound(address)
        }
        self.listeners.withLock { $0 = listeners }
        if self.isStopping {
            for listener in listeners { listener.close(promise: nil) }
        }
    }

    private func accept<Connection: Sendable>(
        on serverChannel: NIOAsyncChannel<Connection?, Never>, logger: Logger,
        executor: @escaping @Sendable (Connection) -> (any TaskExecutor)?,
        serve: @escaping @Sendable (Connection) async -> Void
    ) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            do {
                try await serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        guard let connection else { continue }  // Its set-up failed; it is closed.
                        // Not inheriting the listener's loop: nil means the global executor.
                        group.addTask(executorPreference: executor(connection) ?? globalConcurrentExecutor) {
                            await serve(connection)
                        }
                    }
                }
            } catch where self.isStopping {
                // Closing the listener ends the accept loop with an error; the connections go on.
                logger.debug("listener closed: \(error)")
            }
        }
    }

    /// Closes the listeners; running connections go on.
    public func stopAccepting() {
        self.stopping.store(true, ordering: .releasing)
        for listener in self.listeners.withLock({ $0 }) { listener.close(promise: nil) }
    }
}
