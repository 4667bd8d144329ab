#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import Logging
import WharfClient

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

    func validate() throws {
        guard self.retries >= 0 else { throw ValidationError("--retries must not be negative") }
        guard self.connectTimeout > 0 else { throw ValidationError("--connect-timeout must be positive") }
        if self.insecureNoHostKeyCheck && self.acceptNewHostKey {
            throw ValidationError("--insecure-no-host-key-check and --accept-new-host-key exclude each other")
        }
    }

    func makeLogger() -> Logger {
        let level: Logger.Level = self.verbose ? .debug : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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

    /// --password-stdin, else WHARF_PASSWORD, else a prompt when stdin is a terminal and no key was given.
    func readPassword(for location: RemoteLocation) throws -> String? {
        if self.passwordStdin {
            guard let line = readLine(strippingNewline: true) else {
                throw ValidationError("--password-stdin: no password on standard input")
            }
            return line
        }
        if let environment = getenv("WHARF_PASSWORD") {
            return String(cString: environment)
        }
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
