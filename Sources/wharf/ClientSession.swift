import ArgumentParser
import Logging
import WharfClient

/// Connects, runs a command's body on an SFTP session, and closes everything: the connection and
/// every request it spawned end before this returns. A dropped connection or a timeout is retried
/// (`--retries`, exponential backoff); the body is told the attempt number so that transfers resume
/// instead of starting again.
enum ClientSession {
    static func run<T: Sendable>(
        _ options: ClientOptions, at location: RemoteLocation, logger: Logger,
        _ body: (SFTPClient, _ attempt: Int) async throws -> T
    ) async throws -> T {
        let password = try options.readPassword(for: location)
        let connectionOptions = try options.connectionOptions(for: location, password: password)
        var attempt = 0
        while true {
            do {
                return try await self.once(connectionOptions, logger: logger) { sftp in try await body(sftp, attempt) }
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
        _ body: (SFTPClient, RemoteLocation, _ attempt: Int) async throws -> T
    ) async throws -> T {
        let location = try parseLocation(url)
        let logger = options.makeLogger()
        return try await runReportingErrors {
            try await Self.run(options, at: location, logger: logger) { sftp, attempt in
                try await body(sftp, location, attempt)
            }
        }
    }

    private static func once<T: Sendable>(
        _ options: SSHConnectionOptions, logger: Logger, _ body: (SFTPClient) async throws -> T
    ) async throws -> T {
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
