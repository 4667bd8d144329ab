import Testing
import WharfClient

@Suite("Progress line")
struct TransferProgressLineTests {
    @Test func formatsSizes() {
        #expect(TransferProgressLine.bytes(0) == "0 B")
        #expect(TransferProgressLine.bytes(1023) == "1023 B")
        #expect(TransferProgressLine.bytes(1024) == "1.00 KiB")
        #expect(TransferProgressLine.bytes(12_900_000) == "12.3 MiB")
        #expect(TransferProgressLine.bytes(200 * 1024 * 1024) == "200 MiB")
    }

    @Test func formatsDurations() {
        #expect(TransferProgressLine.duration(0) == "0:00")
        #expect(TransferProgressLine.duration(75) == "1:15")
        #expect(TransferProgressLine.duration(3725) == "1:02:05")
        #expect(TransferProgressLine.duration(.infinity) == "0:00")
    }

    @Test func rendersPercentRateAndETAWithinTheWidth() {
        let line = TransferProgressLine(name: "big.iso", bytesDone: 50 * 1024 * 1024, bytesTotal: 100 * 1024 * 1024, elapsed: 5)
        let text = line.render(width: 80)
        #expect(text.hasPrefix("big.iso"))
        #expect(text.contains("50%"))
        #expect(text.contains("10.0 MiB/s"))
        #expect(text.contains("ETA 0:05"))
        #expect(text.count <= 80)
        let narrow = TransferProgressLine(name: String(repeating: "n", count: 200), bytesDone: 1, bytesTotal: 2, elapsed: 1)
        #expect(narrow.render(width: 70).count <= 70)
        #expect(narrow.render(width: 70).hasPrefix("…"))
    }
}
