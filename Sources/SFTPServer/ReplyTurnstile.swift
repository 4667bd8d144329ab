/// Lets concurrently served requests send their replies in the order the requests arrived.
///
/// The protocol allows replies out of order, but paramiko's pipelined writes do not survive it:
/// `SFTPFile._write` waits for each reply by id and hands any other reply to its async handler,
/// which consumes it, so a reordered WRITE status leaves paramiko waiting forever. Serving
/// concurrently and replying in order keeps both the speed and every client working.
actor ReplyTurnstile {
    private var next = 0
    private var waiting: [Int: CheckedContinuation<Void, Never>] = [:]

    /// Returns when every request numbered below `turn` has sent its reply.
    func wait(for turn: Int) async {
        if turn == self.next { return }
        await withCheckedContinuation { continuation in
            self.waiting[turn] = continuation
        }
    }

    /// Called once per turn, after its reply was sent or failed, so that the next one may go.
    func finish(_ turn: Int) {
        self.next = turn + 1
        self.waiting.removeValue(forKey: self.next)?.resume()
    }
}
