#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import Logging
import WharfClient
import WharfTLS

/// The options every client command shares: authentication, host keys, output, retries.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .customShort("i"),
        help: ArgumentHelp("Private key file (OpenSSH format, ed25519 or ECDSA, unencrypted). Repeatable.", valueName: "keyfile"))
    var identities: [String] = []

    @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    @Option(name: .customLong("known-hosts"), help: ArgumentHelp("known_hosts file (default ~/.ssh/known_hosts).", valueName: "file"))
    var knownHosts: String?

    @Flag(name: .customLong("accept-new-host-key"), help: "Add an unknown host's key to known_hosts (a changed key still fails).")
    var acceptNewHostKey = false

    @Flag(name: .customLong("insecure-no-host-key-check"), help: "Do not check the host key at all. For tests only.")
    var insecureNoHostKeyCheck = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Log the protocol steps to stderr.")
    var verbose = false

    @Option(name: .customLong("retries"), help: ArgumentHelp("Retries after a dropped connection or a timeout, with backoff.", valueName: "n"))
    var retries = 3

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Seconds to wait for the connection and login.", valueName: "seconds"))
    var connectTimeout = 30.0

    @Option(name: .customLong("reply-timeout"), help: ArgumentHelp("FTP: seconds to wait for each reply of the server.", valueName: "seconds"))
    var replyTimeout = 60.0

    @Option(name: .customLong("data-timeout"), help: ArgumentHelp("FTP: seconds a data connection may stall.", valueName: "seconds"))
    var dataTimeout = 60.0

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("FTPS: trust the CA certificates in this PEM file instead of the system's.", valueName: "pem"))
    var caFile: String?

    @Flag(name: .customLong("insecure"), help: "FTPS: do not verify the server's certificate. For tests only.")
    var insecure = false

    @Flag(name: .customLong("active"), help: "FTP: active data connections (EPRT/PORT) instead of passive ones (EPSV/PASV).")
    var active = false

    func validate() throws {
        guard self.retries >= 0 else { throw ValidationError("--retries must not be negative") }
        guard self.connectTimeout > 0 else { throw ValidationError("--connect-timeout must be positive") }
        guard self.replyTimeout > 0 else { throw ValidationError("--reply-timeout must be positive") }
        guard self.dataTimeout > 0 else { throw ValidationError("--data-timeout must be positive") }
        if self.insecure && self.caFile != nil { throw ValidationError("--insecure and --ca-file exclude each other") }
        if self.insecureNoHostKeyCheck && self.acceptNewHostKey {
            throw ValidationError("--insecure-no-host-key-check and --accept-new-host-key exclude each other")
        }
    }

    func makeLogger() -> Logger {
        CommandLogging.bootstrapStandardError(level: self.verbose ? .debug : .warning)
        return Logger(label: "wharf")
    }

    /// The connection options for `location`. Reads the password (once) when one is needed.
    func connectionOptions(for location: RemoteLocation, password: String?) throws -> SSHConnectionOptions {
        var credentials: [SSHClientCredential] = []
        if self.identities.isEmpty {
            // Like ssh: the default keys, when present and usable; unusable ones are skipped quietly.
            for name in ["id_ed25519", "id_ecdsa"] {
                let path = Self.homeDirectory() + "/.ssh/" + name
                if access(path, R_OK) == 0, let key = try? OpenSSHPrivateKey.load(path: path) {
                    credentials.append(.privateKey(key))
                }
            }
        } else {
            for path in self.identities {
                credentials.append(.privateKey(try OpenSSHPrivateKey.load(path: path)))
            }
        }
        if let password { credentials.append(.password(password)) }

        let verifier: any HostKeyVerifier
        if self.insecureNoHostKeyCheck {
            printError("warning: host key checking is disabled (--insecure-no-host-key-check): the server is not authenticated")
            verifier = InsecureAcceptAnyHostKey()
        } else {
            let quiet = self.quiet
            verifier = KnownHostsVerifier(
                path: self.knownHosts ?? Self.homeDirectory() + "/.ssh/known_hosts",
                acceptNew: self.acceptNewHostKey,
                onAccepted: { message in if !quiet { printError(message) } })
        }
        var options = SSHConnectionOptions(
            host: location.host, port: location.port, user: location.user ?? Self.localUserName(),
            credentials: credentials, hostKeyVerifier: verifier)
        options.connectTimeout = .milliseconds(Int64(self.connectTimeout * 1000))
        return options
    }

    /// The FTP connection options for `location`: anonymous without a user; TLS trust from
    /// `--ca-file` / `--insecure`; `connections` control connections at most.
    func ftpOptions(for location: RemoteLocation, password: String?, connections: Int) -> FTPConnectionOptions {
        let security: FTPConnectionOptions.Security
        switch location.scheme {
        case .ftpes: security = .explicitTLS
        case .ftps: security = .implicitTLS
        case .ftp, .sftp: security = .none
        }
        var trust = TLSClientConfiguration.Trust.system
        if let caFile = self.caFile { trust = .caFile(caFile) }
        if self.insecure {
            trust = .insecure
            if security != .none {
                printError("warning: TLS certificate verification is disabled (--insecure): the server is not authenticated")
            }
        }
        return FTPConnectionOptions(
            host: location.host, port: location.port, user: location.user, password: password, security: security,
            tls: TLSClientConfiguration(trust: trust, handshakeTimeout: .milliseconds(Int64(self.connectTimeout * 1000))),
            activeMode: self.active, connectTimeout: .milliseconds(Int64(self.connectTimeout * 1000)),
            replyTimeout: .milliseconds(Int64(self.replyTimeout * 1000)), dataTimeout: .milliseconds(Int64(self.dataTimeout * 1000)),
            maximumConnections: max(1, connections))
    }

    /// The URL's password, else --password-stdin, else WHARF_PASSWORD, else a prompt when stdin is a
    /// terminal and no key was given (for FTP: only when a user was given; none means anonymous).
    func readPassword(for location: RemoteLocation) throws -> String? {
        if let password = location.password { return password }
        if self.passwordStdin {
            guard let line = readLine(strippingNewline: true) else {
                throw ValidationError("--password-stdin: no password on standard input")
            }
            return line
        }
        if let environment = getenv("WHARF_PASSWORD") {
            return String(cString: environment)
        }
        if location.scheme.isFTP, location.user == nil { return nil }
        if self.identities.isEmpty, isatty(0) == 1, isatty(2) == 1 {
            let user = location.user ?? Self.localUserName()
            guard let entered = getpass("\(user)@\(location.host)'s password: ") else { return nil }
            let password = String(cString: entered)
            return password.isEmpty ? nil : password
        }
        return nil
    }

    static func homeDirectory() -> String {
        if let home = getenv("HOME") { return String(cString: home) }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }

    static func localUserName() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "root"
    }
}

/// One line on stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
