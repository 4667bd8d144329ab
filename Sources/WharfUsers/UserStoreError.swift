/// Every way the user store, the password hasher or the key parser can refuse.
///
/// Each `description` is one line meant for a human (the CLI prints it after `Error: `). No case ever
/// carries a password or a whole key line: a pasted private key or password must not end up in a log.
public enum UserStoreError: Error, CustomStringConvertible, Equatable, Sendable {
    case dataDirectoryMissing(String)
    case dataDirectoryNotADirectory(String)
    case dataDirectoryNotWritable(String)
    case database(String)
    case invalidUsername(String)
    case homeNotAbsolute(String)
    case duplicateUser(String)
    case unknownUser(String)
    case noAuthenticationMethod(String)
    case emptyPassword
    case passwordHashingFailed
    case malformedPasswordHash
    case rsaKeyNotSupported
    case unsupportedKeyAlgorithm(String)
    case keyOptionsNotSupported
    case malformedKey(String)
    case keyFileUnreadable(path: String, reason: String)
    case noKeysInFile(String)
    indirect case inKeyFile(path: String, line: Int, UserStoreError)
    case homeUnusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .dataDirectoryMissing(let path):
            "data directory \(oneLine(path)) does not exist"
        case .dataDirectoryNotADirectory(let path):
            "data directory \(oneLine(path)) is not a directory"
        case .dataDirectoryNotWritable(let path):
            "data directory \(oneLine(path)) is not writable"
        case .database(let message):
            "user database: \(oneLine(message))"
        case .invalidUsername(let name):
            "invalid user name \"\(oneLine(name))\": use 1-32 characters of a-z A-Z 0-9 . _ -, not starting with '-' or '.'"
        case .homeNotAbsolute(let path):
            "home directory \(oneLine(path)) is not an absolute path"
        case .duplicateUser(let name):
            "user \(oneLine(name)) already exists"
        case .unknownUser(let name):
            "no such user: \(oneLine(name))"
        case .noAuthenticationMethod(let name):
            "user \(oneLine(name)) would have neither a password nor an authorized key"
        case .emptyPassword:
            "the password is empty"
        case .passwordHashingFailed:
            "could not hash the password"
        case .malformedPasswordHash:
            "the stored password hash is malformed"
        case .rsaKeyNotSupported:
            "RSA keys are not supported; use ssh-ed25519 or ecdsa-sha2-nistp256/384/521"
        case .unsupportedKeyAlgorithm(let algorithm):
            "key type \(oneLine(algorithm)) is not supported; use ssh-ed25519 or ecdsa-sha2-nistp256/384/521"
        case .keyOptionsNotSupported:
            "authorized_keys options (from=, command=, ...) are not supported; give the bare key line"
        case .malformedKey(let reason):
            "malformed public key: \(oneLine(reason))"
        case .keyFileUnreadable(let path, let reason):
            "cannot read key file \(oneLine(path)): \(oneLine(reason))"
        case .noKeysInFile(let path):
            "no public keys in \(oneLine(path))"
        case .inKeyFile(let path, let line, let error):
            "\(oneLine(path)) line \(line): \(error.description)"
        case .homeUnusable(let path, let reason):
            "cannot use home directory \(oneLine(path)): \(oneLine(reason))"
        }
    }
}

/// Keeps a message on one line and short: names and paths come from the command line or the
/// database and may hold control characters (a newline would forge a second log line).
func oneLine(_ text: String, limit: Int = 200) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        if scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" {
            out += "?"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return text.unicodeScalars.count > limit ? out + "..." : out
}
