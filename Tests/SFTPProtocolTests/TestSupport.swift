import NIOCore
import Testing

@testable import SFTPProtocol

/// Bytes from hex digits written by hand; spaces and newlines are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// The UTF-8 bytes of a literal, for the text inside a hand-written SSH string.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

func buffer(_ parts: [UInt8]...) -> ByteBuffer {
    ByteBuffer(bytes: parts.joined())
}

func bytes(of buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

func bytes(of payload: SFTPPayload) -> [UInt8] {
    payload.pieces.flatMap { Array($0.readableBytesView) }
}

/// Encodes a response with the code under test and returns the framed bytes.
func encoded(_ response: SFTPResponse) -> [UInt8] {
    var out = ByteBuffer()
    let written = out.writeSFTPResponse(response)
    #expect(written == out.readableBytes)
    return bytes(of: out)
}

func decode(_ packet: [UInt8]) throws(SFTPProtocolError) -> SFTPRequest {
    try SFTPRequest(packet: ByteBuffer(bytes: packet))
}

// Free functions, because Testing's macros cannot call mutating members on their operand.
func readAttributes(_ buffer: inout ByteBuffer) -> SFTPFileAttributes? { buffer.readSFTPFileAttributes() }
func readString(_ buffer: inout ByteBuffer) -> String? { buffer.readSFTPString() }
func readStringBuffer(_ buffer: inout ByteBuffer) -> ByteBuffer? { buffer.readSFTPStringBuffer() }

extension SFTPPacket {
    /// The whole packet in one buffer, as it was on the wire after its length: `bytes` itself
    /// when there are no separate pieces, a copy otherwise.
    var contiguousBytes: ByteBuffer {
        guard let data else { return self.bytes }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(self.bytes.readableBytes + 4 + data.readableBytes)
        buffer.writeImmutableBuffer(self.bytes)
        buffer.writeInteger(UInt32(data.readableBytes))
        for piece in data.pieces { buffer.writeImmutableBuffer(piece) }
        return buffer
    }
}
