import NIOCore

extension Channel {
    /// The remote end as logs name it, "IP:port", or "unknown" once the socket is gone.
    public var peerDescription: String {
        self.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
    }
}
