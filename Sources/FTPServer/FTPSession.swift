import FTPProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import WharfCore

/// What a session needs from its server; the same for every session of a listener, so shared by
/// reference rather than copied into each (the configuration alone is a few hundred bytes).
final class FTPSessionEnvironment: Sendable {
    let configuration: FTPServer.Configuration
    let tls: NIOSSLContext?
    let authenticator: any FTPUserAuthenticator
    let makeStorage: FTPServer.StorageFactory
    let makeStorageWithoutBlocking: FTPServer.NonBlockingStorageFactory?
    let pool: NIOThreadPool

    init(
        configuration: FTPServer.Configuration, tls: NIOSSLContext?, authenticator: any FTPUserAuthenticator,
        makeStorage: @escaping FTPServer.StorageFactory,
        makeStorageWithoutBlocking: FTPServer.NonBlockingStorageFactory?, pool: NIOThreadPool
    ) {
        self.configuration = configuration
        self.tls = tls
        self.authenticator = authenticator
        self.makeStorage = makeStorage
        self.makeStorageWithoutBlocking = makeStorageWithoutBlocking
        self.pool = pool
    }
}

/// A logged-in user and what they see.
struct FTPLogin: Sendable {
    let user: AuthenticatedUser
    let storage: any Storage
    let allowed: FTPAllowedOperations
    let anonymous: Bool
}

/// One FTP control connection: login, TLS, working directory, transfer parameters and at most one
/// running transfer.
///
/// Its events are handled one at a time, on the control connection's event loop
/// (`FTPSessionDriver`): the control reader, the running transfer, the timers and the server's
/// shutdown only post events, so no state is shared and no lock is needed.
final class FTPSession {
    enum Flow { case proceed, close }

    enum TransferType {
        case ascii, binary
    }

    enum DataPort {
        case none
        case passive(FTPPassiveListener)
        case active(SocketAddress)
    }

    enum LoginState {
        case awaitingUser
        case awaitingPassword(String)
        case loggedIn(FTPLogin)
    }

    /// A class, not a struct: an idle session then keeps one pointer for it, not its 49 bytes.
    final class RunningTransfer {
        let task: Task<FTPTransferOutcome, Never>
        let control: FTPTransferControl
        let verb: String
        let path: String

        init(task: Task<FTPTransferOutcome, Never>, control: FTPTransferControl, verb: String, path: String) {
            self.task = task
            self.control = control
            self.verb = verb
            self.path = path
        }
    }

    enum CloseAfterTransfer {
        case quit, shutdown
    }

    let environment: FTPSessionEnvironment
    let control: FTPControlChannel
    /// Where transfers report their end; the driver runs this session's events.
    let driver: FTPSessionDriver
    let activity: FTPActivity
    let peerAddress: SocketAddress?
    var logger: FTPSessionLogger

    var configuration: FTPServer.Configuration { self.environment.configuration }

    // Security
    var tlsActive: Bool
    var epoch: Int
    var protectionBufferSizeSet = false
    var privateData = false

    // Login
    var login: LoginState = .awaitingUser
    var failedLogins = 0

    // Navigation and transfer parameters
    var workingDirectory = VirtualPath.root
    var transferType = TransferType.ascii
    var restartOffset: UInt64 = 0
    var renameSource: String?
    var dataPort = DataPort.none
    var extendedPassiveOnly = false
    var features: FTPFeatureOptions

    // The running transfer and what waits for it
    var transfer: RunningTransfer?
    var abortRequested = false
    var closeAfterTransfer: CloseAfterTransfer?
    var deferredInputs: [FTPControlInput] = []

    init(
        environment: FTPSessionEnvironment, control: FTPControlChannel, driver: FTPSessionDriver,
        activity: FTPActivity, tlsActive: Bool, epoch: Int, logger: FTPSessionLogger
    ) {
        self.environment = environment
        self.control = control
        self.driver = driver
        self.activity = activity
        self.tlsActive = tlsActive
        self.epoch = epoch
        self.peerAddress = control.channel.remoteAddress
        self.logger = logger
        self.features = environment.tls == nil ? .withoutTLS : .standard
    }

    var loggedIn: FTPLogin? {
        if case .loggedIn(let login) = self.login { return login }
        return nil
    }

    /// Read from the channel, which keeps it while it is open, rather than stored again in every
    /// session: only passive mode asks, on an open connection. (The peer's address is kept: the
    /// log lines of a failed login must name it even when the client has already gone.)
    var localAddress: SocketAddress? { self.control.channel.localAddress }

    var peerIP: String { self.peerAddress?.ipAddress ?? "unknown" }

    // MARK: - Events

    /// Handles one event; `.close` ends the session. The driver calls this from a task that ends
    /// when the session has nothing more to do, so nothing here stays allocated while it is idle.
    func handleEvent(_ event: FTPSessionEvent) async -> Flow {
        switch event {
        case .input(let input):
            return await self.handleInput(input)
        case .inputEnded:
            self.logClientClosed()
            return .close
        case .transferFinished(let result):
            return await self.finishTransfer(result)
        case .timedOut(let timeout):
            return await self.timedOut(timeout)
        case .shutdown:
            return await self.shutDown()
        }
    }

    private func logClientClosed() {
        self.logger.debug("control connection closed by the client")
    }

    private func handleInput(_ input: FTPControlInput) async -> Flow {
        self.activity.touch()
        if self.transfer != nil {
            return await self.handleDuringTransfer(input)
        }
        let flow = await self.handle(input)
        self.control.releaseCredit()
        return flow
    }

    private func timedOut(_ timeout: FTPSessionTimeout) async -> Flow {
        if self.transfer != nil { return .proceed }
        switch timeout {
        case .idle:
            self.logger.notice("closing FTP session: idle for \(self.configuration.idleTimeout)")
            _ = await self.send(421, "Idle timeout (\(self.configuration.idleTimeout.components.seconds) s): closing control connection.")
        case .loginGrace:
            self.logger.notice("closing FTP session: not logged in within the login grace time")
            _ = await self.send(421, "Login timeout: closing control connection.")
        }
        return .close
    }

    private func shutDown() async -> Flow {
        if self.transfer != nil {
            self.closeAfterTransfer = .shutdown
            return .proceed
        }
        _ = await self.send(421, "Server shutting down: closing control connection.")
        return .close
    }

    /// Ends what the session owns: a running transfer is aborted and awaited (its files closed,
    /// a partial upload removed), a waiting passive listener closed.
    func cleanUp() async {
        if let transfer = self.transfer {
            transfer.control.abort()
            _ = self.logTransfer(transfer, await transfer.task.value)
            self.transfer = nil
        }
        self.resetDataPort()
        self.activity.setTransferRunning(false)
    }

    func resetDataPort() {
        if case .passive(let listener) = self.dataPort { listener.close() }
        self.dataPort = .none
    }

    /// Sends a reply; false when the control connection is gone.
    @discardableResult
    func send(_ reply: FTPReply) async -> Bool {
        do {
            try await self.control.send(reply)
            return true
        } catch {
            self.logger.debug("cannot send reply \(reply.code): \(error)")
            return false
        }
    }

    @discardableResult
    func send(_ code: Int, _ text: String) async -> Bool {
        await self.send(FTPReply(code: code, text))
    }

    // MARK: - Lines

    /// Parses one line; nil (after replying) when it is no command.
    func command(from input: FTPControlInput) async -> FTPCommandLine? {
        guard input.epoch == self.epoch else {
            self.logger.warning("discarded a plaintext command sent after AUTH TLS, before the handshake")
            return nil
        }
        switch input.event {
        case .lineTooLong(let limit):
            self.logger.notice("refused a command line longer than \(limit) bytes")
            await self.send(500, "Command line too long (limit \(limit) bytes).")
            return nil
        case .line(let bytes):
            do {
                return try FTPCommandLine(parsing: bytes)
            } catch {
                if case .missingVerb = error { return nil }  // Empty lines are ignored, as vsftpd does.
                await self.send(500, "Syntax error: \(error).")
                return nil
            }
        }
    }

    func handle(_ input: FTPControlInput) async -> Flow {
        guard let command = await self.command(from: input) else { return .proceed }
        return await self.dispatch(command)
    }

    /// During a transfer only ABOR, STAT, NOOP and QUIT are answered at once (RFC 959 §4.1.3);
    /// other commands wait, in order, until the transfer's final reply.
    private func handleDuringTransfer(_ input: FTPControlInput) async -> Flow {
        guard input.epoch == self.epoch, case .line(let bytes) = input.event,
            let command = try? FTPCommandLine(parsing: bytes),
            let spec = FTPCommandSpec.lookup(command.verb), spec.allowedDuringTransfer,
            let transfer = self.transfer
        else {
            self.deferredInputs.append(input)  // Its credit comes back once it is handled.
            return .proceed
        }
        defer { self.control.releaseCredit() }
        switch spec.canonicalName {
        case "ABOR":
            self.abortRequested = true
            transfer.control.abort()
        case "STAT":
            await self.send(
                213,
                "Transfer in progress: \(transfer.verb) \(transfer.path), \(transfer.control.bytesTransferred) bytes so far.")
        case "QUIT":
            // The transfer finishes first; its reply, then 221, then the connection closes.
            self.closeAfterTransfer = .quit
        default:
            await self.send(200, "NOOP ok.")
        }
        return .proceed
    }
}
