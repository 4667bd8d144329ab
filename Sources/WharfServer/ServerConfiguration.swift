import FTPServer
import NIOCore

/// What `wharf serve` needs to start; the command line fills it in.
public struct ServerConfiguration: Sendable {
    public struct ListenAddress: Sendable, Hashable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public var dataDirectory: String = "./wharf-data"
    /// nil turns the listener off.
    public var sftpListen: ListenAddress? = ListenAddress(host: "0.0.0.0", port: 2022)
    public var ftpListen: ListenAddress? = ListenAddress(host: "0.0.0.0", port: 2121)
    public var ftpsListen: ListenAddress? = nil
    public var failedLoginDelay: TimeAmount = .seconds(1)
    public var loginGraceTime: TimeAmount = .seconds(120)
    /// Control connections of all protocols together.
    public var maximumConnections = 512
    public var maximumConnectionsPerAddress = 16
    public var shutdownGracePeriod: Duration = .seconds(30)

    public var ftpTLS: FTPTLSPolicy = .optional
    public var ftpPassivePorts: ClosedRange<Int>? = nil
    public var ftpPublicHost: String? = nil
    public var ftpActiveModeEnabled = true
    public var ftpIdleTimeout: Duration = .seconds(300)
    public var ftpDataTimeout: Duration = .seconds(120)
    public var ftpAnonymousRoot: String? = nil
    public var tlsCertificatePath: String? = nil
    public var tlsKeyPath: String? = nil

    public init() {}

    /// Parses "HOST:PORT", "[V6]:PORT" or ":PORT".
    public static func parseListenAddress(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return ListenAddress(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    /// Parses "LO-HI" (1024 ≤ LO ≤ HI ≤ 65535).
    public static func parsePortRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]),
            1024 <= low, low <= high, high <= 65535
        else { return nil }
        return low...high
    }
}
