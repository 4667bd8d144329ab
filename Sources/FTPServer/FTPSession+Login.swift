import FTPProtocol
import NIOCore
import WharfCore

extension FTPSession {
    static let anonymousNames: Set<String> = ["anonymous", "ftp"]

    func user(_ name: String) async -> CommandResult {
        if self.loggedIn != nil {
            return .reply(530, "Already logged in; use REIN to change user.")
        }
        if self.configuration.tlsPolicy == .required && !self.tlsActive {
            self.logger.notice("refused USER \(name) before AUTH TLS")
            return .reply(530, "TLS is required: send AUTH TLS first.")
        }
        self.login = .awaitingPassword(name)
        if Self.anonymousNames.contains(name.lowercased()) && self.configuration.anonymousRoot != nil {
            return .reply(331, "Anonymous login ok, send your e-mail address as password.")
        }
        return .reply(331, "Password required for \(name).")
    }

    func pass(_ password: String) async -> CommandResult {
        guard case .awaitingPassword(let name) = self.login else {
            if self.loggedIn != nil { return .reply(503, "Already logged in.") }
            return .reply(503, "Send USER first.")
        }
        let anonymousRoot = Self.anonymousNames.contains(name.lowercased()) ? self.configuration.anonymousRoot : nil
        let checked: (AuthenticatedUser, Result<any Storage, any Error>)?
        if let known = self.loginWithoutBlocking(name: name, password: password, anonymousRoot: anonymousRoot) {
            checked = (known.user, .success(known.storage))
        } else {
            let authenticator = self.environment.authenticator
            let makeStorage = self.environment.makeStorage
            // The user database and the home directory are file I/O: one trip to the thread pool for both.
            checked = try? await self.environment.pool.runIfActive { () -> (AuthenticatedUser, Result<any Storage, any Error>)? in
                let user: AuthenticatedUser
                if let anonymousRoot {
                    user = AuthenticatedUser(name: "anonymous", home: anonymousRoot, readOnly: true)
                } else {
                    guard let known = authenticator.authenticate(username: name, password: password) else { return nil }
                    user = known
                }
                return (user, Result { try makeStorage(user) })
            } ?? nil
        }
        guard let (user, opened) = checked else {
            return await self.loginFailed(name)
        }
        let storage: any Storage
        switch opened {
        case .success(let opened):
            storage = opened
        case .failure(let error):
            self.logger.error("cannot open home \(user.home) for \(user.name): \(error)")
            self.login = .awaitingUser
            return .reply(530, "Cannot open your home directory.")
        }
        let anonymous = user.readOnly && Self.anonymousNames.contains(name.lowercased())
        self.login = .loggedIn(
            FTPLogin(
                user: user, storage: storage, allowed: user.readOnly ? .readOnly : .all, anonymous: anonymous))
        self.workingDirectory = VirtualPath(storage.startDirectory)
        self.activity.setLoggedIn(true)
        self.logger.user = user.name
        self.logger.info("FTP login: user \(user.name) from \(self.peerIP)\(self.tlsActive ? " over TLS" : "")")
        return .reply(230, anonymous ? "Anonymous access granted, read-only." : "Login successful.")
    }

    /// A login the caches answer here on the event loop: the user's record and a success with
    /// this password from a moment ago, and a home whose lookup the kernel has cached. A client
    /// that logs in for every file (ftpbench, cameras, scripts) then skips the pool's two wake-ups.
    /// Nil: ask on the pool, which also gives every failure.
    private func loginWithoutBlocking(
        name: String, password: String, anonymousRoot: String?
    ) -> (user: AuthenticatedUser, storage: any Storage)? {
        guard let makeStorage = self.environment.makeStorageWithoutBlocking else { return nil }
        let user: AuthenticatedUser
        if let anonymousRoot {
            user = AuthenticatedUser(name: "anonymous", home: anonymousRoot, readOnly: true)
        } else {
            guard let known = self.environment.authenticator.authenticateWithoutBlocking(username: name, password: password)
            else { return nil }
            user = known
        }
        guard let storage = makeStorage(user) else { return nil }
        return (user, storage)
    }

    /// Waits the failure delay, then answers 530, or 421 and closes after too many failures.
    private func loginFailed(_ name: String) async -> CommandResult {
        self.failedLogins += 1
        self.login = .awaitingUser
        self.logger.notice(
            "failed FTP login for user \(name) from \(self.peerIP) (\(self.failedLogins) of \(self.configuration.maximumLoginFailures))")
        try? await Task.sleep(for: self.configuration.failedLoginDelay)
        if self.failedLogins >= self.configuration.maximumLoginFailures {
            return .replyAndClose(FTPReply(code: 421, "Too many failed logins: closing control connection."))
        }
        return .reply(530, "Login incorrect.")
    }

    /// REIN: back to before USER; TLS on the control connection stays.
    func reinitialize() -> CommandResult {
        self.login = .awaitingUser
        self.activity.setLoggedIn(false)
        self.logger.user = nil
        self.workingDirectory = .root
        self.transferType = .ascii
        self.restartOffset = 0
        self.renameSource = nil
        self.resetDataPort()
        return .reply(220, "Service ready for new user.")
    }

    func authenticateTLS(_ mechanism: String) async throws(FTPFailure) -> CommandResult {
        guard let context = self.environment.tls else {
            return .reply(502, "TLS is off on this server.")
        }
        guard !self.tlsActive else { return .reply(503, "Already using TLS.") }
        guard ["TLS", "TLS-C", "SSL", "TLS-P"].contains(mechanism.uppercased()) else {
            return .reply(504, "AUTH \(mechanism) not supported; use AUTH TLS.")
        }
        do {
            let (epoch, dropped) = try await self.control.upgradeToTLS(
                after: FTPReply(code: 234, "AUTH \(mechanism.uppercased()) successful."), context: context)
            self.epoch = epoch
            self.tlsActive = true
            if dropped > 0 {
                self.logger.warning("discarded \(dropped) plaintext bytes sent after AUTH TLS, before the handshake")
            }
            self.logger.debug("control connection switched to TLS")
        } catch {
            self.logger.notice("AUTH TLS failed: \(error)")
            throw .reply(431, "Cannot set up TLS.")
        }
        return .done
    }

    func protectionBufferSize(_ argument: String) -> CommandResult {
        guard self.tlsActive else { return .reply(503, "PBSZ is only allowed on a TLS control connection.") }
        guard UInt64(argument) != nil else { return .reply(501, "PBSZ takes a number.") }
        self.protectionBufferSizeSet = true
        return .reply(200, "PBSZ=0")
    }

    func protectionLevel(_ argument: String) -> CommandResult {
        guard self.tlsActive else { return .reply(503, "PROT is only allowed on a TLS control connection.") }
        guard self.protectionBufferSizeSet else { return .reply(503, "PROT must be preceded by PBSZ.") }
        switch argument.uppercased() {
        case "P":
            self.privateData = true
            return .reply(200, "Protection level set to P.")
        case "C":
            if self.configuration.tlsPolicy == .required {
                return .reply(534, "PROT C refused: data connections must be encrypted.")
            }
            self.privateData = false
            return .reply(200, "Protection level set to C.")
        case "S", "E":
            return .reply(536, "PROT \(argument.uppercased()) is not supported; use P or C.")
        default:
            return .reply(504, "Unknown protection level \(argument).")
        }
    }
}
