import COpenSSL
import NIOCore

/// What a TLS client trusts and how it behaves; turned into an OpenSSL `SSL_CTX` by `TLSClientContext`.
public struct TLSClientConfiguration: Sendable, Hashable {
    /// Which certificates the client accepts.
    public enum Trust: Sendable, Hashable {
        /// The system's CA store (`SSL_CTX_set_default_verify_paths`: /etc/ssl/certs on Debian).
        case system
        /// The certificates in one PEM file (several may be concatenated), instead of the system store.
        case caFile(String)
        /// No verification at all: any certificate, any name. The caller warns the user.
        case insecure
    }

    public enum ProtocolVersion: Sendable, Hashable {
        case tls12
        case tls13

        var openSSLValue: Int32 {
            switch self {
            case .tls12: TLS1_2_VERSION
            case .tls13: TLS1_3_VERSION
            }
        }
    }

    public var trust: Trust
    /// TLS 1.2 unless raised.
    public var minimumVersion: ProtocolVersion
    /// nil: the newest OpenSSL supports (TLS 1.3).
    public var maximumVersion: ProtocolVersion?
    /// How long `close(mode: .all)` waits for the peer's close_notify after sending its own.
    /// 0 (the default, what FTP wants): send close_notify, then close the TCP connection at once.
    public var closeNotifyTimeout: TimeAmount
    /// nil: no limit.
    public var handshakeTimeout: TimeAmount?

    public init(
        trust: Trust = .system,
        minimumVersion: ProtocolVersion = .tls12,
        maximumVersion: ProtocolVersion? = nil,
        closeNotifyTimeout: TimeAmount = .zero,
        handshakeTimeout: TimeAmount? = .seconds(30)
    ) {
        self.trust = trust
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.closeNotifyTimeout = closeNotifyTimeout
        self.handshakeTimeout = handshakeTimeout
    }
}

/// One OpenSSL `SSL_CTX` for client connections, shared by any number of them on any threads.
///
/// Sendable: the `SSL_CTX` is configured completely in `init` and never changed afterwards; OpenSSL
/// allows concurrent `SSL_new` on a configured context. The client session cache is on but stores
/// nothing itself: each connection's handler collects its sessions in its `TLSSessionBox`.
public final class TLSClientContext: Sendable {
    public let configuration: TLSClientConfiguration
    nonisolated(unsafe) let sslContext: OpaquePointer

    public init(configuration: TLSClientConfiguration) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSClientError.resourceFailure(drainOpenSSLErrors(fallback: "SSL_CTX_new failed"))
        }
        do {
            try Self.configure(context, configuration)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.configuration = configuration
        self.sslContext = context
    }

    deinit {
        SSL_CTX_free(sslContext)
    }

    /// "OpenSSL 3.0.x ..." of the library linked at run time.
    public static var openSSLVersion: String {
        String(cString: wharf_OpenSSL_version_text())
    }

    private static func configure(_ context: OpaquePointer, _ configuration: TLSClientConfiguration) throws {
        ERR_clear_error()
        guard wharf_SSL_CTX_set_min_proto_version(context, configuration.minimumVersion.openSSLValue) == 1 else {
            throw TLSClientError.configuration(drainOpenSSLErrors(fallback: "cannot set the minimum TLS version"))
        }
        if let maximum = configuration.maximumVersion {
            guard wharf_SSL_CTX_set_max_proto_version(context, maximum.openSSLValue) == 1 else {
                throw TLSClientError.configuration(drainOpenSSLErrors(fallback: "cannot set the maximum TLS version"))
            }
        }
        wharf_SSL_CTX_disable_renegotiation(context)
        _ = wharf_SSL_CTX_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))

        switch configuration.trust {
        case .system:
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw TLSClientError.configuration(drainOpenSSLErrors(fallback: "cannot load the system CA store"))
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        case .caFile(let path):
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                let reason = drainOpenSSLErrors(fallback: "no certificates found")
                throw TLSClientError.configuration("cannot load CA file \(path): \(reason)")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        case .insecure:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }

        // Sessions: the client cache mode makes OpenSSL call the new-session callback (TLS 1.2 at the
        // end of the handshake, TLS 1.3 for each ticket); nothing is kept in the context itself.
        _ = wharf_SSL_CTX_set_session_cache_mode(
            context, Int(SSL_SESS_CACHE_CLIENT) | Int(SSL_SESS_CACHE_NO_INTERNAL_STORE))
        SSL_CTX_sess_set_new_cb(context, newSessionCallback)
    }
}

/// The ex_data slot of an `SSL` that points (unretained) at its handler's `TLSSessionBox`.
let sessionBoxIndex: Int32 = wharf_SSL_get_ex_new_index()

/// OpenSSL's new-session callback: returning 1 keeps the reference it passes, which the `TLSSession`
/// then owns; 0 lets OpenSSL drop it.
private func newSessionCallback(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let ssl, let session, let raw = SSL_get_ex_data(ssl, sessionBoxIndex) else { return 0 }
    guard SSL_SESSION_is_resumable(session) == 1 else { return 0 }
    let box = Unmanaged<TLSSessionBox>.fromOpaque(raw).takeUnretainedValue()
    box.store(TLSSession(owning: session))
    return 1
}
