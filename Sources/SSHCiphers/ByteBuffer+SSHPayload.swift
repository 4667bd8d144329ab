import NIOCore

extension ByteBuffer {
    /// The payload of a decrypted packet whose readable bytes start at its padding length byte
    /// (RFC 4253 §6): at least 4 bytes of padding, and no more than the packet holds.
    mutating func sliceSSHPayload() throws(SSHTransportProtectionError) -> ByteBuffer {
        guard let paddingLength = self.readInteger(as: UInt8.self) else {
            throw .invalidPacketLength(0)
        }
        guard paddingLength >= 4 else {
            throw .insufficientPadding
        }
        guard Int(paddingLength) <= self.readableBytes, let payload = self.readSlice(length: self.readableBytes - Int(paddingLength)) else {
            throw .excessPadding
        }
        self.moveReaderIndex(forwardBy: Int(paddingLength))
        return payload
    }
}
