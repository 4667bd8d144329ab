import NIOCore
import Synchronization

/// One `EventLoopTaskExecutor` per event loop, for a server that runs its connections' tasks on
/// their loops: the connections of a loop share its executor instead of allocating one each (an
/// object per idle session otherwise). Owned by the server; a handful of entries, one per loop.
public final class EventLoopTaskExecutors: Sendable {
    private let executors = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    public init() {}

    public func executor(for eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        self.executors.withLock { executors in
            if let executor = executors[ObjectIdentifier(eventLoop)] { return executor }
            let executor = EventLoopTaskExecutor(eventLoop: eventLoop)
            executors[ObjectIdentifier(eventLoop)] = executor
            return executor
        }
    }
}
