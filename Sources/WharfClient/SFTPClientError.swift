import NIOCore
import SFTPProtocol

/// Why an SFTP request failed; descriptions are one line, fit for the command line.
public enum SFTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server answered with a STATUS other than OK. `path` is the (first) path the request named.
    case status(code: SFTPStatusCode, message: String, path: String?)
    /// The server's stream ended (or failed) before the reply came.
    case connectionClosed
    /// The client was closed with `close()`; no more requests are sent.
    case closed
    /// The server speaks an SFTP version below 3.
    case unsupportedVersion(UInt32)
    /// The server did not advertise the extension this call needs.
    case unsupportedExtension(String)
    /// The server answered with a packet of the wrong type.
    case unexpectedReply(String)
    /// The server's reply could not be decoded.
    case malformedReply(SFTPProtocolError)

    /// The status code, for `.status` errors.
    public var statusCode: SFTPStatusCode? {
        if case .status(let code, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .status(let code, let message, let path):
            let text = message.isEmpty ? code.defaultMessage : message
            return path.map { "\($0): \(text)" } ?? text
        case .connectionClosed: return "the SFTP connection closed"
        case .closed: return "the SFTP client is closed"
        case .unsupportedVersion(let version): return "the server speaks SFTP version \(version); version 3 is needed"
        case .unsupportedExtension(let name): return "the server does not support \(name)"
        case .unexpectedReply(let what): return "unexpected SFTP reply: \(what)"
        case .malformedReply(let error): return "\(error)"
        }
    }
}

/// Turning replies into the values each request expects, and STATUS errors into `SFTPClientError`.
extension SFTPResponse {
    /// Throws the STATUS as an error unless it is OK; throws for any other packet.
    func expectOK(path: String?) throws(SFTPClientError) {
        switch self {
        case .status(_, .ok, _): return
        default: throw self.unexpected(expecting: "STATUS", path: path)
        }
    }

    func expectHandle(path: String?) throws(SFTPClientError) -> ByteBuffer {
        guard case .handle(_, let handle) = self else { throw self.unexpected(expecting: "HANDLE", path: path) }
        return handle
    }

    func expectAttributes(path: String?) throws(SFTPClientError) -> SFTPFileAttributes {
        guard case .attributes(_, let attributes) = self else { throw self.unexpected(expecting: "ATTRS", path: path) }
        return attributes
    }

    func expectNames(path: String?) throws(SFTPClientError) -> [SFTPName] {
        guard case .name(_, let names) = self else { throw self.unexpected(expecting: "NAME", path: path) }
        return names
    }

    /// The one entry of a NAME reply to REALPATH, READLINK and the like.
    func expectSingleName(path: String?) throws(SFTPClientError) -> String {
        let names = try self.expectNames(path: path)
        guard names.count == 1, let name = names.first else {
            throw .unexpectedReply("NAME with \(names.count) entries where one was expected")
        }
        return name.filename
    }

    func expectExtendedReply(path: String?) throws(SFTPClientError) -> ByteBuffer {
        guard case .extendedReply(_, let payload) = self else { throw self.unexpected(expecting: "EXTENDED_REPLY", path: path) }
        return payload
    }

    /// A non-OK STATUS becomes `.status`; anything else that is not what was expected, `.unexpectedReply`.
    func unexpected(expecting expected: String, path: String?) -> SFTPClientError {
        if case .status(_, let code, let message) = self {
            if code == .ok { return .unexpectedReply("STATUS OK where \(expected) was expected") }
            return .status(code: code, message: message, path: path)
        }
        return .unexpectedReply("\(self.packetType) where \(expected) was expected")
    }
}
