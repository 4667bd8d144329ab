import NIOPosix
import Testing
import WharfCore

/// Connections of one event loop share its executor; each loop has its own, and a task on it runs
/// on that loop.
@Suite("Event loop task executors")
struct EventLoopTaskExecutorsTests {
    @Test func oneExecutorPerLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let executors = EventLoopTaskExecutors()
        let first = executors.executor(for: loops[0])
        #expect(executors.executor(for: loops[0]) === first)
        let second = executors.executor(for: loops[1])
        #expect(second !== first)
        #expect(second.eventLoop === loops[1])

        let ranOnLoop = await Task(executorPreference: second) { loops[1].inEventLoop }.value
        #expect(ranOnLoop)
        try await group.shutdownGracefully()
    }
}
