import ArgumentParser
import Logging
import NIOCore
import WharfServer

/// `wharf serve`: runs the SFTP server until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the SFTP server.",
        discussion: """
            On a first start with no users, creates the user `wharf` with a random password, printed \
            once in the log, and generates the host keys in the data directory.
            """)

    @Option(name: .customLong("data-dir"), help: "Database, host keys and default homes.")
    var dataDirectory = "./wharf-data"

    @Option(name: .customLong("sftp-listen"), help: "HOST:PORT for SSH/SFTP; port 0 picks a free one.")
    var sftpListen = "0.0.0.0:2022"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("login-failure-delay"), help: "Seconds before a failed login is answered.")
    var loginFailureDelay = 1.0

    @Option(name: .customLong("login-grace-time"), help: "Seconds a connection has to log in before it is closed.")
    var loginGraceTime = 120.0

    @Option(name: .customLong("max-connections"), help: "Connections served at once; more are closed on arrival.")
    var maxConnections = 1024

    @Option(name: .customLong("max-connections-per-ip"), help: "Connections from one client address at once.")
    var maxConnectionsPerIP = 64

    @Option(name: .customLong("shutdown-grace"), help: "Seconds running transfers get to finish on shutdown.")
    var shutdownGrace = 30.0

    func validate() throws {
        guard ServerConfiguration.parseListenAddress(self.sftpListen) != nil else {
            throw ValidationError("--sftp-listen wants HOST:PORT, got \(self.sftpListen)")
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
        guard self.shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must not be negative") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "wharf")

        var configuration = ServerConfiguration()
        configuration.dataDirectory = self.dataDirectory
        if let listen = ServerConfiguration.parseListenAddress(self.sftpListen) {
            configuration.sftpHost = listen.host
            configuration.sftpPort = listen.port
        }
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
