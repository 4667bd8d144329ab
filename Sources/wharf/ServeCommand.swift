import ArgumentParser
import FTPProtocol
import FTPServer
import Logging
import NIOCore
import WharfServer

/// `wharf serve`: runs the SFTP, FTP and FTPS listeners until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the SFTP and FTP/FTPS server.",
        discussion: """
            On a first start with no users, creates the user `wharf` with a random password, printed \
            once in the log, and generates the host keys (and, for FTPS, a self-signed TLS certificate) \
            in the data directory. A listen address of `off` turns that listener off.
            """)

    @Option(name: .customLong("data-dir"), help: "Database, host keys, TLS certificate and default homes.")
    var dataDirectory = "./wharf-data"

    @Option(name: .customLong("sftp-listen"), help: "HOST:PORT for SSH/SFTP; port 0 picks a free one; off to disable.")
    var sftpListen = "0.0.0.0:2022"

    @Option(name: .customLong("ftp-listen"), help: "HOST:PORT for FTP with AUTH TLS; off to disable.")
    var ftpListen = "0.0.0.0:2121"

    @Option(name: .customLong("ftps-listen"), help: "HOST:PORT for implicit FTPS (TLS from the first byte); off by default.")
    var ftpsListen = "off"

    @Option(name: .customLong("ftp-tls"), help: "off, optional or required: whether FTP logins and data need TLS.")
    var ftpTLS = "optional"

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain for FTPS; default: a self-signed one in the data directory.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(name: .customLong("ftp-passive-ports"), help: "LO-HI: the ports passive data connections use.")
    var ftpPassivePorts: String?

    @Option(name: .customLong("ftp-public-host"), help: "IPv4 address announced in PASV replies (NAT, containers).")
    var ftpPublicHost: String?

    @Flag(name: .customLong("ftp-disable-active"), help: "Refuse PORT and EPRT (active mode).")
    var ftpDisableActive = false

    @Option(name: .customLong("ftp-idle-timeout"), help: "Seconds an idle FTP control connection stays open.")
    var ftpIdleTimeout = 300.0

    @Option(name: .customLong("ftp-data-timeout"), help: "Seconds a data connection may stall before the transfer is aborted.")
    var ftpDataTimeout = 120.0

    @Option(name: .customLong("ftp-anonymous-root"), help: "Serve this directory read-only to anonymous FTP logins.")
    var ftpAnonymousRoot: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("login-failure-delay"), help: "Seconds before a failed login is answered.")
    var loginFailureDelay = 1.0

    @Option(name: .customLong("login-grace-time"), help: "Seconds a connection has to log in before it is closed.")
    var loginGraceTime = 120.0

    @Option(name: .customLong("max-connections"), help: "Control connections served at once, all protocols together.")
    var maxConnections = 512

    @Option(name: .customLong("max-connections-per-ip"), help: "Control connections from one client address at once.")
    var maxConnectionsPerIP = 16

    @Option(name: .customLong("shutdown-grace"), help: "Seconds running transfers get to finish on shutdown.")
    var shutdownGrace = 30.0

    private static func listenAddress(_ text: String, flag: String) throws -> ServerConfiguration.ListenAddress? {
        if text == "off" { return nil }
        guard let address = ServerConfiguration.parseListenAddress(text) else {
            throw ValidationError("\(flag) wants HOST:PORT or off, got \(text)")
        }
        return address
    }

    func validate() throws {
        let sftp = try Self.listenAddress(self.sftpListen, flag: "--sftp-listen")
        let ftp = try Self.listenAddress(self.ftpListen, flag: "--ftp-listen")
        let ftps = try Self.listenAddress(self.ftpsListen, flag: "--ftps-listen")
        guard sftp != nil || ftp != nil || ftps != nil else {
            throw ValidationError("every listener is off: give --sftp-listen, --ftp-listen or --ftps-listen")
        }
        guard let policy = FTPTLSPolicy(rawValue: self.ftpTLS) else {
            throw ValidationError("--ftp-tls wants off, optional or required, got \(self.ftpTLS)")
        }
        if policy == .off && ftps != nil {
            throw ValidationError("--ftps-listen needs TLS; it cannot go with --ftp-tls off")
        }
        if (self.tlsCertificate == nil) != (self.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if let ports = self.ftpPassivePorts, ServerConfiguration.parsePortRange(ports) == nil {
            throw ValidationError("--ftp-passive-ports wants LO-HI with 1024 <= LO <= HI <= 65535, got \(ports)")
        }
        if let host = self.ftpPublicHost, FTPIPAddress(host)?.ipv4Bytes == nil {
            throw ValidationError("--ftp-public-host wants an IPv4 address, got \(host)")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("unknown log level \(self.logLevel)")
        }
        guard self.loginFailureDelay >= 0, self.loginFailureDelay <= 60 else {
            throw ValidationError("--login-failure-delay must be between 0 and 60 seconds")
        }
        guard self.maxConnections > 0, self.maxConnectionsPerIP > 0 else {
            throw ValidationError("connection limits must be positive")
        }
        guard self.loginGraceTime > 0 else { throw ValidationError("--login-grace-time must be positive") }
        guard self.ftpIdleTimeout > 0, self.ftpDataTimeout > 0 else {
            throw ValidationError("--ftp-idle-timeout and --ftp-data-timeout must be positive")
        }
        guard self.shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must not be negative") }
    }

    func run() async throws {
        CommandLogging.bootstrapStandardError(level: Logger.Level(rawValue: self.logLevel) ?? .info)
        let logger = Logger(label: "wharf")

        var configuration = ServerConfiguration()
        configuration.dataDirectory = self.dataDirectory
        configuration.sftpListen = try Self.listenAddress(self.sftpListen, flag: "--sftp-listen")
        configuration.ftpListen = try Self.listenAddress(self.ftpListen, flag: "--ftp-listen")
        configuration.ftpsListen = try Self.listenAddress(self.ftpsListen, flag: "--ftps-listen")
        configuration.ftpTLS = FTPTLSPolicy(rawValue: self.ftpTLS) ?? .optional
        configuration.tlsCertificatePath = self.tlsCertificate
        configuration.tlsKeyPath = self.tlsKey
        configuration.ftpPassivePorts = self.ftpPassivePorts.flatMap(ServerConfiguration.parsePortRange)
        configuration.ftpPublicHost = self.ftpPublicHost
        configuration.ftpActiveModeEnabled = !self.ftpDisableActive
        configuration.ftpIdleTimeout = .milliseconds(Int64(self.ftpIdleTimeout * 1000))
        configuration.ftpDataTimeout = .milliseconds(Int64(self.ftpDataTimeout * 1000))
        configuration.ftpAnonymousRoot = self.ftpAnonymousRoot
        configuration.failedLoginDelay = .milliseconds(Int64(self.loginFailureDelay * 1000))
        configuration.shutdownGracePeriod = .milliseconds(Int64(self.shutdownGrace * 1000))
        configuration.loginGraceTime = .milliseconds(Int64(self.loginGraceTime * 1000))
        configuration.maximumConnections = self.maxConnections
        configuration.maximumConnectionsPerAddress = self.maxConnectionsPerIP
        do {
            try await WharfServerRunner.run(configuration: configuration, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
    }
}
