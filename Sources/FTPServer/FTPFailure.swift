import FTPProtocol
import WharfCore

/// Why a command failed, before it becomes a reply. Handlers throw this; `reply` is the one place
/// where storage errors become FTP reply codes.
enum FTPFailure: Error, Sendable {
    /// A storage error on `path` (as the client named it).
    case storage(StorageError, path: String)
    /// A reply decided by the handler itself.
    case reply(FTPReply)

    static func reply(_ code: Int, _ text: String) -> FTPFailure {
        .reply(FTPReply(code: code, text))
    }

    var reply: FTPReply {
        switch self {
        case .reply(let reply):
            return reply
        case .storage(let error, let path):
            return Self.reply(for: error, path: path)
        }
    }

    /// RFC 959: 550 for "file unavailable" (not found, no access), 553 for a name not allowed,
    /// 552 for exceeded storage, 452 for insufficient storage, 451 for local processing errors.
    static func reply(for error: StorageError, path: String) -> FTPReply {
        let name = path.isEmpty ? "" : "\(path): "
        switch error.kind {
        case .notFound: return FTPReply(code: 550, "\(name)No such file or directory.")
        case .permissionDenied: return FTPReply(code: 550, "\(name)Permission denied.")
        case .readOnly: return FTPReply(code: 550, "\(name)Permission denied (read-only).")
        case .alreadyExists: return FTPReply(code: 550, "\(name)File exists.")
        case .notADirectory: return FTPReply(code: 550, "\(name)Not a directory.")
        case .isADirectory: return FTPReply(code: 550, "\(name)Is a directory.")
        case .directoryNotEmpty: return FTPReply(code: 550, "\(name)Directory not empty.")
        case .nameTooLong: return FTPReply(code: 553, "\(name)File name too long.")
        case .invalidArgument: return FTPReply(code: 553, "\(name)File name not allowed.")
        case .noSpace: return FTPReply(code: 452, "\(name)Insufficient storage space.")
        case .unsupported: return FTPReply(code: 502, "\(name)Operation not supported.")
        case .invalidHandle, .failure: return FTPReply(code: 451, "\(name)Local error: \(error.message).")
        }
    }
}
