import Logging
import NIOCore
import NIOPosix
import NIOSSH
import WharfCore
import Synchronization

/// NIOSSH's authentication hook for one connection. Checks run on the thread pool; a failure
/// is answered only after `failureDelay` from the request, the same for every kind of failure.
final class AuthenticationDelegate: NIOSSHServerUserAuthenticationDelegate, Sendable {
    let supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods = [.password, .publicKey]

    private let authenticator: any SSHUserAuthenticator
    private let pool: NIOThreadPool
    private let failureDelay: TimeAmount
    private let logger: Logger
    private let peer: String
    private let authenticated = Mutex<AuthenticatedUser?>(nil)

    init(authenticator: any SSHUserAuthenticator, pool: NIOThreadPool, failureDelay: TimeAmount, logger: Logger, peer: String) {
        self.authenticator = authenticator
        self.pool = pool
        self.failureDelay = failureDelay
        self.logger = logger
        self.peer = peer
    }

    /// The user this connection logged in as, once authentication succeeded.
    var user: AuthenticatedUser? { self.authenticated.withLock { $0 } }

    func requestReceived(
        request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>
    ) {
        let loop = responsePromise.futureResult.eventLoop
        let started = NIODeadline.now()
        let credential: SSHCredential
        switch request.request {
        case .password(let password): credential = .password(password.password)
        case .publicKey(let key): credential = .publicKey(String(openSSHPublicKey: key.publicKey))
        case .none:
            // Clients open with "none" to learn the methods (RFC 4252 §5.2): answer at once, no delay.
            responsePromise.succeed(.failure)
            return
        case .hostBased:
            self.fail(responsePromise, after: started, username: request.username, method: "hostbased", reason: "method not supported")
            return
        }
        let username = request.username
        let authenticator = self.authenticator
        self.pool.runIfActive(eventLoop: loop) {
            authenticator.authenticate(username: username, credential: credential)
        }.whenComplete { result in
            switch result {
            case .success(.some(let user)):
                self.authenticated.withLock { $0 = user }
                self.logger.info(
                    "accepted \(credential.methodName) for \(user.name) from \(self.peer)",
                    metadata: ["user": "\(user.name)", "auth": "\(credential.methodName)"])
                responsePromise.succeed(.success)
            case .success(.none):
                self.fail(responsePromise, after: started, username: username, method: credential.methodName, reason: "invalid credentials")
            case .failure(let error):
                self.fail(responsePromise, after: started, username: username, method: credential.methodName, reason: "\(error)")
            }
        }
    }

    private func fail(
        _ promise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>, after started: NIODeadline, username: String,
        method: String, reason: String
    ) {
        self.logger.notice(
            "failed \(method) for \(username) from \(self.peer): \(reason)",
            metadata: ["user": "\(username)", "auth": "\(method)"])
        promise.futureResult.eventLoop.scheduleTask(deadline: started + self.failureDelay) {
            promise.succeed(.failure)
        }
    }
}
