import NIOCore
import Synchronization

/// What the session's timeouts look at: when the client last said something, whether a transfer
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

    /// The timeout that has run out at `now`, if any. An idle control connection is normal while
    /// a transfer runs.
    func expiredTimeout(now: ContinuousClock.Instant, idle: Duration, loginGrace: Duration) -> FTPSessionTimeout? {
        let (lastInput, transferRunning, loggedIn) = self.state.withLock {
            ($0.lastInput, $0.transferRunning, $0.loggedIn)
        }
        if !loggedIn && now >= self.connectedAt + loginGrace { return .loginGrace }
        if !transferRunning && now >= lastInput + idle { return .idle }
        return nil
    }
}
