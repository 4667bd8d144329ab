import NIOSSH

/// Checks host keys against an OpenSSH known_hosts file, like `StrictHostKeyChecking=yes`, or
/// `accept-new` when `acceptNew` is set: an unknown host's key is then added to the file. A
/// changed or revoked key is always refused.
public struct KnownHostsVerifier: HostKeyVerifier {
    public let path: String
    public let acceptNew: Bool
    /// Told about a key that was added, for a line on stderr.
    public let onAccepted: @Sendable (String) -> Void

    public init(path: String, acceptNew: Bool, onAccepted: @escaping @Sendable (String) -> Void = { _ in }) {
        self.path = path
        self.acceptNew = acceptNew
        self.onAccepted = onAccepted
    }

    public func verify(host: String, port: Int, key: NIOSSHPublicKey) throws {
        let knownHosts = try KnownHosts(path: self.path)
        let name = port == 22 ? host : "[\(host)]:\(port)"
        let fingerprint = "\(Self.keyTypeName(key)) key fingerprint \(SSHKeyFingerprint.sha256(key))"
        switch knownHosts.verify(host: host, port: port, key: key) {
        case .trusted:
            return
        case .revoked:
            throw SSHClientError.hostKeyRejected("the host key of \(name) is marked @revoked in \(self.path) (\(fingerprint))")
        case .changed(_, let line):
            throw SSHClientError.hostKeyRejected(
                "HOST KEY CHANGED for \(name): the server offered \(fingerprint), but \(self.path):\(line) holds another key. Someone could be intercepting the connection, or the server's key was replaced; refusing to connect"
            )
        case .unknown:
            guard self.acceptNew else {
                throw SSHClientError.hostKeyRejected(
                    "the host key of \(name) is not known (\(fingerprint)); check it and rerun with --accept-new-host-key to add it to \(self.path)"
                )
            }
            try KnownHosts.append(entry: KnownHosts.entry(host: host, port: port, key: key), to: self.path)
            self.onAccepted("added \(name) (\(fingerprint)) to \(self.path)")
        }
    }

    /// "ED25519", "ECDSA": the names ssh-keygen prints.
    static func keyTypeName(_ key: NIOSSHPublicKey) -> String {
        let type = String(openSSHPublicKey: key).prefix(while: { $0 != " " })
        if type == "ssh-ed25519" { return "ED25519" }
        if type.hasPrefix("ecdsa-") { return "ECDSA" }
        return type.uppercased()
    }
}
