import Crypto
import Dispatch
import Foundation
import Synchronization

/// Remembers, for a few minutes, that a user's password matched its stored hash, so that clients
/// that log in again and again (a scanner per page, an FTP client per file, 300 cameras at once)
/// do not pay scrypt every time. SFTPGo does the same ("password caching").
///
/// - Only successes are remembered; a wrong password always costs a full verification.
/// - The key is an HMAC, under a random per-process key, of user, password and stored hash: the
///   password is not kept, and a changed password (a new stored hash) misses the cache.
/// - Concurrent checks of the same triple wait for the first one instead of all running scrypt,
///   which matters when many clients with the same credentials connect at once.
///
/// Called from the authentication thread pool: waiting blocks that thread, which is what the
/// pool is for.
public final class VerifiedPasswordCache: Sendable {
    private final class PendingCheck: Sendable {
        let done = DispatchSemaphore(value: 0)
        let state = Mutex<(result: Bool, waiters: Int)>((false, 0))
    }

    private enum Entry {
        case verified(until: ContinuousClock.Instant)
        case pending(PendingCheck)
    }

    /// The 32 bytes of a tag, as a key that hashes and compares without an allocation.
    private struct Tag: Hashable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        static func == (a: Tag, b: Tag) -> Bool { a.words == b.words }

        func hash(into hasher: inout Hasher) {
            hasher.combine(self.words.0)
            hasher.combine(self.words.1)
            hasher.combine(self.words.2)
            hasher.combine(self.words.3)
        }
    }

    /// An HMAC that has taken in the random per-process key and nothing else: each tag starts from
    /// a copy of it, so the key's two blocks are hashed once per process instead of at every login.
    private let keyedHMAC = HMAC<SHA256>(key: SymmetricKey(size: .bits256))
    private let lifetime: Duration
    private let capacity: Int
    private let entries = Mutex<[Tag: Entry]>([:])

    public init(lifetime: Duration = .seconds(300), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Whether `password` matches `encodedHash`, calling `verify` only when no recent success or
    /// running check for the same user, password and hash can answer.
    public func verify(user: String, password: String, encodedHash: String, using verify: () -> Bool) -> Bool {
        let tag = self.tag(user: user, password: password, encodedHash: encodedHash)

        enum Step {
            case answer(Bool)
            case wait(PendingCheck)
            case check(PendingCheck)
        }
        let now = ContinuousClock.now
        let step = self.entries.withLock { entries -> Step in
            switch entries[tag] {
            case .verified(let until) where until > now:
                return .answer(true)
            case .pending(let check):
                check.state.withLock { $0.waiters += 1 }
                return .wait(check)
            default:
                let check = PendingCheck()
                entries[tag] = .pending(check)
                return .check(check)
            }
        }
        switch step {
        case .answer(let result):
            return result
        case .wait(let check):
            check.done.wait()
            return check.state.withLock { $0.result }
        case .check(let check):
            let result = verify()
            let waiters = self.entries.withLock { entries -> Int in
                if result {
                    entries[tag] = .verified(until: ContinuousClock.now + self.lifetime)
                    if entries.count > self.capacity { self.evict(&entries) }
                } else {
                    entries[tag] = nil
                }
                // Under the table's lock: nobody can join this check any more.
                return check.state.withLock { state in
                    state.result = result
                    return state.waiters
                }
            }
            for _ in 0..<waiters { check.done.signal() }
            return result
        }
    }

    /// Whether the same user, password and hash matched a moment ago: the answer `verify` would give
    /// without verifying, when there is one. Never waits (an event loop may ask); false tells nothing.
    public func wasVerified(user: String, password: String, encodedHash: String) -> Bool {
        let tag = self.tag(user: user, password: password, encodedHash: encodedHash)
        let now = ContinuousClock.now
        return self.entries.withLock { entries in
            if case .verified(let until) = entries[tag] { return until > now }
            return false
        }
    }

    private func tag(user: String, password: String, encodedHash: String) -> Tag {
        var hmac = self.keyedHMAC
        func absorb(_ text: String, separator: Bool) {
            var text = text
            text.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
            if separator { withUnsafeBytes(of: UInt8(0)) { hmac.update(data: $0) } }
        }
        absorb(user, separator: true)
        absorb(password, separator: true)
        absorb(encodedHash, separator: false)
        return hmac.finalize().withUnsafeBytes { bytes in
            Tag(words: (
                bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
    }

    /// Drops expired successes; if that is not enough, all of them (they are only a shortcut).
    private func evict(_ entries: inout [Tag: Entry]) {
        let now = ContinuousClock.now
        entries = entries.filter { _, entry in
            if case .verified(let until) = entry { return until > now }
            return true
        }
        if entries.count > self.capacity {
            entries = entries.filter { _, entry in
                if case .pending = entry { return true }
                return false
            }
        }
    }
}
