import WharfCore

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

/// Checks credentials against the user database. Called on a thread pool: it may block
/// (database reads, slow password hashes). It must take about as long for an unknown user as
/// for a wrong password, so that timing tells nothing.
public protocol SSHUserAuthenticator: Sendable {
    func authenticate(username: String, credential: SSHCredential) -> AuthenticatedUser?
}
