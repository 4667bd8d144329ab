import NIOCore

/// TYPE A: files are stored with LF line ends and travel with CRLF (RFC 959 §3.1.1.1).
///
/// Both directions keep one byte of state, so a CR LF pair split across two buffers is handled.
struct ASCIITranslator: Sendable {
    /// Outgoing: whether the last byte sent was CR (so a following LF is already a CRLF).
    private var lastWasCR = false
    /// Incoming: a CR held back until we know whether LF follows.
    private var pendingCR = false

    init() {}

    /// LF not preceded by CR becomes CRLF.
    mutating func toNetwork(_ input: ByteBuffer) -> ByteBuffer {
        let bytes = input.readableBytesView
        var output = ByteBuffer()
        output.reserveCapacity(bytes.count + bytes.count / 16 + 8)
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && !self.lastWasCR {
                output.writeInteger(UInt8(ascii: "\r"))
            }
            output.writeInteger(byte)
            self.lastWasCR = byte == UInt8(ascii: "\r")
        }
        return output
    }

    /// CRLF becomes LF; a lone CR stays.
    mutating func fromNetwork(_ input: ByteBuffer) -> ByteBuffer {
        var output = ByteBuffer()
        output.reserveCapacity(input.readableBytes + 1)
        for byte in input.readableBytesView {
            if self.pendingCR {
                self.pendingCR = false
                if byte != UInt8(ascii: "\n") { output.writeInteger(UInt8(ascii: "\r")) }
            }
            if byte == UInt8(ascii: "\r") {
                self.pendingCR = true
            } else {
                output.writeInteger(byte)
            }
        }
        return output
    }

    /// At the end of an incoming stream: a CR that was last stays.
    mutating func finishFromNetwork() -> ByteBuffer? {
        guard self.pendingCR else { return nil }
        self.pendingCR = false
        var output = ByteBuffer()
        output.writeInteger(UInt8(ascii: "\r"))
        return output
    }
}
