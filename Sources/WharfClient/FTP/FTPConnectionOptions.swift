import NIOCore
import WharfTLS

/// How an `FTPClient` reaches and logs in to a server.
public struct FTPConnectionOptions: Sendable {
    /// How the session is protected.
    public enum Security: Sendable, Hashable {
        /// Plain FTP (`ftp://`): passwords and data in clear.
        case none
        /// `ftpes://`: AUTH TLS on the plain port, required: a server that refuses it is an error.
        case explicitTLS
        /// `ftps://`: TLS from the first byte (port 990).
        case implicitTLS
    }

    public var host: String
    public var port: Int
    /// nil: anonymous login.
    public var user: String?
    public var password: String?
    public var security: Security
    /// Certificate trust and TLS versions for `explicitTLS` and `implicitTLS`.
    public var tls: TLSClientConfiguration
    /// Data connections made by the server to us (EPRT/PORT) instead of passive ones (EPSV/PASV).
    public var activeMode: Bool
    /// TCP connect, TLS handshake and login together.
    public var connectTimeout: TimeAmount
    /// Each reply to a command.
    public var replyTimeout: TimeAmount
    /// A data connection on which nothing moves for this long is given up.
    public var dataTimeout: TimeAmount
    /// Control connections opened at most, for transfers run in parallel (each FTP connection
    /// carries one transfer at a time).
    public var maximumConnections: Int

    public init(
        host: String, port: Int = 21, user: String? = nil, password: String? = nil, security: Security = .none,
        tls: TLSClientConfiguration = TLSClientConfiguration(), activeMode: Bool = false,
        connectTimeout: TimeAmount = .seconds(30), replyTimeout: TimeAmount = .seconds(60),
        dataTimeout: TimeAmount = .seconds(60), maximumConnections: Int = 4
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.security = security
        self.tls = tls
        self.activeMode = activeMode
        self.connectTimeout = connectTimeout
        self.replyTimeout = replyTimeout
        self.dataTimeout = dataTimeout
        self.maximumConnections = maximumConnections
    }

    /// The user name sent: the given one, else "anonymous".
    var loginName: String { self.user ?? "anonymous" }
    /// The password sent: the given one, else an anonymous e-mail-ish placeholder, as curl and lftp send.
    var loginPassword: String { self.password ?? (self.user == nil ? "wharf@" : "") }
}
