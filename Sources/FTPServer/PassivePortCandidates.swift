import WharfCore

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
