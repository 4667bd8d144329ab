import FTPProtocol
import NIOCore

/// When TLS is offered and when it is demanded (`--ftp-tls`).
public enum FTPTLSPolicy: String, Sendable, CaseIterable {
    /// No AUTH TLS: FEAT does not offer it and AUTH/PBSZ/PROT answer 502.
    case off
    /// AUTH TLS offered; plain logins and data connections still allowed.
    case optional
    /// USER/PASS before AUTH TLS are refused with 530, and data connections need PROT P.
    case required
}

extension FTPServer {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Implicit FTPS: TLS from the first byte (`--ftps-listen`), as opposed to AUTH TLS.
        public var implicitTLS = false
        public var tlsPolicy: FTPTLSPolicy = .optional
        /// Ports for passive data connections; nil lets the system pick.
        public var passivePorts: ClosedRange<Int>? = nil
        /// The IPv4 address PASV announces (NAT, containers); nil announces the control
        /// connection's local address.
        public var publicHost: FTPIPAddress? = nil
        /// PORT and EPRT; off with `--ftp-disable-active`.
        public var activeModeEnabled = true
        /// A logged-in control connection idle this long (no transfer running) is closed with 421.
        public var idleTimeout: Duration = .seconds(300)
        /// A data connection that moves no byte for this long is dropped; the transfer gets 426.
        public var dataTimeout: Duration = .seconds(120)
        /// A connection not logged in by then is closed (as SSH's LoginGraceTime).
        public var loginGraceTime: Duration = .seconds(120)
        /// Failed PASS replies wait this long, so guessing is slow and timing says nothing.
        public var failedLoginDelay: Duration = .seconds(1)
        /// After this many failed logins the connection is closed with 421.
        public var maximumLoginFailures = 3
        /// Served read-only to `anonymous` / `ftp`; nil refuses anonymous logins.
        public var anonymousRoot: String? = nil
        /// Control lines longer than this are refused with 500 and never buffered whole.
        public var maximumLineLength = 4096
        /// Bytes read from storage or written to it per call.
        public var transferChunkSize = 256 * 1024
        public var greeting = "Wharf FTP server ready."

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }
}
