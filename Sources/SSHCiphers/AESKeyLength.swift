/// The AES key length of a transport protection scheme, with the SSH names of its ciphers.
public protocol AESKeyLength: Sendable {
    static var keyByteCount: Int { get }
    /// The RFC 4344 counter-mode name, `aes128-ctr` or `aes256-ctr`.
    static var ctrCipherName: String { get }
    /// OpenSSH's AES-GCM name, `aes128-gcm@openssh.com` or `aes256-gcm@openssh.com`.
    static var gcmCipherName: String { get }
}

public enum AES128KeyLength: AESKeyLength {
    public static var keyByteCount: Int { 16 }
    public static var ctrCipherName: String { "aes128-ctr" }
    public static var gcmCipherName: String { "aes128-gcm@openssh.com" }
}

public enum AES256KeyLength: AESKeyLength {
    public static var keyByteCount: Int { 32 }
    public static var ctrCipherName: String { "aes256-ctr" }
    public static var gcmCipherName: String { "aes256-gcm@openssh.com" }
}
