import Logging
import NIOCore
import Synchronization

/// A server's bound listener: where it listens, the accept loop, and stopping it.
///
/// Shared by the SSH and FTP listeners. `run` owns one task per accepted connection (a discarding
/// task group) and returns once the listener is closed and every connection task has ended:
/// shutdown drains, it does not cut.
public final class AcceptLoop: Sendable {
    private let boundAddress = Mutex<SocketAddress?>(nil)
    private let listener = Mutex<(any Channel)?>(nil)
    private let stopping = Atomic<Bool>(false)

    public init() {}

    public var localAddress: SocketAddress? { self.boundAddress.withLock { $0 } }

    public var isStopping: Bool { self.stopping.load(ordering: .acquiring) }

    /// `executor` names where a connection's task should run from its first job (for instance its
    /// channel's event loop, see `EventLoopTaskExecutor`); nil: the global executor.
    public func run<Connection: Sendable>(
        _ serverChannel: NIOAsyncChannel<Connection, Never>, logger: Logger,
        onBound: @Sendable (SocketAddress) -> Void,
        executor: @Sendable (Connection) -> (any TaskExecutor)? = { _ in nil },
        serve: @escaping @Sendable (Connection) async -> Void
    ) async throws {
        if let address = serverChannel.channel.localAddress {
            self.boundAddress.withLock { $0 = address }
            onBound(address)
        }
        self.listener.withLock { $0 = serverChannel.channel }
        if self.isStopping { serverChannel.channel.close(promise: nil) }
        // The loop waits on the listener's event loop, where accepted connections are handed over:
        // on the global executor, every connection would wake a pool thread before its own task.
        let listenerLoop = EventLoopTaskExecutor(eventLoop: serverChannel.channel.eventLoop)
        try await withTaskExecutorPreference(listenerLoop) {
            try await withThrowingDiscardingTaskGroup { group in
                do {
                    try await serverChannel.executeThenClose { inbound in
                        for try await connection in inbound {
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
    }

    /// Closes the listener; running connections go on.
    public func stopAccepting() {
        self.stopping.store(true, ordering: .releasing)
        self.listener.withLock { $0 }?.close(promise: nil)
    }
}
