#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one error type of the storage layer. Protocol front ends (SFTP status codes, FTP replies)
/// map its `kind` in one place each; errno is mapped to `kind` here and nowhere else.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case notFound
        case permissionDenied
        case alreadyExists
        case notADirectory
        case isADirectory
        case directoryNotEmpty
        case noSpace
        case invalidArgument
        case unsupported
        case invalidHandle
        case readOnly
        case nameTooLong
        case failure
    }

    public var kind: Kind
    /// The errno behind the error, when a system call failed.
    public var errno: Int32?
    /// A short human message, such as the one OpenSSH puts in a status reply.
    public var message: String

    public init(_ kind: Kind, _ message: String, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    /// Maps a system call's errno; the message is the C library's text for it.
    public init(errno code: Int32) {
        self.init(Self.kind(forErrno: code), Self.message(forErrno: code), errno: code)
    }

    public static func kind(forErrno code: Int32) -> Kind {
        switch code {
        case ENOENT: return .notFound
        case EACCES, EPERM: return .permissionDenied
        case EEXIST: return .alreadyExists
        case ENOTDIR: return .notADirectory
        case EISDIR: return .isADirectory
        case ENOTEMPTY: return .directoryNotEmpty
        case ENOSPC, EDQUOT, EFBIG: return .noSpace
        case EINVAL: return .invalidArgument
        case ENOSYS, EOPNOTSUPP, EXDEV: return .unsupported
        case EBADF: return .invalidHandle
        case EROFS: return .readOnly
        case ENAMETOOLONG: return .nameTooLong
        case ELOOP: return .permissionDenied
        default: return .failure
        }
    }

    public static func message(forErrno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    public var description: String { self.message }

    public static let outsideHome = StorageError(.permissionDenied, "Permission denied: path is outside the home directory")
    public static let readOnlySession = StorageError(.permissionDenied, "Permission denied: read-only session")
}
