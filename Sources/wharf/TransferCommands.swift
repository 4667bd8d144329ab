#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import SFTPProtocol
import WharfClient

/// Options of `get` and `put`.
struct TransferFlags: ParsableArguments {
    @Flag(name: .customShort("r"), help: "Transfer directories and their contents.") var recursive = false
    @Flag(name: .customLong("resume"), help: "Continue partial files (by size, then verified).") var resume = false
    @Flag(name: .customLong("verify"), help: "Check every file end to end after the transfer (check-file, else read back).") var verify = false
    @Option(name: .customLong("parallel"), help: ArgumentHelp("Files transferred at once (FTP: over as many connections).", valueName: "n")) var parallel = 4
    @Flag(name: .customLong("no-temp"), help: "FTP: upload under the final name instead of a temporary one renamed at the end.") var noTemporaryName = false

    func validate() throws {
        guard (1...64).contains(self.parallel) else { throw ValidationError("--parallel must be between 1 and 64") }
    }
}

/// `wharf get URL [LOCAL]`
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Download files (globs allowed in the remote path) or, with -r, trees.")

    @OptionGroup var transfer: TransferFlags
    @Argument(help: "sftp:// or ftp:// (ftpes://, ftps://) URL: scheme://[user@]host[:port]/path") var url: String
    @Argument(help: "Local file or directory (default: the current directory).") var local: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let location = try parseLocation(self.url)
        let logger = self.client.makeLogger()
        let progress = ProgressDisplay(quiet: self.client.quiet)
        let failures = try await runReportingErrors {
            try await ClientSession.run(self.client, at: location, logger: logger, connections: self.transfer.parallel) {
                remote, attempt in
                let sources = try await remote.expandRemoteGlob(location.path)
                guard !sources.isEmpty else { throw CommandFailure("\(location.path): no match") }
                let destination = self.local ?? "."
                let intoDirectory = sources.count > 1 || LocalPaths.isDirectory(destination) || destination.hasSuffix("/")
                if sources.count > 1, !LocalPaths.isDirectory(destination) {
                    throw CommandFailure("\(destination): not a directory (several files match)")
                }
                var failures: [String] = []
                for source in sources {
                    let target = intoDirectory ? LocalPaths.join(destination, RemotePath.lastComponent(source)) : destination
                    do {
                        let attributes = try await remote.stat(source)
                        if attributes.isDirectory {
                            guard self.transfer.recursive else { throw CommandFailure("\(source): is a directory (use -r)") }
                            failures += try await TreeTransfers.download(
                                remote, from: source, to: target, flags: self.transfer, resume: attempt > 0, progress: progress)
                        } else {
                            try await FileTransfers.download(
                                remote, from: source, to: target, size: attributes.size, flags: self.transfer,
                                resume: attempt > 0, progress: progress)
                        }
                    } catch {
                        // A lost connection ends this attempt (the session retries and resumes);
                        // it still names the file, should it be the last word.
                        if ClientSession.isRetryable(error) {
                            throw error is TransferFailure ? error : TransferFailure(path: source, error: error)
                        }
                        failures.append("\(source): \(error)")
                    }
                }
                return failures
            }
        }
        try reportFailures(failures)
    }
}

/// `wharf put LOCAL... URL`
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Upload files or, with -r, trees.")

    @OptionGroup var transfer: TransferFlags
    @Argument(help: "Local files, then the sftp:// or ftp:// URL to put them at.") var paths: [String]
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard self.paths.count >= 2 else { throw ValidationError("give at least one local file and a destination URL") }
        guard let last = self.paths.last, RemoteLocation.isURL(last) else {
            throw ValidationError("the last argument must be a URL (sftp://, ftp://, ftpes://, ftps://)")
        }
    }

    func run() async throws {
        guard let last = self.paths.last else { return }
        let location = try parseLocation(last)
        let sources = Array(self.paths.dropLast())
        let logger = self.client.makeLogger()
        let progress = ProgressDisplay(quiet: self.client.quiet)
        let failures = try await runReportingErrors {
            try await ClientSession.run(self.client, at: location, logger: logger, connections: self.transfer.parallel) {
                remote, attempt in
                let remoteIsDirectory = (try? await remote.stat(location.path))?.isDirectory ?? false
                if sources.count > 1, !remoteIsDirectory {
                    throw CommandFailure("\(location.path): not a directory (several files given)")
                }
                var failures: [String] = []
                for source in sources {
                    let target = remoteIsDirectory ? RemotePath.join(location.path, LocalPaths.lastComponent(source)) : location.path
                    do {
                        if LocalPaths.isDirectory(source) {
                            guard self.transfer.recursive else { throw CommandFailure("\(source): is a directory (use -r)") }
                            failures += try await TreeTransfers.upload(
                                remote, from: source, to: target, flags: self.transfer, resume: attempt > 0,
                                temporaryName: location.scheme.isFTP, progress: progress)
                        } else {
                            try await FileTransfers.upload(
                                remote, from: source, to: target, flags: self.transfer, resume: attempt > 0,
                                temporaryName: location.scheme.isFTP, progress: progress)
                        }
                    } catch {
                        // A lost connection ends this attempt (the session retries and resumes);
                        // it still names the file, should it be the last word.
                        if ClientSession.isRetryable(error) {
                            throw error is TransferFailure ? error : TransferFailure(path: source, error: error)
                        }
                        failures.append("\(source): \(error)")
                    }
                }
                return failures
            }
        }
        try reportFailures(failures)
    }
}

/// One line per failed file on stderr, then exit status 1.
func reportFailures(_ failures: [String]) throws {
    guard !failures.isEmpty else { return }
    for failure in failures { printError("wharf: \(failure)") }
    throw ExitCode.failure
}

/// Single-file transfers with a progress line.
enum FileTransfers {
    static func download(
        _ remote: any RemoteFileSystem, from source: String, to target: String, size: UInt64?, flags: TransferFlags,
        resume: Bool, progress: ProgressDisplay
    ) async throws {
        progress.start(name: RemotePath.lastComponent(source), total: size)
        defer { progress.finish() }
        var options = TransferOptions(resume: flags.resume || resume, verify: flags.verify)
        options.progress = { done, _ in progress.update(done: done) }
        try await remote.downloadFile(remotePath: source, localPath: target, options: options)
    }

    /// `temporaryName`: upload to NAME.wharf-part and rename (FTP), unless `--no-temp`.
    static func upload(
        _ remote: any RemoteFileSystem, from source: String, to target: String, flags: TransferFlags, resume: Bool,
        temporaryName: Bool, progress: ProgressDisplay
    ) async throws {
        progress.start(name: LocalPaths.lastComponent(source), total: LocalPaths.size(source))
        defer { progress.finish() }
        var options = TransferOptions(resume: flags.resume || resume, verify: flags.verify)
        options.uploadsToTemporaryName = temporaryName && !flags.noTemporaryName
        options.progress = { done, _ in progress.update(done: done) }
        try await remote.uploadFile(localPath: source, remotePath: target, options: options)
    }
}

/// Local path helpers for the command line.
enum LocalPaths {
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func size(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(max(0, info.st_size))
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func lastComponent(_ path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }
}
