import FTPServer
import SSHTransport
import WharfCore
import WharfUsers

/// Checks SSH credentials against the embedded user store.
///
/// Unknown users cost the same scrypt work as known ones (a dummy hash is verified), so that
/// neither the answer nor its timing tells whether an account exists.
struct UserStoreAuthenticator: SSHUserAuthenticator, FTPUserAuthenticator {
    let store: UserStore
    /// Recent successful password checks, so repeated logins skip scrypt (see the cache's notes).
    let verifiedPasswords = VerifiedPasswordCache()

    func authenticate(username: String, credential: SSHCredential) -> AuthenticatedUser? {
        let record = (try? self.store.user(named: username)) ?? nil
        switch credential {
        case .password(let password):
            guard let record, let hash = record.passwordHash else {
                _ = PasswordHasher.verify(password: password, encodedHash: PasswordHasher.dummyHash)
                return nil
            }
            let matches = self.verifiedPasswords.verify(user: record.name, password: password, encodedHash: hash) {
                PasswordHasher.verify(password: password, encodedHash: hash)
            }
            guard matches else { return nil }
            return AuthenticatedUser(name: record.name, home: record.home)
        case .publicKey(let key):
            guard let record, record.authorizedKeys.contains(where: { $0.openSSHString == key }) else { return nil }
            return AuthenticatedUser(name: record.name, home: record.home)
        }
    }

    func authenticate(username: String, password: String) -> AuthenticatedUser? {
        self.authenticate(username: username, credential: .password(password))
    }

    func authenticateWithoutBlocking(username: String, password: String) -> AuthenticatedUser? {
        guard case .some(.some(let record)) = self.store.cachedUser(named: username), let hash = record.passwordHash,
            self.verifiedPasswords.wasVerified(user: record.name, password: password, encodedHash: hash)
        else { return nil }
        return AuthenticatedUser(name: record.name, home: record.home)
    }
}
