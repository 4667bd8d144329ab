import NIOCore
import Testing

@testable import SFTPProtocol

@Suite("SFTPFrameDecoder")
struct FrameDecoderTests {
    /// Two framed packets: STAT id=1 "/a", then CLOSE id=2 handle "h".
    static let stream = hex("0000000b 11 00000001 00000002 2f61") + hex("0000000a 04 00000002 00000001 68")

    @Test func wholePacket() throws {
        var decoder = SFTPFrameDecoder()
        var input = ByteBuffer(bytes: hex("00000005 01 00000003"))
        let packet = try #require(try decoder.decode(buffer: &input))
        #expect(bytes(of: packet) == hex("01 00000003"))
        #expect(input.readableBytes == 0)
        #expect(try decoder.decode(buffer: &input) == nil)
    }

    @Test func byteByByte() throws {
        var decoder = SFTPFrameDecoder()
        var input = ByteBuffer()
        var packets: [[UInt8]] = []
        for byte in Self.stream {
            input.writeInteger(byte)
            while let packet = try decoder.decode(buffer: &input) {
                packets.append(bytes(of: packet))
            }
        }
        #expect(packets == [hex("11 00000001 00000002 2f61"), hex("04 00000002 00000001 68")])
        #expect(input.readableBytes == 0)
    }

    @Test func byteByByteEmitsOnlyWhenComplete() throws {
        var decoder = SFTPFrameDecoder()
        var input = ByteBuffer()
        let frame = hex("00000005 01 00000003")
        for (index, byte) in frame.enumerated() {
            input.writeInteger(byte)
            let packet = try decoder.decode(buffer: &input)
            if index < frame.count - 1 {
                #expect(packet == nil, "emitted after \(index + 1) bytes")
                #expect(input.readableBytes == index + 1, "consumed bytes before the packet was complete")
            } else {
                #expect(packet.map(bytes(of:)) == hex("01 00000003"))
            }
        }
    }

    @Test func severalPacketsInOneBuffer() throws {
        var decoder = SFTPFrameDecoder()
        var input = ByteBuffer(bytes: Self.stream + hex("000000"))
        let first = try #require(try decoder.decode(buffer: &input))
        let second = try #require(try decoder.decode(buffer: &input))
        #expect(bytes(of: first) == hex("11 00000001 00000002 2f61"))
        #expect(bytes(of: second) == hex("04 00000002 00000001 68"))
        // A partial third length prefix waits.
        #expect(try decoder.decode(buffer: &input) == nil)
        #expect(input.readableBytes == 3)
        // The packets decode as requests.
        guard case .stat(1, "/a") = try SFTPRequest(packet: first) else { Issue.record("first"); return }
        guard case .close(2, _) = try SFTPRequest(packet: second) else { Issue.record("second"); return }
    }

    @Test func lengthOverTheLimitThrowsBeforeTheBodyArrives() throws {
        var decoder = SFTPFrameDecoder(maximumPacketLength: 1000)
        #expect(decoder.maximumPacketLength == 1000)
        // Only the length prefix (1001) and one byte: no need to wait for the rest.
        var input = ByteBuffer(bytes: hex("000003e9 03"))
        #expect(throws: SFTPProtocolError.packetTooLarge(length: 1001, limit: 1000)) {
            try decoder.decode(buffer: &input)
        }
        var exactlyTheLimit = ByteBuffer(bytes: hex("000003e8 03"))
        #expect(try decoder.decode(buffer: &exactlyTheLimit) == nil)
    }

    @Test func defaultLimit() {
        #expect(SFTPFrameDecoder.defaultMaximumPacketLength == 263_168)
        var decoder = SFTPFrameDecoder()
        #expect(decoder.maximumPacketLength == 263_168)
        var huge = ByteBuffer(bytes: hex("ffffffff"))
        #expect(throws: SFTPProtocolError.packetTooLarge(length: 0xffff_ffff, limit: 263_168)) {
            try decoder.decode(buffer: &huge)
        }
        var oneOver = ByteBuffer(bytes: hex("00040401"))
        #expect(throws: SFTPProtocolError.packetTooLarge(length: 263_169, limit: 263_168)) {
            try decoder.decode(buffer: &oneOver)
        }
    }

    @Test func zeroLengthThrows() {
        var decoder = SFTPFrameDecoder()
        var input = ByteBuffer(bytes: hex("00000000 01 00000003"))
        #expect(throws: SFTPProtocolError.emptyPacket) { try decoder.decode(buffer: &input) }
    }

    @Test func partialLengthWaits() throws {
        var decoder = SFTPFrameDecoder()
        for count in 0..<4 {
            var input = ByteBuffer(bytes: Array(hex("00000005").prefix(count)))
            #expect(try decoder.decode(buffer: &input) == nil)
            #expect(input.readableBytes == count)
        }
    }

    @Test func decodeLastBehavesLikeDecode() throws {
        var decoder = SFTPFrameDecoder()
        var input = ByteBuffer(bytes: hex("00000005 01 00000003 0000"))
        let packet = try #require(try decoder.decodeLast(buffer: &input, seenEOF: true))
        #expect(bytes(of: packet) == hex("01 00000003"))
        #expect(try decoder.decodeLast(buffer: &input, seenEOF: true) == nil)
    }
}
