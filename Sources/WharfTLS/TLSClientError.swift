import COpenSSL

/// Why a TLS client connection failed. Each description is one line, fit for `wharf: <reason>`.
public enum TLSClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The context could not be built (CA file unreadable or without certificates, OpenSSL refused a setting).
    case configuration(String)
    /// The server's certificate chain did not verify; the text is OpenSSL's `X509_verify_cert_error_string`.
    case certificateVerificationFailed(String)
    /// The chain verified but names neither the host name nor the IP address the caller connected to.
    case hostnameMismatch(String)
    /// The handshake failed for another reason (alert from the server, no common protocol version or
    /// cipher, malformed message); the text is OpenSSL's error queue.
    case handshakeFailed(String)
    /// The handshake did not finish within the configured time.
    case handshakeTimeout
    /// The peer closed the TCP connection before the handshake finished.
    case closedDuringHandshake
    /// The TCP connection ended without the peer's close_notify while we still expected data:
    /// what was received may be truncated.
    case uncleanShutdown
    /// After the handshake: a record failed to decrypt, the peer sent a fatal alert, and so on.
    case protocolFailure(String)
    /// A write after this side had sent close_notify (`close(mode: .output)` or `.all`).
    case writeAfterClose
    /// OpenSSL could not allocate a connection object or BIO.
    case resourceFailure(String)

    public var description: String {
        switch self {
        case .configuration(let reason): "TLS configuration: \(reason)"
        case .certificateVerificationFailed(let reason): "TLS certificate verify failed: \(reason)"
        case .hostnameMismatch(let host): "TLS certificate does not match the server name '\(host)'"
        case .handshakeFailed(let reason): "TLS handshake failed: \(reason)"
        case .handshakeTimeout: "TLS handshake timed out"
        case .closedDuringHandshake: "TLS handshake failed: the server closed the connection"
        case .uncleanShutdown: "TLS connection closed without close_notify (the data may be truncated)"
        case .protocolFailure(let reason): "TLS error: \(reason)"
        case .writeAfterClose: "TLS write after close_notify"
        case .resourceFailure(let reason): "TLS: \(reason)"
        }
    }
}

/// Empties OpenSSL's (thread-local) error queue into one line: the reasons, oldest first, without repeats.
/// `fallback` when the queue was empty.
func drainOpenSSLErrors(fallback: String) -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        let text: String
        if let reason = ERR_reason_error_string(code) {
            text = String(cString: reason)
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if !reasons.contains(text) { reasons.append(text) }
    }
    return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
}
