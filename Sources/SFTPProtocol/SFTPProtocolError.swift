/// Why bytes from a peer could not be decoded into an SFTP message.
public enum SFTPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The length prefix announced more than the receiver accepts.
    case packetTooLarge(length: UInt32, limit: Int)
    /// A packet of length zero has no type byte.
    case emptyPacket
    /// The packet ended before a field it must contain.
    case truncated(type: UInt8)
    /// The type byte names no message of SFTP version 3.
    case unknownPacketType(UInt8)
    /// A field holds a value the protocol forbids.
    case malformed(String)

    public var description: String {
        switch self {
        case .packetTooLarge(let length, let limit): return "SFTP packet of \(length) bytes exceeds the limit of \(limit)"
        case .emptyPacket: return "empty SFTP packet"
        case .truncated(let type): return "truncated SFTP packet of type \(type)"
        case .unknownPacketType(let type): return "unknown SFTP packet type \(type)"
        case .malformed(let why): return "malformed SFTP packet: \(why)"
        }
    }
}
