/// What a client proves in SSH user authentication.
public enum SSHCredential: Sendable {
    case password(String)
    /// The key in OpenSSH's `authorized_keys` form, "algorithm base64", without comment.
    /// NIOSSH has already checked the signature when this reaches the authenticator.
    case publicKey(String)

    public var methodName: String {
        switch self {
        case .password: return "password"
        case .publicKey: return "publickey"
        }
    }
}

/// The account a successful login opens.
public struct AuthenticatedUser: Sendable, Hashable {
    public var name: String
    /// The absolute path the user is jailed in.
    public var home: String

    public init(name: String, home: String) {
        self.name = name
        self.home = home
    }
}

/// Checks credentials against the user database. Called on a thread pool: it may block
/// (database reads, slow password hashes). It must take about as long for an unknown user as
/// for a wrong password, so that timing tells nothing.
public protocol SSHUserAuthenticator: Sendable {
    func authenticate(username: String, credential: SSHCredential) -> AuthenticatedUser?
}
