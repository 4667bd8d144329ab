import Synchronization

/// Bounds how many control lines are read ahead of the session: the reader takes a credit per
/// line and the session gives it back once the line is handled. A client that floods commands
/// (for instance during a transfer) stops being read instead of growing a queue without bound.
final class FTPInputCredits: Sendable {
    private struct State {
        var available: Int
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    init(_ count: Int) {
        self.state = Mutex(State(available: count, waiter: nil))
    }

    /// Waits for a credit; returns early (without one) when the task is cancelled.
    func acquire() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.available > 0 || Task.isCancelled {
                        state.available -= 1
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    func release() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.available += 1
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.available -= 1
            return waiter
        }
        waiter?.resume()
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

    /// Sleeps until the idle timeout or the login grace time runs out and returns which; returns
    /// nil when cancelled.
    func waitForTimeout(idle: Duration, loginGrace: Duration) async -> FTPSessionTimeout? {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let (lastInput, transferRunning, loggedIn) = self.state.withLock {
                ($0.lastInput, $0.transferRunning, $0.loggedIn)
            }
            let graceEnd = self.connectedAt + loginGrace
            if !loggedIn && now >= graceEnd { return .loginGrace }
            let idleEnd = lastInput + idle
            if !transferRunning && now >= idleEnd { return .idle }
            var wakeUp = transferRunning ? now + idle : idleEnd
            if !loggedIn { wakeUp = min(wakeUp, graceEnd) }
            do {
                try await Task.sleep(until: wakeUp, clock: .continuous)
            } catch {
                return nil
            }
        }
        return nil
    }
}
