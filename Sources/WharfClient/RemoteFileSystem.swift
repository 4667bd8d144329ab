import Logging
import SFTPProtocol

/// What file transfers, tree transfers, mirrors and globs need of a server, whatever the protocol:
/// `SFTPClient` and `FTPClient` provide it, and everything built on it (`downloadFile`,
/// `uploadTree`, `mirror`, `expandRemoteGlob`, `verify`, ...) works the same over both.
///
/// Attributes are SFTP's value type (size, POSIX mode with the type bits, times): it is what the
/// command line prints for either protocol; an FTP server's facts are mapped into it.
public protocol RemoteFileSystem: Sendable {
    /// Where the transfers built on this file system log their steps.
    var logger: Logger { get }

    /// How precise the modification times of `listDirectory` are, in seconds: 1, or 60 for the
    /// minutes of an FTP `LIST`. A mirror takes times closer than this as equal.
    var listingTimeResolution: UInt32 { get }

    /// Attributes of a path, following symbolic links.
    func stat(_ path: String) async throws -> SFTPFileAttributes
    /// Attributes of a path itself, not following a symbolic link (where the protocol can tell).
    func lstat(_ path: String) async throws -> SFTPFileAttributes
    /// Changes the attributes present (times, permissions); see each implementation for what a
    /// server may refuse.
    func setAttributes(_ path: String, _ attributes: SFTPFileAttributes) async throws
    /// The entries of a directory; `.` and `..` only when asked for.
    func listDirectory(_ path: String, includingDotEntries: Bool) async throws -> [SFTPName]
    func makeDirectory(_ path: String, permissions: UInt32?) async throws
    func removeDirectory(_ path: String) async throws
    func removeFile(_ path: String) async throws
    /// Renames; with `overwriting`, an existing destination is replaced.
    func rename(from source: String, to destination: String, overwriting: Bool) async throws

    /// Downloads a remote file into `sink` from `offset` on (bytes land at the same offsets).
    /// Returns the bytes transferred. `requestsInFlight` is SFTP's pipeline depth.
    func download(
        _ remotePath: String, to sink: some LocalSink, from offset: UInt64, requestsInFlight: Int,
        progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> UInt64

    /// Uploads `source` from `offset` on to the same offset of a remote file, created when missing
    /// and emptied first when `truncate`. Returns the bytes transferred.
    func upload(
        from source: some LocalSource, to remotePath: String, at offset: UInt64, truncate: Bool,
        permissions: UInt32?, requestsInFlight: Int, progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> UInt64

    /// A hash of the whole file computed by the server, with the first of `algorithms` (check-file
    /// names: "sha256", "md5", "crc32", ...) it offers; nil when it offers no way to hash files or
    /// refuses this one (the caller then reads the file back).
    func serverDigest(of path: String, algorithms: [String]) async throws -> (algorithm: String, hash: [UInt8])?
}

/// How errors of either protocol read, for the code that treats them alike.
public enum RemoteFailure {
    /// The server refused the request (the connection is fine): a status, an FTP 4xx/5xx reply.
    public static func isRefusal(_ error: any Error) -> Bool {
        switch error {
        case let error as SFTPClientError: return error.statusCode != nil
        case let error as FTPClientError: return error.replyCode != nil
        default: return false
        }
    }

    /// The server said that nothing is at the path (SFTP NO_SUCH_FILE; FTP 550 to a query, which
    /// FTP cannot tell from a permission refusal).
    public static func isNoSuchFile(_ error: any Error) -> Bool {
        switch error {
        case let error as SFTPClientError: return error.statusCode == .noSuchFile
        case let error as FTPClientError: return error.replyCode == 550 || error.replyCode == 450
        default: return false
        }
    }
}
