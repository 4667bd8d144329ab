import Crypto
import Foundation
import NIOSSH

/// Key fingerprints as OpenSSH prints them.
public enum SSHKeyFingerprint {
    /// `SHA256:` and the unpadded base64 of the SHA-256 of the key blob, as `ssh-keygen -l` shows.
    public static func sha256(_ key: NIOSSHPublicKey) -> String {
        let digest = SHA256.hash(data: blob(of: key))
        let text = Data(digest).base64EncodedString()
        return "SHA256:" + text.replacingOccurrences(of: "=", with: "")
    }

    /// The key in SSH wire format (`string type, …`), the bytes the base64 field of a `.pub` line holds.
    static func blob(of key: NIOSSHPublicKey) -> [UInt8] {
        let line = String(openSSHPublicKey: key)
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let data = Data(base64Encoded: String(fields[1])) else { return [] }
        return Array(data)
    }
}
