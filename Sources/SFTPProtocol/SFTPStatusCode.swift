/// Status codes of SFTP version 3 (draft-ietf-secsh-filexfer-02, section 7).
public struct SFTPStatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = SFTPStatusCode(rawValue: 0)
    public static let eof = SFTPStatusCode(rawValue: 1)
    public static let noSuchFile = SFTPStatusCode(rawValue: 2)
    public static let permissionDenied = SFTPStatusCode(rawValue: 3)
    public static let failure = SFTPStatusCode(rawValue: 4)
    public static let badMessage = SFTPStatusCode(rawValue: 5)
    public static let noConnection = SFTPStatusCode(rawValue: 6)
    public static let connectionLost = SFTPStatusCode(rawValue: 7)
    public static let operationUnsupported = SFTPStatusCode(rawValue: 8)

    /// The message OpenSSH's sftp-server sends with each code, which clients show to users.
    public var defaultMessage: String {
        switch self.rawValue {
        case 0: return "Success"
        case 1: return "End of file"
        case 2: return "No such file"
        case 3: return "Permission denied"
        case 4: return "Failure"
        case 5: return "Bad message"
        case 6: return "No connection"
        case 7: return "Connection lost"
        case 8: return "Operation unsupported"
        default: return "Unknown error"
        }
    }

    public var description: String { "\(self.defaultMessage) (\(self.rawValue))" }
}
