import NIOCore
import NIOSSH
import Synchronization

/// A way the client may log in, tried in the order given.
public enum SSHClientCredential: Sendable {
    case privateKey(NIOSSHPrivateKey)
    case password(String)

    var method: NIOSSHAvailableUserAuthenticationMethods {
        switch self {
        case .privateKey: return .publicKey
        case .password: return .password
        }
    }

    var name: String {
        switch self {
        case .privateKey: return "publickey"
        case .password: return "password"
        }
    }
}

/// Offers each credential once, when the server accepts its method; then gives up, which NIOSSH
/// reports as an authentication failure.
final class ClientAuthenticationDelegate: NIOSSHClientUserAuthenticationDelegate, Sendable {
    private let username: String
    private let remaining: Mutex<[SSHClientCredential]>
    private let tried = Mutex<[String]>([])
    private let host: String
    /// Failed when every credential was refused: NIOSSH itself would just wait.
    private let authenticated: EventLoopPromise<Void>

    init(username: String, host: String, credentials: [SSHClientCredential], authenticated: EventLoopPromise<Void>) {
        self.username = username
        self.host = host
        self.remaining = Mutex(credentials)
        self.authenticated = authenticated
    }

    /// The methods offered so far, for the error message when none worked.
    var triedMethods: [String] { self.tried.withLock { $0 } }

    func nextAuthenticationType(
        availableMethods: NIOSSHAvailableUserAuthenticationMethods,
        nextChallengePromise: EventLoopPromise<NIOSSHUserAuthenticationOffer?>
    ) {
        let next = self.remaining.withLock { remaining -> SSHClientCredential? in
            while !remaining.isEmpty {
                let candidate = remaining.removeFirst()
                if availableMethods.contains(candidate.method) { return candidate }
            }
            return nil
        }
        guard let next else {
            nextChallengePromise.succeed(nil)
            self.authenticated.fail(
                SSHClientError.authenticationFailed(user: self.username, host: self.host, tried: self.triedMethods))
            return
        }
        self.tried.withLock { $0.append(next.name) }
        switch next {
        case .privateKey(let key):
            nextChallengePromise.succeed(
                NIOSSHUserAuthenticationOffer(username: self.username, serviceName: "", offer: .privateKey(.init(privateKey: key))))
        case .password(let password):
            nextChallengePromise.succeed(
                NIOSSHUserAuthenticationOffer(username: self.username, serviceName: "", offer: .password(.init(password: password))))
        }
    }
}
