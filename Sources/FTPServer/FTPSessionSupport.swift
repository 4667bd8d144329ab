import NIOCore
import Synchronization

/// The session's side of `FTPControlInputHandler`'s credits: `release()` gives back the credit of
/// a handled line, from any thread.
final class FTPInputCredits: Sendable {
    /// Lines read ahead of the session at most.
    static let readAhead = 16

    private let handler: NIOLoopBound<FTPControlInputHandler>

    init(handler: NIOLoopBound<FTPControlInputHandler>) {
        self.handler = handler
    }

    func release() {
        let handler = self.handler
        if handler.eventLoop.inEventLoop {
            handler.value.grantCredit()
        } else {
            handler.eventLoop.execute { handler.value.grantCredit() }
        }
    }
}

/// What the session's timers look at: when the client last said something, whether a transfer
/// is running (an idle control connection is normal then), and whether the user logged in.
final class FTPActivity: Sendable {
    private struct State {
        var lastInput: ContinuousClock.Instant
        var transferRunning = false
        var loggedIn = false
    }

    private let state: Mutex<State>
    let connectedAt: ContinuousClock.Instant

    init(now: ContinuousClock.Instant = .now) {
        self.connectedAt = now
        self.state = Mutex(State(lastInput: now))
    }

    func touch() { self.state.withLock { $0.lastInput = .now } }
    func setTransferRunning(_ running: Bool) {
        self.state.withLock {
            $0.transferRunning = running
            $0.lastInput = .now
        }
    }
    func setLoggedIn(_ loggedIn: Bool) { self.state.withLock { $0.loggedIn = loggedIn } }

    /// What the timer sees at `now`: a timeout that ran out, or when to look again.
    func check(now: ContinuousClock.Instant, idle: Duration, loginGrace: Duration)
        -> (timeout: FTPSessionTimeout?, nextCheck: ContinuousClock.Instant)
    {
        let (lastInput, transferRunning, loggedIn) = self.state.withLock {
            ($0.lastInput, $0.transferRunning, $0.loggedIn)
        }
        let graceEnd = self.connectedAt + loginGrace
        if !loggedIn && now >= graceEnd { return (.loginGrace, now + .seconds(1)) }
        let idleEnd = lastInput + idle
        if !transferRunning && now >= idleEnd { return (.idle, now + .seconds(1)) }
        var next = transferRunning ? now + idle : idleEnd
        if !loggedIn { next = min(next, graceEnd) }
        return (nil, next)
    }

    /// Runs the session's timers on `eventLoop` (a scheduled task, not a sleeping Swift task per
    /// session: idle sessions are what a server has most of) and reports timeouts to `report`.
    /// The session ignores an idle timeout while a transfer runs; the timer looks again later.
    func startTimer(
        on eventLoop: any EventLoop, idle: Duration, loginGrace: Duration,
        report: @escaping @Sendable (FTPSessionTimeout) -> Void
    ) -> FTPSessionTimer {
        let timer = FTPSessionTimer()
        @Sendable func arm(at instant: ContinuousClock.Instant) {
            let delay = max(.zero, instant - ContinuousClock.now)
            let scheduled = eventLoop.scheduleTask(in: TimeAmount(delay)) {
                let (timeout, next) = self.check(now: .now, idle: idle, loginGrace: loginGrace)
                if let timeout { report(timeout) }
                if !timer.isCancelled { arm(at: next) }
            }
            timer.replace(scheduled)
        }
        arm(at: self.check(now: .now, idle: idle, loginGrace: loginGrace).nextCheck)
        return timer
    }
}

/// The session's current scheduled check, cancelled when the session ends.
final class FTPSessionTimer: Sendable {
    private let state = Mutex<(scheduled: Scheduled<Void>?, cancelled: Bool)>((nil, false))

    var isCancelled: Bool { self.state.withLock { $0.cancelled } }

    func replace(_ scheduled: Scheduled<Void>) {
        let cancelled = self.state.withLock { state -> Bool in
            state.scheduled = scheduled
            return state.cancelled
        }
        if cancelled { scheduled.cancel() }
    }

    func cancel() {
        let scheduled = self.state.withLock { state -> Scheduled<Void>? in
            state.cancelled = true
            return state.scheduled
        }
        scheduled?.cancel()
    }
}
