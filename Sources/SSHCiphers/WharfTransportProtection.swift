import NIOSSH

/// The transport protection schemes Wharf offers, in order of preference, to clients (server) and
/// servers (client).
///
/// AES-GCM first, then `aes256-ctr` and `aes128-ctr` with `hmac-sha2-256` for peers without
/// AES-GCM (libssh2 before 1.11, hence curl's `sftp://` on Debian 12). All of them encrypt each
/// packet in place, not through NIOSSH's bundled AES-GCM: AES-GCM on swift-crypto's BoringSSL
/// (``AESGCMPacketContext``), AES-CTR on the system OpenSSL (``EVPCipherContext``).
///
/// A CTR scheme is only chosen when the peer also offers the MAC `hmac-sha2-256`: NIOSSH ties one
/// MAC to one cipher, and advertises the MAC names of the schemes it is given.
public enum WharfTransportProtection {
    private static let sendableSchemes: [(NIOSSHTransportProtection & _NIOSSHSendableMetatype).Type] = [
        AES256GCMOpenSSHTransportProtection.self,
        AES128GCMOpenSSHTransportProtection.self,
        AES256CTRHMACSHA256TransportProtection.self,
        AES128CTRHMACSHA256TransportProtection.self,
    ]

    /// Pass to `SSHServerConfiguration.transportProtectionSchemes` or
    /// `SSHClientConfiguration.transportProtectionSchemes`.
    public static var schemes: [NIOSSHTransportProtection.Type] {
        Self.sendableSchemes
    }
}
