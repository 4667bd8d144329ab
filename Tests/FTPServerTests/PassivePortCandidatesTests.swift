import Testing
import WharfCore

@testable import FTPServer

@Suite("Passive port order")
struct PassivePortCandidatesTests {
    @Test func aSmallRangeIsTriedWholeOnceEach() {
        let order = PassivePortCandidates.order(of: 50000...50099)
        #expect(order.count == 100)
        #expect(Set(order) == Set(50000...50099))
    }

    @Test func aLargeRangeIsProbedAtRandomWithinIt() {
        let order = PassivePortCandidates.order(of: 20000...29999)
        #expect(order.count == PassivePortCandidates.probes)
        #expect(order.allSatisfy { (20000...29999).contains($0) })
        // Not a run from one start: a scan would put consecutive ports side by side.
        let consecutive = zip(order, order.dropFirst()).filter { $1 == $0 + 1 }.count
        #expect(consecutive < 8)
    }

    @Test func ordersDifferFromCallToCall() {
        let first = PassivePortCandidates.order(of: 40000...40999)
        let second = PassivePortCandidates.order(of: 40000...40999)
        #expect(first != second)
    }

    /// SplitMix64's published first outputs for seed 0 (the reference implementation's).
    @Test func splitMix64MatchesItsReference() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }
}
