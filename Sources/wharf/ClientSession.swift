import ArgumentParser
import Logging
import WharfClient

/// Connects, runs a command's body on an SFTP session or an FTP client, and closes everything: the connection and
/// every request it spawned end before this returns. A dropped connection or a timeout is retried
/// (`--retries`, exponential backoff); the body is told the attempt number so that transfers resume
/// instead of starting again.
enum ClientSession {
    static func run<T: Sendable>(
        _ options: ClientOptions, at location: RemoteLocation, logger: Logger, connections: Int = 1,
        _ body: (any RemoteFileSystem, _ attempt: Int) async throws -> T
    ) async throws -> T {
        let password = try options.readPassword(for: location)
        let connect: Connector
        if location.scheme.isFTP {
            connect = .ftp(options.ftpOptions(for: location, password: password, connections: connections))
        } else {
            connect = .sftp(try options.connectionOptions(for: location, password: password))
        }
        var attempt = 0
        while true {
            do {
                return try await self.once(connect, logger: logger) { remote in try await body(remote, attempt) }
            } catch where attempt < options.retries && Self.isRetryable(error) {
                attempt += 1
                let delay = min(30.0, 0.5 * Double(1 << min(attempt, 6)))
                if !options.quiet {
                    printError("connection lost (\(error)); retry \(attempt) of \(options.retries) in \(delay) s")
                }
                try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            }
        }
    }

    /// A command's whole run: parse the URL, connect, run `body`, and turn any error into one line
    /// on stderr and exit status 1.
    @discardableResult
    static func perform<T: Sendable>(
        _ url: String, _ options: ClientOptions,
        _ body: (any RemoteFileSystem, RemoteLocation, _ attempt: Int) async throws -> T
    ) async throws -> T {
        let location = try parseLocation(url)
        let logger = options.makeLogger()
        return try await runReportingErrors {
            try await Self.run(options, at: location, logger: logger) { remote, attempt in
                try await body(remote, location, attempt)
            }
        }
    }

    private enum Connector {
        case sftp(SSHConnectionOptions)
        case ftp(FTPConnectionOptions)
    }

    private static func once<T: Sendable>(
        _ connector: Connector, logger: Logger, _ body: (any RemoteFileSystem) async throws -> T
    ) async throws -> T {
        switch connector {
        case .ftp(let options):
            let ftp = try await FTPClient.connect(options, logger: logger)
            do {
                let result = try await body(ftp)
                await ftp.close()
                return result
            } catch {
                await ftp.close()
                throw error
            }
        case .sftp(let options):
            let connection = try await SSHClientConnection.connect(options, logger: logger)
            let sftp: SFTPClient
            do {
                sftp = try await connection.openSFTP()
            } catch {
                await connection.close()
                throw error
            }
            do {
                let result = try await body(sftp)
                await sftp.close()
                await connection.close()
                return result
            } catch {
                await sftp.close()
                await connection.close()
                throw error
            }
        }
    }

    /// Network trouble is worth another try; a refusal (login, host key, no such file) is not.
    static func isRetryable(_ error: any Error) -> Bool {
        ConnectionLoss.matches(error)
    }
}

/// Parses a command's URL argument, with the one-line error the command line prints.
func parseLocation(_ text: String) throws -> RemoteLocation {
    do {
        return try RemoteLocation(parsing: text)
    } catch {
        throw ValidationError(error.description)
    }
}
