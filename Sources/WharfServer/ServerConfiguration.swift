import NIOCore

/// What `wharf serve` needs to start; the command line fills it in.
public struct ServerConfiguration: Sendable {
    public var dataDirectory: String = "./wharf-data"
    public var sftpHost: String = "0.0.0.0"
    public var sftpPort: Int = 2022
    public var failedLoginDelay: TimeAmount = .seconds(1)
    public var loginGraceTime: TimeAmount = .seconds(120)
    public var maximumConnections = 1024
    public var maximumConnectionsPerAddress = 64
    public var shutdownGracePeriod: Duration = .seconds(30)

    public init() {}

    /// Parses "HOST:PORT", "[V6]:PORT" or ":PORT".
    public static func parseListenAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}
