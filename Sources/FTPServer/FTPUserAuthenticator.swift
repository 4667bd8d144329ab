import WharfCore

/// Checks an FTP login (USER + PASS) against the user database.
///
/// Called on a thread pool: it may block (database reads, slow password hashes). It must take about
/// as long for an unknown user as for a wrong password, so that timing tells nothing.
public protocol FTPUserAuthenticator: Sendable {
    func authenticate(username: String, password: String) -> AuthenticatedUser?
}
