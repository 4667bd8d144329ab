import Synchronization

/// Lets concurrently served requests send their replies in the order the requests arrived.
///
/// The protocol allows replies out of order, but paramiko's pipelined writes do not survive it:
/// `SFTPFile._write` waits for each reply by id and hands any other reply to its async handler,
/// which consumes it, so a reordered WRITE status leaves paramiko waiting forever. Serving
/// concurrently and replying in order keeps both the speed and every client working.
///
/// A lock rather than an actor: the common case (it is already this request's turn) then costs
/// no hop to another executor, which matters for clients that wait for each reply.
final class ReplyTurnstile: Sendable {
    private struct State {
        var next = 0
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Returns when every request numbered below `turn` has sent its reply.
    func wait(for turn: Int) async {
        if self.state.withLock({ $0.next == turn }) { return }
        await withCheckedContinuation { continuation in
            let resumeNow = self.state.withLock { state -> Bool in
                // The turn may have come between the check above and now.
                if state.next == turn { return true }
                state.waiting[turn] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Called once per turn, after its reply was sent or failed, so that the next one may go.
    func finish(_ turn: Int) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.next = turn + 1
            return state.waiting.removeValue(forKey: state.next)
        }
        waiter?.resume()
    }
}
