/// Why a file- or tree-level transfer failed (beyond the SFTP and local errors it passes on);
/// descriptions are one line, fit for the command line.
public enum FileTransferError: Error, Hashable, Sendable, CustomStringConvertible {
    /// End-to-end verification found different contents. `algorithm` is the hash compared, or
    /// `"size"` when the sizes already differed; `local` and `remote` are hex digests (or sizes).
    case verificationFailed(path: String, algorithm: String, local: String, remote: String)
    /// The file received does not have the size the source has.
    case incomplete(path: String, expected: UInt64, received: UInt64)
    /// A file transfer was asked for something that is not a regular file.
    case notARegularFile(path: String)
    /// Verification was asked for a download to a device or another special file, which cannot
    /// be read back.
    case cannotVerify(path: String)
    /// A tree transfer or mirror was asked for something that is not a directory.
    case notADirectory(path: String)
    /// A directory entry the server sent cannot be used as a local name ("", ".", "..", or with a "/").
    case unsafeName(directory: String, name: String)
    /// The entry differs in kind on the two sides (a file here, a directory there).
    case kindConflict(path: String, source: FileKind, destination: FileKind)
    /// A mirror between two local or two remote trees.
    case unsupportedDirection

    public var description: String {
        switch self {
        case .verificationFailed(let path, let algorithm, let local, let remote):
            return "verification failed: \(path) differs (\(algorithm) local \(local), remote \(remote))"
        case .incomplete(let path, let expected, let received):
            return "\(path): incomplete transfer: \(received) bytes of \(expected)"
        case .notARegularFile(let path):
            return "\(path): not a regular file"
        case .cannotVerify(let path):
            return "\(path): not a regular file, cannot be verified"
        case .notADirectory(let path):
            return "\(path): not a directory"
        case .unsafeName(let directory, let name):
            return "\(directory): the server listed an unusable name \(name.debugDescription)"
        case .kindConflict(let path, let source, let destination):
            return "\(path): a \(source.noun) in the source but a \(destination.noun) in the destination"
        case .unsupportedDirection:
            return "mirror needs one local and one remote side"
        }
    }
}

extension FileKind {
    var noun: String {
        switch self {
        case .file: return "file"
        case .directory: return "directory"
        case .symbolicLink: return "symbolic link"
        case .other: return "special file"
        }
    }
}

/// One entry of a tree transfer or mirror that failed; the rest went on.
public struct TransferFailure: Error, Sendable, CustomStringConvertible {
    /// The entry's path relative to the tree's root ("" for the root itself).
    public var path: String
    public var error: any Error

    public init(path: String, error: any Error) {
        self.path = path
        self.error = error
    }

    public var description: String { "\(self.path.isEmpty ? "." : self.path): \(self.error)" }
}
