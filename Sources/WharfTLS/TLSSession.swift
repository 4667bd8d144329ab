import COpenSSL
import NIOConcurrencyHelpers

/// A TLS session the server issued (a TLS 1.2 session ID or ticket, a TLS 1.3 ticket), to resume on a
/// later connection: `OpenSSLClientHandler(..., resuming: session)`. Opaque and immutable; holds one
/// reference to the `SSL_SESSION`, dropped in `deinit`.
///
/// Sendable: OpenSSL treats a session as immutable once issued; `SSL_set_session` only takes a
/// reference, and reference counts are atomic.
public final class TLSSession: Sendable, CustomStringConvertible {
    nonisolated(unsafe) let pointer: OpaquePointer

    /// Takes over one reference (the one OpenSSL hands to the new-session callback).
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        SSL_SESSION_free(pointer)
    }

    /// "TLSv1.3" or "TLSv1.2".
    public var protocolVersion: String {
        protocolName(SSL_SESSION_get_protocol_version(pointer))
    }

    public var isResumable: Bool {
        SSL_SESSION_is_resumable(pointer) == 1
    }

    public var description: String {
        "TLSSession(\(protocolVersion))"
    }
}

/// The newest resumable session of one connection, updated by its handler from OpenSSL's new-session
/// callback. In TLS 1.3 the tickets arrive after the handshake (and a server may send several), so read
/// `latest` when the next connection starts, not at the end of the handshake.
///
/// FTPS: make one box for the control connection, pass it to its `OpenSSLClientHandler`, and read
/// `latest` from any thread when opening each data connection.
public final class TLSSessionBox: Sendable {
    private let storage = NIOLockedValueBox<TLSSession?>(nil)

    public init() {}

    /// The most recently issued session, or nil if the server has issued none (yet).
    public var latest: TLSSession? {
        storage.withLockedValue { $0 }
    }

    func store(_ session: TLSSession) {
        let previous = storage.withLockedValue { value in
            let previous = value
            value = session
            return previous
        }
        _ = previous  // released here, outside the lock
    }
}

func protocolName(_ version: Int32) -> String {
    switch version {
    case TLS1_3_VERSION: "TLSv1.3"
    case TLS1_2_VERSION: "TLSv1.2"
    case TLS1_1_VERSION: "TLSv1.1"
    case TLS1_VERSION: "TLSv1"
    default: "0x" + String(version, radix: 16)
    }
}
