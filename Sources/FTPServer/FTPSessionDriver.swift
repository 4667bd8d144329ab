import NIOCore
import WharfCore

/// Runs one FTP session's events, one at a time and in order, in a task that exists only while
/// there is something to do.
///
/// Idle sessions are what an FTP server has most of. A task per session, parked until the next
/// command, would hold its object and the slabs of Swift's task allocator (which a task keeps
/// until it ends) for as long as the client stays connected: about 2 KiB per idle session, a
/// third of its memory. Here a command, a timer, a finished transfer or the server's shutdown
/// posts an event; the first event after a quiet spell starts a task on the control connection's
/// event loop, which handles every queued event and ends when the queue is empty. The greeting
/// needs no task: the input handler writes it when the connection becomes active.
///
/// Ownership: the driver owns the session and its current task; the server's registry owns the
/// driver until the session has ended (`onEnd` ran), so a session never goes unowned, idle or not.
///
/// Everything but `post` runs on `eventLoop`: the queue, the task handle and the session are only
/// touched there (the task's jobs run on that loop through its executor preference), which is why
/// the class can be `@unchecked Sendable` without a lock.
final class FTPSessionDriver: FTPSessionEventSink, @unchecked Sendable {
    /// The control connection's event loop as a task executor.
    let executor: EventLoopTaskExecutor
    /// The executor's: one reference fewer in every idle session.
    var eventLoop: any EventLoop { self.executor.eventLoop }
    private var session: FTPSession?
    private var queue: [FTPSessionEvent] = []
    private var worker: Task<Void, Never>?
    /// The connection is active (greeted) or gone: events before that wait, so that nothing is
    /// written before the greeting or to a channel not yet registered.
    private var ready = false
    private var ended = false
    private var onEnd: ((FTPSession) -> Void)?

    init(executor: EventLoopTaskExecutor) {
        self.executor = executor
    }

    /// Hands the driver its session, on the event loop while the connection is set up; its events
    /// run once the connection is active. `onEnd` runs on the loop once the session has closed and
    /// cleaned up.
    func attach(_ session: FTPSession, onEnd: @escaping (FTPSession) -> Void) {
        self.eventLoop.preconditionInEventLoop()
        self.session = session
        self.onEnd = onEnd
    }

    func connectionActive() {
        self.eventLoop.preconditionInEventLoop()
        self.ready = true
        self.startWorkerIfIdle()
    }

    /// Queues an event for the session, from any thread. Events after the session's end are dropped.
    func post(_ event: FTPSessionEvent) {
        if self.eventLoop.inEventLoop {
            self.enqueue(event)
        } else {
            self.eventLoop.execute { self.enqueue(event) }
        }
    }

    private func enqueue(_ event: FTPSessionEvent) {
        guard !self.ended else { return }
        if case .inputEnded = event { self.ready = true }  // Never registered: no activity to wait for.
        self.queue.append(event)
        self.startWorkerIfIdle()
    }

    private func startWorkerIfIdle() {
        guard self.worker == nil, self.ready, self.session != nil else { return }
        self.worker = Task(executorPreference: self.executor) { await self.work() }
    }

    /// The queued events; ends when the queue is empty or the session closed.
    private func work() async {
        guard let session = self.session else { return }
        var flow = FTPSession.Flow.proceed
        while flow == .proceed, !self.queue.isEmpty {
            flow = await session.handleEvent(self.queue.removeFirst())
            self.eventLoop.assertInEventLoop()  // Back on the loop after every suspension.
        }
        if flow == .close {
            await self.end(session)
        } else {
            self.queue = []  // An idle session keeps no queue storage.
        }
        self.worker = nil
    }

    private func end(_ session: FTPSession) async {
        self.ended = true
        self.queue = []
        await session.cleanUp()
        self.session = nil  // The session refers back to the driver (`post`): break the cycle.
        let onEnd = self.onEnd
        self.onEnd = nil
        onEnd?(session)
    }
}
