import NIOCore

extension ByteBuffer {
    /// Reads an SSH `string` (uint32 length, then bytes) as a buffer slice.
    @inlinable
    public mutating func readSFTPStringBuffer() -> ByteBuffer? {
        let saved = self.readerIndex
        guard let length = self.readInteger(as: UInt32.self),
            let bytes = self.readSlice(length: Int(length))
        else {
            self.moveReaderIndex(to: saved)
            return nil
        }
        return bytes
    }

    /// Reads an SSH `string` and decodes it as UTF-8, replacing invalid sequences.
    @inlinable
    public mutating func readSFTPString() -> String? {
        guard var bytes = self.readSFTPStringBuffer() else { return nil }
        return bytes.readString(length: bytes.readableBytes) ?? ""
    }

    @discardableResult
    @inlinable
    public mutating func writeSFTPString(_ string: String) -> Int {
        let lengthIndex = self.writerIndex
        self.writeInteger(UInt32(0))
        let written = self.writeString(string)
        self.setInteger(UInt32(written), at: lengthIndex)
        return 4 + written
    }

    @discardableResult
    @inlinable
    public mutating func writeSFTPString(_ bytes: ByteBuffer) -> Int {
        self.writeInteger(UInt32(bytes.readableBytes))
        return 4 + self.writeImmutableBuffer(bytes)
    }

    @discardableResult
    @inlinable
    public mutating func writeSFTPString(bytes: some Collection<UInt8>) -> Int {
        self.writeInteger(UInt32(bytes.count))
        return 4 + self.writeBytes(bytes)
    }
}
