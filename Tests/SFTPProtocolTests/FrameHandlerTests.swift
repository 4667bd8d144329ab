import NIOCore
import NIOEmbedded
import Testing
import WharfCore

@testable import SFTPProtocol

@Suite("SFTPFrameHandler")
struct FrameHandlerTests {
    /// A WRITE (id 5, handle "h1", offset 4096) of `count` bytes of data.
    static func write(count: Int) -> [UInt8] {
        hex("06 00000005 00000002 6831 0000000000001000") + withUnsafeBytes(of: UInt32(count).bigEndian, Array.init)
            + (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
    }

    /// A DATA reply (id 9) of `count` bytes of data.
    static func data(count: Int) -> [UInt8] {
        hex("67 00000009") + withUnsafeBytes(of: UInt32(count).bigEndian, Array.init)
            + (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ 2) }
    }

    /// Framed packets of several sizes: a STAT, a 3,000-byte body (a WRITE in type only), a CLOSE,
    /// a WRITE of 9,000 bytes, a WRITE of 5 bytes, a WRITE followed by trailing bytes, a DATA of
    /// 6,000 bytes.
    static let packets: [[UInt8]] = [
        hex("11 00000001 00000002 2f61"),
        [0x06] + (0..<2_999).map { UInt8(truncatingIfNeeded: $0 &* 7) },
        hex("04 00000002 00000001 68"),
        write(count: 9_000),
        write(count: 5),
        hex("06 00000005 00000002 6831 0000000000001000 00000003 616263 7a7a"),
        data(count: 6_000),
    ]
    static let stream: [UInt8] = packets.flatMap { packet in
        withUnsafeBytes(of: UInt32(packet.count).bigEndian, Array.init) + packet
    }

    func makeChannel(
        limit: Int = SFTPFrameDecoder.defaultMaximumPacketLength, pieces: SFTPPacketType? = nil
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            SFTPFrameHandler(maximumPacketLength: limit, dataInPiecesFor: pieces))
        return channel
    }

    func received(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let packet = try channel.readInbound(as: SFTPPacket.self) { out.append(bytes(of: packet.contiguousBytes)) }
        return out
    }

    /// Feeds `stream` cut at `cuts` and returns the packets that came out.
    func feed(_ stream: [UInt8], cutAt cuts: [Int], pieces: SFTPPacketType? = nil) throws -> [[UInt8]] {
        let channel = try self.makeChannel(pieces: pieces)
        var start = 0
        for end in cuts + [stream.count] where end > start {
            try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
            start = end
        }
        let out = try self.received(channel)
        #expect(try channel.finish().isClean)
        return out
    }

    @Test("the stream cut once at every offset gives the same packets", arguments: [nil, .write, .data] as [SFTPPacketType?])
    func everySingleCut(pieces: SFTPPacketType?) throws {
        for cut in 0...Self.stream.count {
            #expect(try self.feed(Self.stream, cutAt: [cut], pieces: pieces) == Self.packets, "cut at \(cut)")
        }
    }

    @Test("the stream cut at many random places gives the same packets", arguments: [nil, .write, .data] as [SFTPPacketType?])
    func randomCuts(pieces: SFTPPacketType?) throws {
        var generator = SplitMix64(seed: 42)  // deterministic, so that a failing cut list can be replayed
        for _ in 0..<300 {
            let count = Int(generator.next() % 40)
            let cuts = (0..<count).map { _ in Int(generator.next() % UInt64(Self.stream.count + 1)) }.sorted()
            #expect(try self.feed(Self.stream, cutAt: cuts, pieces: pieces) == Self.packets, "cuts \(cuts)")
        }
    }

    @Test("a WRITE's data fed byte by byte comes in one copied piece and decodes as the whole packet")
    func dataByteByByte() throws {
        let framed = withUnsafeBytes(of: UInt32(Self.packets[3].count).bigEndian, Array.init) + Self.packets[3]
        let channel = try self.makeChannel(pieces: .write)
        // The head and 13 bytes of data in one read, the other bytes one at a time.
        try channel.writeInbound(ByteBuffer(bytes: framed[0..<40]))
        for byte in framed[40...] { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        let packet = try #require(try channel.readInbound(as: SFTPPacket.self))
        let split = try #require(packet.data)
        // 9,000 bytes in one buffer of our own, not 9,000 one-byte slices.
        #expect(split.pieces.count == 1)
        #expect(split.readableBytes == 9_000)
        guard case .write(let id, let handle, let offset, let data) = try SFTPRequest(packet: packet) else {
            Issue.record("not a WRITE")
            return
        }
        #expect(id == 5 && bytes(of: handle) == ascii("h1") && offset == 4096)
        #expect(bytes(of: data) == Array(Self.packets[3].suffix(9_000)))
        #expect(try channel.finish().isClean)
    }

    @Test("a client's DATA that crosses reads comes with its data as the pieces, and decodes as DATA")
    func dataReplyInPieces() throws {
        let packet = Self.data(count: 40_000)
        let framed = withUnsafeBytes(of: UInt32(packet.count).bigEndian, Array.init) + packet
        let reads = [framed[0..<10_000], framed[10_000..<30_000], framed[30_000...]].map { ByteBuffer(bytes: $0) }
        let channel = try self.makeChannel(pieces: .data)
        for read in reads { try channel.writeInbound(read) }
        let received = try #require(try channel.readInbound(as: SFTPPacket.self))
        let data = try #require(received.data)
        let base = { (buffer: ByteBuffer) in buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        #expect(data.pieces.count == 3)
        // Length, type, id, data length: the data starts 13 bytes into the first read.
        #expect(base(data.pieces[0]) == base(reads[0]) + 13)
        #expect(base(data.pieces[1]) == base(reads[1]))
        guard case .data(let id, let payload) = try SFTPResponse(packet: received) else {
            Issue.record("not DATA")
            return
        }
        #expect(id == 9)
        #expect(bytes(of: payload) == Array(packet.suffix(40_000)))
        #expect(try channel.finish().isClean)
    }

    @Test("a WRITE whose head crosses reads, or whose data does not fill it, comes in one buffer")
    func writesGatheredWhole() throws {
        let channel = try self.makeChannel(pieces: .write)
        for byte in Self.stream { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        var packets: [SFTPPacket] = []
        while let packet = try channel.readInbound(as: SFTPPacket.self) { packets.append(packet) }
        #expect(packets.map { bytes(of: $0.bytes) } == Self.packets)
        #expect(packets.allSatisfy { $0.data == nil })
        // The WRITE with trailing bytes, its head whole in the read.
        let channel2 = try self.makeChannel(pieces: .write)
        let last = Self.packets[5]
        let framed = withUnsafeBytes(of: UInt32(last.count).bigEndian, Array.init) + last
        try channel2.writeInbound(ByteBuffer(bytes: framed[0..<30]))
        try channel2.writeInbound(ByteBuffer(bytes: framed[30...]))
        let packet = try #require(try channel2.readInbound(as: SFTPPacket.self))
        #expect(packet.data == nil)
        #expect(bytes(of: packet.bytes) == last)
        #expect(try channel.finish().isClean)
        #expect(try channel2.finish().isClean)
    }

    @Test("a WRITE's large pieces are slices of the reads they came in, small ones are copied")
    func largePiecesAreSlices() throws {
        let packet = Self.write(count: 20_000)
        let framed = withUnsafeBytes(of: UInt32(packet.count).bigEndian, Array.init) + packet
        // The head and 4,973 data bytes, 10,000 bytes, 5,000 bytes in a 20,000-byte buffer, the rest.
        let reads: [ByteBuffer] = [
            ByteBuffer(bytes: framed[0..<5_000]),
            ByteBuffer(bytes: framed[5_000..<15_000]),
            {
                var buffer = ByteBuffer(bytes: [UInt8](repeating: 0, count: 15_000) + framed[15_000..<20_000])
                buffer.moveReaderIndex(forwardBy: 15_000)
                return buffer
            }(),
            ByteBuffer(bytes: framed[20_000...]),
        ]
        let channel = try self.makeChannel(pieces: .write)
        for read in reads { try channel.writeInbound(read) }
        let received = try #require(try channel.readInbound(as: SFTPPacket.self))
        let data = try #require(received.data)
        let base = { (buffer: ByteBuffer) in buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } }
        #expect(data.pieces.count == 3)
        #expect(base(data.pieces[0]) == base(reads[0]) + 27)
        #expect(base(data.pieces[1]) == base(reads[1]))
        // The third read's 5,000 bytes are a quarter of their buffer: copied, with the last 27 bytes.
        #expect(data.pieces[2].readableBytes == 5_027)
        #expect(bytes(of: received.contiguousBytes) == packet)
        #expect(try channel.finish().isClean)
    }

    @Test("a packet that lies whole in a read is a slice of it, not a copy")
    func wholePacketsAreSlices() throws {
        let channel = try self.makeChannel()
        let input = ByteBuffer(bytes: Self.stream)
        try channel.writeInbound(input)
        let inputBase = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let second = try #require(try channel.readInbound(as: SFTPPacket.self).flatMap { _ in
            try channel.readInbound(as: SFTPPacket.self)
        }?.bytes)
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

    @Test("the stream ending inside a packet is reported; between packets it is not", arguments: [nil, .write, .data] as [SFTPPacketType?])
    func endOfStream(pieces: SFTPPacketType?) throws {
        let write = 4 + Self.packets[0].count + 4 + Self.packets[1].count + 4 + Self.packets[2].count
        for cut in Array(1..<(4 + Self.packets[0].count)) + Array((write + 1)..<(write + 4 + Self.packets[3].count)) {
            let channel = try self.makeChannel(pieces: pieces)
            try channel.writeInbound(ByteBuffer(bytes: Self.stream[0..<cut]))
            #expect(throws: ByteToMessageDecoderError.self) { try channel.finish() }
        }
        let channel = try self.makeChannel(pieces: pieces)
        try channel.writeInbound(ByteBuffer(bytes: Self.stream))
        #expect(try channel.finish().isClean == false)  // the packets are still to be read
    }
}
