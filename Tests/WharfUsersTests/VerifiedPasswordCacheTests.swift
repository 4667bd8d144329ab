import Foundation
import Synchronization
import Testing
import WharfUsers

@Suite("Verified-password cache")
struct VerifiedPasswordCacheTests {
    @Test func aSuccessIsRememberedAndAFailureIsNot() {
        let cache = VerifiedPasswordCache()
        let calls = CallCounter()
        let check: (Bool) -> () -> Bool = { result in
            { calls.increment(); return result }
        }
        #expect(cache.verify(user: "a", password: "right", encodedHash: "h1", using: check(true)))
        #expect(cache.verify(user: "a", password: "right", encodedHash: "h1", using: check(true)))
        #expect(calls.value == 1, "the second login used the cache")
        #expect(!cache.verify(user: "a", password: "wrong", encodedHash: "h1", using: check(false)))
        #expect(!cache.verify(user: "a", password: "wrong", encodedHash: "h1", using: check(false)))
        #expect(calls.value == 3, "failures are checked every time")
        #expect(cache.verify(user: "a", password: "right", encodedHash: "h2", using: check(true)))
        #expect(calls.value == 4, "a new stored hash (password changed) misses the cache")
        #expect(cache.verify(user: "b", password: "right", encodedHash: "h1", using: check(true)))
        #expect(calls.value == 5, "another user misses the cache")
    }

    /// What an event loop may ask: a success from a moment ago, never a wait and never a check.
    @Test func aRecentSuccessIsKnownWithoutVerifying() async throws {
        let cache = VerifiedPasswordCache(lifetime: .milliseconds(100))
        #expect(!cache.wasVerified(user: "a", password: "p", encodedHash: "h"))
        #expect(!cache.verify(user: "a", password: "p", encodedHash: "h", using: { false }))
        #expect(!cache.wasVerified(user: "a", password: "p", encodedHash: "h"), "a failure is not remembered")
        #expect(cache.verify(user: "a", password: "p", encodedHash: "h", using: { true }))
        #expect(cache.wasVerified(user: "a", password: "p", encodedHash: "h"))
        #expect(!cache.wasVerified(user: "a", password: "q", encodedHash: "h"), "another password")
        #expect(!cache.wasVerified(user: "a", password: "p", encodedHash: "h2"), "a changed stored hash")
        #expect(!cache.wasVerified(user: "b", password: "p", encodedHash: "h"), "another user")
        try await Task.sleep(for: .milliseconds(200))
        #expect(!cache.wasVerified(user: "a", password: "p", encodedHash: "h"), "expired")
    }

    @Test func successesExpire() async throws {
        let cache = VerifiedPasswordCache(lifetime: .milliseconds(50))
        let calls = CallCounter()
        let check = { () -> Bool in calls.increment(); return true }
        #expect(cache.verify(user: "a", password: "p", encodedHash: "h", using: check))
        try await Task.sleep(for: .milliseconds(120))
        #expect(cache.verify(user: "a", password: "p", encodedHash: "h", using: check))
        #expect(calls.value == 2)
    }

    @Test func concurrentIdenticalChecksRunOnce() async {
        let cache = VerifiedPasswordCache()
        let calls = CallCounter()
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    cache.verify(user: "a", password: "p", encodedHash: "h") {
                        calls.increment()
                        Thread.sleep(forTimeInterval: 0.1)
                        return true
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 })
        #expect(calls.value == 1, "one scrypt for eight logins at once")
    }
}

/// Counts how often the expensive check ran.
private final class CallCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { self.count.add(1, ordering: .relaxed) }
    var value: Int { self.count.load(ordering: .relaxed) }
}
