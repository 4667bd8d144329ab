import NIOCore

/// Runs a task's jobs on one event loop: a session that waits for each packet from its channel and
/// writes each reply to it then resumes on the thread that delivered the packet and writes without
/// a hop, instead of crossing to the cooperative pool and back twice per request.
///
/// Only for code that never blocks: file-system calls still go to a thread pool, and CPU-heavy
/// work (hashing a file) leaves with `withTaskExecutorPreference(globalConcurrentExecutor)`.
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
