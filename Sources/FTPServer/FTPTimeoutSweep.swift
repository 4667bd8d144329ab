import NIOCore
import Synchronization

/// Checks the idle timeout and the login grace time of every session on one event loop, once a
/// second, and posts the ones that ran out to their sessions.
///
/// One repeated task per event loop rather than a scheduled task per session: a session's own
/// timer (the scheduled task, its closure and its bookkeeping) was a few hundred bytes of every
/// idle session, and idle sessions are what a server has most of. A timeout fires up to a second
/// late, as vsftpd's and pyftpdlib's do. A session whose timeout was posted is told again a
/// second later until it is gone (it ignores an idle timeout while a transfer runs).
///
/// Everything here runs on `eventLoop`: sessions are added and removed there, and the sweep runs
/// there, hence `@unchecked Sendable` without a lock.
final class FTPTimeoutSweep: @unchecked Sendable {
    static let interval = TimeAmount.seconds(1)

    private struct Watched {
        let activity: FTPActivity
        let driver: FTPSessionDriver
    }

    let eventLoop: any EventLoop
    private let idle: Duration
    private let loginGrace: Duration
    private var sessions: [ObjectIdentifier: Watched] = [:]
    private var repeated: RepeatedTask?

    init(eventLoop: any EventLoop, idle: Duration, loginGrace: Duration) {
        self.eventLoop = eventLoop
        self.idle = idle
        self.loginGrace = loginGrace
    }

    func add(_ activity: FTPActivity, of driver: FTPSessionDriver) {
        self.eventLoop.preconditionInEventLoop()
        self.sessions[ObjectIdentifier(driver)] = Watched(activity: activity, driver: driver)
        if self.repeated == nil {
            self.repeated = self.eventLoop.scheduleRepeatedTask(
                initialDelay: Self.interval, delay: Self.interval
            ) { _ in self.sweep() }
        }
    }

    func remove(_ driver: FTPSessionDriver) {
        self.eventLoop.preconditionInEventLoop()
        self.sessions.removeValue(forKey: ObjectIdentifier(driver))
    }

    private func sweep() {
        if self.sessions.isEmpty {
            // Stopped here, not when the last session goes: a client that logs in for every file
            // would otherwise schedule and cancel the task (and drop and grow the table) each time.
            self.repeated?.cancel()
            self.repeated = nil
            self.sessions = [:]  // An idle listener keeps no table.
            return
        }
        let now = ContinuousClock.now
        for watched in self.sessions.values {
            if let timeout = watched.activity.expiredTimeout(now: now, idle: self.idle, loginGrace: self.loginGrace) {
                watched.driver.post(.timedOut(timeout))
            }
        }
    }
}

/// The sweeps of one listener, one per event loop, made when that loop gets its first session.
final class FTPTimeoutSweeps: Sendable {
    private let sweeps = Mutex<[ObjectIdentifier: FTPTimeoutSweep]>([:])
    private let idle: Duration
    private let loginGrace: Duration

    init(idle: Duration, loginGrace: Duration) {
        self.idle = idle
        self.loginGrace = loginGrace
    }

    func sweep(for eventLoop: any EventLoop) -> FTPTimeoutSweep {
        self.sweeps.withLock { sweeps in
            if let sweep = sweeps[ObjectIdentifier(eventLoop)] { return sweep }
            let sweep = FTPTimeoutSweep(eventLoop: eventLoop, idle: self.idle, loginGrace: self.loginGrace)
            sweeps[ObjectIdentifier(eventLoop)] = sweep
            return sweep
        }
    }
}
