import WharfClient

/// Tree transfers with one overall progress line. Returns one line per failed file.
enum TreeTransfers {
    static func download(
        _ sftp: SFTPClient, from source: String, to target: String, flags: TransferFlags, resume: Bool,
        progress: ProgressDisplay
    ) async throws -> [String] {
        throw CommandFailure("\(source): recursive transfers are not available yet")
    }

    static func upload(
        _ sftp: SFTPClient, from source: String, to target: String, flags: TransferFlags, resume: Bool,
        progress: ProgressDisplay
    ) async throws -> [String] {
        throw CommandFailure("\(source): recursive transfers are not available yet")
    }
}
