/// Why bytes or text from a peer could not be turned into an FTP value.
///
/// Every case maps to a reply the session sends (500/501/522) while it keeps serving.
public enum FTPProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The line held no command verb (empty, or starting with a space).
    case missingVerb
    /// The verb is not 1 to 16 ASCII letters.
    case invalidVerb(String)
    /// The line is not valid UTF-8 (RFC 2640).
    case invalidUTF8
    /// The line holds a NUL or a bare CR, which no command argument may contain.
    case controlCharacter
    /// A PORT/EPRT/PASV/EPSV argument is malformed or out of range.
    case invalidHostPort(String)
    /// EPRT/EPSV named a network protocol other than 1 (IPv4) or 2 (IPv6): reply 522.
    case unsupportedNetworkProtocol(String)
    /// An MDTM/MFMT time-val is malformed or out of range.
    case invalidTimestamp(String)
    /// Any other argument the command cannot accept.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .missingVerb: return "FTP command line without a verb"
        case .invalidVerb(let verb): return "invalid FTP command verb \(verb.debugDescription)"
        case .invalidUTF8: return "FTP command line is not valid UTF-8"
        case .controlCharacter: return "FTP command line contains a NUL or bare CR"
        case .invalidHostPort(let why): return "invalid host-port argument: \(why)"
        case .unsupportedNetworkProtocol(let proto): return "unsupported network protocol \(proto.debugDescription)"
        case .invalidTimestamp(let why): return "invalid time-val: \(why)"
        case .invalidArgument(let why): return "invalid argument: \(why)"
        }
    }
}
