import Testing

@testable import FTPServer

@Suite("Control-line credits")
struct FTPInputCreditsTests {
    @Test func readerWaitsUntilTheSessionGivesACreditBack() async {
        let credits = FTPInputCredits(2)
        await credits.acquire()
        await credits.acquire()
        let acquired = Flag()
        let waiter = Task {
            await credits.acquire()
            await acquired.set()
        }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(await !acquired.value, "the third line waits")
        credits.release()
        await waiter.value
        #expect(await acquired.value)
    }

    @Test func cancellationEndsTheWait() async {
        let credits = FTPInputCredits(0)
        let waiter = Task { await credits.acquire() }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value  // Returns instead of hanging.
    }

    actor Flag {
        var value = false
        func set() { self.value = true }
    }
}
