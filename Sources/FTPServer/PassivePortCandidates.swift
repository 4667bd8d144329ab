/// The ports of a passive range a PASV or EPSV tries, in random order.
///
/// Random, not a scan from a random start: ports in use form runs (each PASV would take the first
/// free port after a busy one), and with a few hundred transfers at once a run longer than the
/// probe answered 425 although most of the range was free. Bounded, so that a huge, busy range
/// cannot stall the reply.
///
/// The order comes from one draw of the system's generator, stretched with SplitMix64: drawing
/// each port from the system's generator is a getrandom(2) call per port (256 calls, a third of
/// the server's time for an EPSV on a 2-core machine). The order only has to be unguessable
/// enough not to form runs; a connection from another address than the client's is refused anyway.
enum PassivePortCandidates {
    /// Ports tried per PASV or EPSV before answering 425.
    static let probes = 256

    /// Every port of a range of up to `probes` ports once, shuffled; else `probes` random ports of it.
    static func order(of ports: ClosedRange<Int>, probes: Int = Self.probes) -> [Int] {
        var generator = SplitMix64(seed: UInt64.random(in: .min ... .max))
        return self.order(of: ports, probes: probes, using: &generator)
    }

    static func order(
        of ports: ClosedRange<Int>, probes: Int = Self.probes, using generator: inout some RandomNumberGenerator
    ) -> [Int] {
        if ports.count <= probes { return Array(ports).shuffled(using: &generator) }
        return (0..<probes).map { _ in Int.random(in: ports, using: &generator) }
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a fast generator for orders that need no secrecy.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
