import WharfClient

/// Tree transfers with one overall progress line. Returns one line per failed file.
enum TreeTransfers {
    static func download(
        _ remote: any RemoteFileSystem, from source: String, to target: String, flags: TransferFlags, resume: Bool,
        progress: ProgressDisplay
    ) async throws -> [String] {
        progress.start(name: RemotePath.lastComponent(source) + "/", total: nil)
        defer { progress.finish() }
        let report = try await remote.downloadTree(
            remoteDirectory: source, localDirectory: target,
            options: self.options(flags, resume: resume, temporaryName: false, progress: progress))
        return try self.failures(of: report.failures)
    }

    static func upload(
        _ remote: any RemoteFileSystem, from source: String, to target: String, flags: TransferFlags, resume: Bool,
        temporaryName: Bool, progress: ProgressDisplay
    ) async throws -> [String] {
        progress.start(name: LocalPaths.lastComponent(source) + "/", total: nil)
        defer { progress.finish() }
        let report = try await remote.uploadTree(
            localDirectory: source, remoteDirectory: target,
            options: self.options(flags, resume: resume, temporaryName: temporaryName, progress: progress))
        return try self.failures(of: report.failures)
    }

    /// Per-file failures to report; a lost connection is thrown instead, so that the whole tree is
    /// retried, resuming what was done.
    static func failures(of failures: [TransferFailure]) throws -> [String] {
        if let lost = failures.first(where: { ConnectionLoss.matches($0) }) { throw lost }
        return failures.map(\.description)
    }

    static func options(_ flags: TransferFlags, resume: Bool, temporaryName: Bool, progress: ProgressDisplay) -> TreeTransferOptions {
        TreeTransferOptions(
            file: TransferOptions(
                resume: flags.resume || resume, verify: flags.verify,
                uploadsToTemporaryName: temporaryName && !flags.noTemporaryName),
            parallel: flags.parallel,
            progress: { state in progress.update(tree: state) })
    }
}

extension ProgressDisplay {
    /// The overall line of a tree: bytes of all files, and the file count in the name.
    func update(tree state: TreeTransferProgress) {
        self.update(done: state.bytesDone, total: state.bytesTotal, files: (state.filesDone, state.filesTotal))
    }
}
