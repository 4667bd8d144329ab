#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import SFTPServer
import WharfServer

/// `wharf sftp-server`: OpenSSH's sftp-server options and behaviour, on stdin/stdout.
struct SFTPServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sftp-server",
        abstract: "Serve SFTP on stdin/stdout, as a drop-in for OpenSSH's sftp-server.",
        discussion: "Use as `Subsystem sftp /path/to/wharf sftp-server` in sshd_config.")

    @Option(name: .customShort("d"), help: "Start directory (%d: home, %u: user name).")
    var startDirectory: String?

    @Flag(name: .customShort("e"), help: "Log to stderr instead of syslog.")
    var logToStderr = false

    @Option(name: .customShort("f"), help: "Syslog facility (DAEMON, USER, AUTH, LOCAL0…LOCAL7).")
    var facility = "AUTH"

    @Option(name: .customShort("l"), help: "Log level (QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1…3).")
    var level = "ERROR"

    @Flag(name: .customShort("R"), help: "Read-only: refuse every request that writes.")
    var readOnly = false

    @Option(name: .customShort("P"), help: "Comma-separated requests to refuse.")
    var deniedRequests: String?

    @Option(name: .customShort("p"), help: "Comma-separated requests to allow; all others are refused.")
    var allowedRequests: String?

    @Option(name: .customShort("Q"), help: "Query: `requests` lists the supported request names.")
    var query: String?

    @Option(name: .customShort("u"), help: "Umask (octal) for created files and directories.")
    var umask: String?

    func validate() throws {
        if let query, query.lowercased() != "requests" { throw ValidationError("Invalid query type") }
        guard Self.logLevel(self.level) != nil else { throw ValidationError("Invalid log level \"\(self.level)\"") }
        guard Self.facilityCode(self.facility) != nil else { throw ValidationError("Invalid log facility \"\(self.facility)\"") }
        if let umask, UInt32(umask, radix: 8).map({ $0 <= 0o777 }) != true {
            throw ValidationError("Invalid umask \"\(umask)\"")
        }
        for list in [self.deniedRequests, self.allowedRequests].compactMap({ $0 }) {
            for name in Self.names(list) where SFTPOperation.named(name) == nil {
                throw ValidationError("Unknown request \"\(name)\"")
            }
        }
    }

    func run() async throws {
        if self.query != nil {
            for operation in SFTPOperation.all { print(operation.name) }
            return
        }
        let level = Self.logLevel(self.level) ?? .error
        let facility = Self.facilityCode(self.facility) ?? LOG_AUTH
        if self.logToStderr {
            CommandLogging.bootstrapStandardError(level: level)
        } else {
            CommandLogging.pinLocalTimeZone()  // syslog(3) stamps its lines with localtime_r too
            SyslogLogHandler.open(facility: facility)
            LoggingSystem.bootstrap { _ in
                var handler = SyslogLogHandler()
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "wharf-sftp-server")

        if let umask, let mask = UInt32(umask, radix: 8) {
            _ = Glibc.umask(mode_t(mask))
        }
        let user = Self.invokingUser()
        var options = StdioSFTPServer.Options()
        options.readOnly = self.readOnly
        options.deniedRequests = Set(self.deniedRequests.map(Self.names) ?? [])
        options.allowedRequests = self.allowedRequests.map { Set(Self.names($0)) }
        options.userName = user.name
        options.startDirectory = self.startDirectory.map { Self.expand($0, home: user.home, user: user.name) }
        do {
            try await StdioSFTPServer.run(options: options, logger: logger)
        } catch {
            logger.error("\(error)")
            // Also where whoever started it looks: sshd hands our stderr to the client.
            if !self.logToStderr { printError("wharf sftp-server: \(error)") }
            throw ExitCode.failure
        }
    }

    static func names(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// sftp-server's `-d` expands %d to the home directory, %u to the user name and %% to %.
    static func expand(_ template: String, home: String, user: String) -> String {
        var result = ""
        var iterator = template.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else {
                result.append(character)
                continue
            }
            switch iterator.next() {
            case "d": result += home
            case "u": result += user
            case "%": result += "%"
            case let other?: result += "%" + String(other)
            case nil: result += "%"
            }
        }
        return result
    }

    static func logLevel(_ name: String) -> Logger.Level? {
        switch name.uppercased() {
        case "QUIET", "FATAL": return .critical
        case "ERROR": return .error
        case "INFO": return .info
        case "VERBOSE": return .info
        case "DEBUG", "DEBUG1": return .debug
        case "DEBUG2", "DEBUG3": return .trace
        default: return nil
        }
    }

    static func facilityCode(_ name: String) -> Int32? {
        let codes: [String: Int32] = [
            "DAEMON": LOG_DAEMON, "USER": LOG_USER, "AUTH": LOG_AUTH, "AUTHPRIV": LOG_AUTHPRIV,
            "LOCAL0": LOG_LOCAL0, "LOCAL1": LOG_LOCAL1, "LOCAL2": LOG_LOCAL2, "LOCAL3": LOG_LOCAL3,
            "LOCAL4": LOG_LOCAL4, "LOCAL5": LOG_LOCAL5, "LOCAL6": LOG_LOCAL6, "LOCAL7": LOG_LOCAL7,
        ]
        return codes[name.uppercased()]
    }

    static func invokingUser() -> (name: String, home: String) {
        guard let entry = getpwuid(getuid()) else { return ("\(getuid())", "/") }
        let name = entry.pointee.pw_name.map { String(cString: $0) } ?? "\(getuid())"
        let home = entry.pointee.pw_dir.map { String(cString: $0) } ?? "/"
        return (name, home)
    }
}
