#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import WharfClient

/// `wharf mirror SRC DEST`: one-way sync; upload or download by which side is the URL.
struct MirrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror", abstract: "Make DEST a copy of the tree SRC (one side local, the other an sftp:// or ftp:// URL).",
        discussion: "Copies what is missing or differs in size or modification time (--checksum: content); --delete removes extras; --dry-run prints the plan and changes nothing.")

    @Flag(name: .customLong("delete"), help: "Delete what DEST has and SRC has not.") var delete = false
    @Flag(name: .customLong("dry-run"), help: "Print the plan, one line per action, and change nothing.") var dryRun = false
    @Flag(name: .customLong("checksum"), help: "Compare content hashes instead of size and time.") var checksum = false
    @Flag(name: .customLong("verify"), help: "Check every copied file end to end.") var verify = false
    @Option(name: .customLong("parallel"), help: ArgumentHelp("Files transferred at once (FTP: over as many connections).", valueName: "n")) var parallel = 4
    @Flag(name: .customLong("no-temp"), help: "FTP: upload under the final name instead of a temporary one renamed at the end.") var noTemporaryName = false
    @Argument var source: String
    @Argument var destination: String
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard RemoteLocation.isURL(self.source) != RemoteLocation.isURL(self.destination) else {
            throw ValidationError("exactly one of SRC and DEST must be a URL (sftp://, ftp://, ftpes://, ftps://)")
        }
        guard (1...64).contains(self.parallel) else { throw ValidationError("--parallel must be between 1 and 64") }
    }

    func run() async throws {
        let uploading = RemoteLocation.isURL(self.destination)
        let location = try parseLocation(uploading ? self.destination : self.source)
        let from: MirrorLocation = uploading ? .local(self.source) : .remote(location.path)
        let to: MirrorLocation = uploading ? .remote(location.path) : .local(self.destination)
        let logger = self.client.makeLogger()
        let progress = ProgressDisplay(quiet: self.client.quiet || self.dryRun)
        let report = try await runReportingErrors {
            try await ClientSession.run(self.client, at: location, logger: logger, connections: self.parallel) { remote, attempt in
                progress.start(name: "mirror/", total: nil)
                defer { progress.finish() }
                let options = MirrorOptions(
                    delete: self.delete, dryRun: self.dryRun, checksum: self.checksum, parallel: self.parallel,
                    transfer: TransferOptions(
                        resume: attempt > 0, verify: self.verify,
                        uploadsToTemporaryName: location.scheme.isFTP && !self.noTemporaryName),
                    progress: { state in progress.update(tree: state) })
                let report = try await remote.mirror(from: from, to: to, options: options)
                // A lost connection retries the whole mirror, which then plans only what is left.
                if let lost = report.failures.first(where: { ConnectionLoss.matches($0) }) { throw lost }
                return report
            }
        }
        if self.dryRun {
            for action in report.plan.actions { print(action.description) }
        } else if !self.client.quiet, !report.plan.isEmpty, isatty(1) == 1 {
            // Scripts (no terminal) see nothing but errors.
            print(report.description)
        }
        try reportFailures(report.failures.map(\.description))
    }
}
