import WharfCore

/// Checks an FTP login (USER + PASS) against the user database.
///
/// Called on a thread pool: it may block (database reads, slow password hashes). It must take about
/// as long for an unknown user as for a wrong password, so that timing tells nothing.
public protocol FTPUserAuthenticator: Sendable {
    func authenticate(username: String, password: String) -> AuthenticatedUser?

    /// The same check when it can be made without blocking, on an event loop: the user and a
    /// success with this password known from a moment ago. Nil says nothing (not even "wrong"):
    /// the session then calls `authenticate` on the pool.
    func authenticateWithoutBlocking(username: String, password: String) -> AuthenticatedUser?
}

extension FTPUserAuthenticator {
    public func authenticateWithoutBlocking(username: String, password: String) -> AuthenticatedUser? { nil }
}
