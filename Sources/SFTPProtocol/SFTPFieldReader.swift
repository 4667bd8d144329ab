import NIOCore

/// Reads the fields of one packet in order, throwing one chosen error when the packet ends early.
struct SFTPFieldReader {
    var buffer: ByteBuffer
    let truncated: SFTPProtocolError

    mutating func string() throws(SFTPProtocolError) -> String {
        guard let value = self.buffer.readSFTPString() else { throw self.truncated }
        return value
    }

    mutating func bytes() throws(SFTPProtocolError) -> ByteBuffer {
        guard let value = self.buffer.readSFTPStringBuffer() else { throw self.truncated }
        return value
    }

    mutating func uint32() throws(SFTPProtocolError) -> UInt32 {
        guard let value = self.buffer.readInteger(as: UInt32.self) else { throw self.truncated }
        return value
    }

    mutating func uint64() throws(SFTPProtocolError) -> UInt64 {
        guard let value = self.buffer.readInteger(as: UInt64.self) else { throw self.truncated }
        return value
    }

    mutating func attributes() throws(SFTPProtocolError) -> SFTPFileAttributes {
        guard let value = self.buffer.readSFTPFileAttributes() else { throw self.truncated }
        return value
    }
}
