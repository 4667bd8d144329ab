/// The account a successful login opens, whatever the protocol.
public struct AuthenticatedUser: Sendable, Hashable {
    public var name: String
    /// The absolute path the user is jailed in.
    public var home: String
    /// True for accounts that may only read (FTP's anonymous login).
    public var readOnly: Bool

    public init(name: String, home: String, readOnly: Bool = false) {
        self.name = name
        self.home = home
        self.readOnly = readOnly
    }
}
