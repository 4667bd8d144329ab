import SFTPProtocol
import WharfCore

/// Failures a request handler reports that are not the storage's.
public enum SFTPFailure: Error, Sendable {
    case invalidHandle
    case badMessage(String)
    case unsupported(String)
    case permissionDenied(String)
    case endOfFile
    case failure(String)
}

/// The one place where errors become SFTP status codes and messages.
enum SFTPStatusMapping {
    static func status(for error: any Error) -> (code: SFTPStatusCode, message: String) {
        switch error {
        case let error as StorageError:
            return (code(for: error.kind), error.message)
        case let failure as SFTPFailure:
            switch failure {
            case .invalidHandle: return (.failure, "Invalid handle")
            case .badMessage(let why): return (.badMessage, why)
            case .unsupported(let why): return (.operationUnsupported, why)
            case .permissionDenied(let why): return (.permissionDenied, why)
            case .endOfFile: return (.eof, SFTPStatusCode.eof.defaultMessage)
            case .failure(let why): return (.failure, why)
            }
        case let error as SFTPProtocolError:
            return (.badMessage, error.description)
        default:
            return (.failure, "\(error)")
        }
    }

    /// SFTP v3 has few codes; OpenSSH maps everything but these three to SSH_FX_FAILURE.
    static func code(for kind: StorageError.Kind) -> SFTPStatusCode {
        switch kind {
        case .notFound: return .noSuchFile
        case .permissionDenied, .readOnly: return .permissionDenied
        case .unsupported: return .operationUnsupported
        case .invalidArgument, .alreadyExists, .notADirectory, .isADirectory, .directoryNotEmpty, .noSpace,
            .invalidHandle, .nameTooLong, .failure:
            return .failure
        }
    }
}
