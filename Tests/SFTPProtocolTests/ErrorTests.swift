import NIOCore
import Testing

@testable import SFTPProtocol

@Suite("SFTPRequest errors")
struct RequestErrorTests {
    @Test func emptyPacket() {
        #expect(throws: SFTPProtocolError.emptyPacket) { try decode([]) }
    }

    @Test(arguments: [UInt8(0), 21, 99, 100, 106, 199, 202, 250, 255])
    func unknownType(type: UInt8) {
        #expect(throws: SFTPProtocolError.unknownPacketType(type)) {
            try decode([type] + hex("00000001 00000001 2f"))
        }
        // Even without a payload.
        #expect(throws: SFTPProtocolError.unknownPacketType(type)) { try decode([type]) }
    }

    @Test(
        "server-to-client types are not requests",
        arguments: [UInt8(2), 101, 102, 103, 104, 105, 201])
    func serverTypes(type: UInt8) {
        #expect(throws: SFTPProtocolError.unknownPacketType(type)) {
            try decode([type] + hex("00000001 00000000 00000000 00000000 00000000"))
        }
    }

    @Test("every cut of every request vector throws", arguments: Vectors.all.map(\.name))
    func truncated(name: String) throws {
        let vector = try #require(Vectors.all.first { $0.name == name }).bytes
        let type = vector[0]
        // EXTENDED keeps whatever follows the name as payload: only cuts up to the name's end are truncations.
        let end = type == 200 ? 1 + 4 + 4 + 18 : vector.count
        #expect(throws: SFTPProtocolError.emptyPacket) { try decode([]) }
        for cut in 1..<end {
            #expect(throws: SFTPProtocolError.truncated(type: type), "\(name) cut at \(cut)") {
                try decode(Array(vector.prefix(cut)))
            }
        }
        _ = try decode(vector)
    }

    @Test func stringLengthBeyondThePacket() {
        // STAT whose path claims 0xffffffff bytes.
        #expect(throws: SFTPProtocolError.truncated(type: 17)) {
            try decode(hex("11 00000001 ffffffff 2f"))
        }
        // WRITE whose data claims 0x7fffffff bytes.
        #expect(throws: SFTPProtocolError.truncated(type: 6)) {
            try decode(hex("06 00000001 00000001 68 0000000000000000 7fffffff 00"))
        }
    }

    @Test func openWithTruncatedAttributes() {
        // flags say SIZE but only 4 of its 8 bytes follow.
        #expect(throws: SFTPProtocolError.truncated(type: 3)) {
            try decode(hex("03 00000001 00000002 2f61 00000001 00000001 00000000"))
        }
    }

    @Test func errorDescriptions() {
        #expect(SFTPProtocolError.emptyPacket.description == "empty SFTP packet")
        #expect(SFTPProtocolError.truncated(type: 3).description == "truncated SFTP packet of type 3")
        #expect(SFTPProtocolError.unknownPacketType(99).description == "unknown SFTP packet type 99")
        #expect(SFTPProtocolError.malformed("x").description == "malformed SFTP packet: x")
        #expect(
            SFTPProtocolError.packetTooLarge(length: 10, limit: 5).description
                == "SFTP packet of 10 bytes exceeds the limit of 5")
    }

    @Test func peekID() {
        #expect(SFTPRequest.peekID(packet: ByteBuffer(bytes: hex("11 0000002a"))) == 42)
        // Works for undecodable packets: truncated fields, unknown types.
        #expect(SFTPRequest.peekID(packet: ByteBuffer(bytes: hex("03 01020304 0000"))) == 0x0102_0304)
        #expect(SFTPRequest.peekID(packet: ByteBuffer(bytes: hex("63 00000007 ff"))) == 7)
        // INIT has no id; its uint32 is the version.
        #expect(SFTPRequest.peekID(packet: ByteBuffer(bytes: hex("01 00000003"))) == nil)
        // Too short for an id.
        #expect(SFTPRequest.peekID(packet: ByteBuffer()) == nil)
        #expect(SFTPRequest.peekID(packet: ByteBuffer(bytes: hex("11"))) == nil)
        #expect(SFTPRequest.peekID(packet: ByteBuffer(bytes: hex("11 000000"))) == nil)
    }

    @Test func peekIDReadsFromTheReaderIndexWithoutConsuming() {
        var packet = ByteBuffer(bytes: hex("ffff 11 00000009"))
        packet.moveReaderIndex(forwardBy: 2)
        #expect(SFTPRequest.peekID(packet: packet) == 9)
        #expect(packet.readerIndex == 2)
    }

    @Test func randomBytesNeverCrash() {
        // A deterministic generator, so a failure can be replayed.
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let types: [UInt8] = (1...20).map { UInt8($0) } + [200]
        for _ in 0..<5000 {
            let count = Int(next() % 40)
            var packet = [types[Int(next() % UInt64(types.count))]]
            for _ in 0..<count { packet.append(UInt8(truncatingIfNeeded: next())) }
            do {
                let request = try decode(packet)
                if case .extended(_, let name, let payload) = request {
                    _ = try? SFTPExtendedRequest(name: name, payload: payload)
                }
            } catch {
                // Any SFTPProtocolError is fine; only traps are not.
            }
        }
    }
}
