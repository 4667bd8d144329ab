import NIOCore
import NIOEmbedded
import Testing

@testable import SFTPProtocol

@Suite("SFTPFrameHandler")
struct FrameHandlerTests {
    /// Framed packets of several sizes: a STAT, a 3,000-byte body, a CLOSE.
    static let packets: [[UInt8]] = [
        hex("11 00000001 00000002 2f61"),
        [0x06] + (0..<2_999).map { UInt8(truncatingIfNeeded: $0 &* 7) },
        hex("04 00000002 00000001 68"),
    ]
    static let stream: [UInt8] = packets.flatMap { packet in
        withUnsafeBytes(of: UInt32(packet.count).bigEndian, Array.init) + packet
    }

    func makeChannel(limit: Int = SFTPFrameDecoder.defaultMaximumPacketLength) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(SFTPFrameHandler(maximumPacketLength: limit))
        return channel
    }

    func received(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let packet = try channel.readInbound(as: ByteBuffer.self) { out.append(bytes(of: packet)) }
        return out
    }

    /// Feeds `stream` cut at `cuts` and returns the packets that came out.
    func feed(_ stream: [UInt8], cutAt cuts: [Int]) throws -> [[UInt8]] {
        let channel = try self.makeChannel()
        var start = 0
        for end in cuts + [stream.count] where end > start {
            try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
            start = end
        }
        let out = try self.received(channel)
        #expect(try channel.finish().isClean)
        return out
    }

    @Test("the stream cut once at every offset gives the same packets")
    func everySingleCut() throws {
        for cut in 0...Self.stream.count {
            #expect(try self.feed(Self.stream, cutAt: [cut]) == Self.packets, "cut at \(cut)")
        }
    }

    @Test("the stream cut at many random places gives the same packets")
    func randomCuts() throws {
        var generator = SplitMix(seed: 42)
        for _ in 0..<300 {
            let count = Int(generator.next() % 12)
            let cuts = (0..<count).map { _ in Int(generator.next() % UInt64(Self.stream.count + 1)) }.sorted()
            #expect(try self.feed(Self.stream, cutAt: cuts) == Self.packets, "cuts \(cuts)")
        }
    }

    @Test("a packet that lies whole in a read is a slice of it, not a copy")
    func wholePacketsAreSlices() throws {
        let channel = try self.makeChannel()
        let input = ByteBuffer(bytes: Self.stream)
        try channel.writeInbound(input)
        let inputBase = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let second = try #require(try channel.readInbound(as: ByteBuffer.self).flatMap { _ in
            try channel.readInbound(as: ByteBuffer.self)
        })
        let secondBase = second.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(secondBase == inputBase + 4 + UInt(Self.packets[0].count) + 4)
        _ = try channel.finish()
    }

    @Test("a length over the limit is an error, also when it arrives in pieces; then nothing more comes")
    func tooLarge() throws {
        for cut in 0...5 {
            let channel = try self.makeChannel(limit: 1000)
            let frame = hex("000003e9 03") + hex("00000005 01 00000003")
            #expect(throws: SFTPProtocolError.packetTooLarge(length: 1001, limit: 1000)) {
                try channel.writeInbound(ByteBuffer(bytes: frame[0..<cut]))
                try channel.writeInbound(ByteBuffer(bytes: frame[cut...]))
            }
            try channel.writeInbound(ByteBuffer(bytes: hex("00000005 01 00000003")))
            #expect(try self.received(channel).isEmpty, "cut at \(cut)")
            _ = try? channel.finish()
        }
    }

    @Test("an empty packet is an error")
    func empty() throws {
        let channel = try self.makeChannel()
        #expect(throws: SFTPProtocolError.emptyPacket) {
            try channel.writeInbound(ByteBuffer(bytes: hex("00000000 01")))
        }
        _ = try? channel.finish()
    }

    @Test("the stream ending inside a packet is reported; between packets it is not")
    func endOfStream() throws {
        for cut in 1..<(4 + Self.packets[0].count) {
            let channel = try self.makeChannel()
            try channel.writeInbound(ByteBuffer(bytes: Self.stream[0..<cut]))
            #expect(throws: ByteToMessageDecoderError.self) { try channel.finish() }
        }
        let channel = try self.makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: Self.stream))
        #expect(try channel.finish().isClean == false)  // the packets are still to be read
    }
}

/// A small deterministic generator, so that a failing cut list can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
