import NIOCore
import NIOPosix
import NIOSSH
import Synchronization

/// Decides whether to trust a server's host key. Called on a thread pool, so it may read (and
/// append to) a known_hosts file.
public protocol HostKeyVerifier: Sendable {
    func verify(host: String, port: Int, key: NIOSSHPublicKey) throws
}

/// Trusts any key. For tests only; the command line says so on stderr when it is used.
public struct InsecureAcceptAnyHostKey: HostKeyVerifier {
    public init() {}
    public func verify(host: String, port: Int, key: NIOSSHPublicKey) throws {}
}

final class HostKeyValidationDelegate: NIOSSHClientServerAuthenticationDelegate, Sendable {
    private let host: String
    private let port: Int
    private let verifier: any HostKeyVerifier
    private let failure = Mutex<(any Error)?>(nil)
    private let verifiedKey = Mutex<NIOSSHPublicKey?>(nil)

    init(host: String, port: Int, verifier: any HostKeyVerifier) {
        self.host = host
        self.port = port
        self.verifier = verifier
    }

    /// Why the key was refused, so that the caller reports that instead of a bare handshake error.
    var rejection: (any Error)? { self.failure.withLock { $0 } }

    func validateHostKey(hostKey: NIOSSHPublicKey, validationCompletePromise: EventLoopPromise<Void>) {
        // A key re-exchange shows the key verified at login again. Answering at once sends our
        // NEWKEYS before the server's next channel messages are processed (see KeyExchangeGate).
        if self.verifiedKey.withLock({ $0 == hostKey }) {
            validationCompletePromise.succeed(())
            return
        }
        let loop = validationCompletePromise.futureResult.eventLoop
        // File I/O stays off the event loop.
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
            try self.verifier.verify(host: self.host, port: self.port, key: hostKey)
        }.whenComplete { result in
            switch result {
            case .success:
                self.verifiedKey.withLock { $0 = hostKey }
                validationCompletePromise.succeed(())
            case .failure(let error):
                self.failure.withLock { $0 = error }
                validationCompletePromise.fail(error)
            }
        }
    }
}
