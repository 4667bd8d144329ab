import ArgumentParser
import Foundation
import WharfUsers

/// `wharf user add|list|remove|passwd|update`: manages the embedded user store.
///
/// Every subcommand validates all of its input before it writes anything, and reports a failure as
/// one `Error: ...` line on stderr with a non-zero exit. Passwords come only from stdin and are
/// never printed.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage users.",
        subcommands: [Add.self, List.self, Remove.self, Passwd.self, Update.self]
    )
}

/// `--data-dir`, shared by every subcommand.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory holding users.sqlite.")
    var path = "./wharf-data"

    func openStore() throws(UserStoreError) -> UserStore {
        try UserStore(dataDirectory: path)
    }
}

extension UserCommand {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user with a password and/or public keys.")

        @Argument(help: "User name: 1-32 characters of a-z A-Z 0-9 . _ -")
        var name: String
        @OptionGroup var dataDirectory: DataDirectoryOption
        @Flag(help: "Read the password from the first line of stdin.")
        var passwordStdin = false
        @Option(name: .customLong("authorized-key"), help: ArgumentHelp(
            "A public key line, or a file of them (authorized_keys or .pub). Repeatable.", valueName: "key-or-file"))
        var authorizedKeys: [String] = []
        @Option(help: "Home directory (default: DATA_DIR/files/NAME); created with mode 0700 if missing.")
        var home: String?

        func run() async throws {
            try reportingErrors {
                try checkName(name)
                let keys = try loadKeys(authorizedKeys)
                let password = passwordStdin ? try readPassword() : nil
                let homePath = home.map(HomeDirectory.absolute)
                    ?? HomeDirectory.defaultPath(dataDirectory: dataDirectory.path, user: name)
                // Hashing writes nothing, so it can come before the checks that need the record.
                let passwordHash = try password.map { password throws(UserStoreError) in
                    try PasswordHasher.hash(password: password)
                }
                let record = UserRecord(name: name, home: homePath, passwordHash: passwordHash, authorizedKeys: keys)
                try record.validate()
                let store = try dataDirectory.openStore()
                guard try store.user(named: name) == nil else { throw UserStoreError.duplicateUser(name) }
                let created = try HomeDirectory.prepare(homePath)
                do {
                    try store.add(record)
                } catch {
                    if created { HomeDirectory.removeIfEmpty(homePath) }
                    throw error
                }
                print("added user \(name) (home \(homePath))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users and how they authenticate.")

        @OptionGroup var dataDirectory: DataDirectoryOption
        @Flag(help: "Print JSON: name, home, password (true/false), keys (algorithm, fingerprint, comment).")
        var json = false

        func run() async throws {
            try reportingErrors {
                let users = try dataDirectory.openStore().allUsers()
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    let data = try encoder.encode(users.map(UserListing.init))
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    for user in users {
                        print("\(user.name)\t\(user.home)\t\(authMethods(user))")
                    }
                }
            }
        }

        /// `password`, `2 keys`, or `password, 1 key`.
        private func authMethods(_ user: UserRecord) -> String {
            var methods: [String] = []
            if user.passwordHash != nil { methods.append("password") }
            let count = user.authorizedKeys.count
            if count > 0 { methods.append(count == 1 ? "1 key" : "\(count) keys") }
            return methods.joined(separator: ", ")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user (their home directory is kept).")

        @Argument var name: String
        @OptionGroup var dataDirectory: DataDirectoryOption

        func run() async throws {
            try reportingErrors {
                try checkName(name)
                try dataDirectory.openStore().remove(named: name)
                print("removed user \(name)")
            }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password, read from stdin.")

        @Argument var name: String
        @OptionGroup var dataDirectory: DataDirectoryOption
        @Flag(help: "Read the password from the first line of stdin (required).")
        var passwordStdin = false

        func run() async throws {
            try reportingErrors {
                try checkName(name)
                guard passwordStdin else { throw UserCommandError.passwordStdinRequired }
                let password = try readPassword()
                let store = try dataDirectory.openStore()
                guard try store.user(named: name) != nil else { throw UserStoreError.unknownUser(name) }
                try store.setPasswordHash(PasswordHasher.hash(password: password), forUser: name)
                print("changed password for \(name)")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a user's keys, home or password login.")

        @Argument var name: String
        @OptionGroup var dataDirectory: DataDirectoryOption
        @Option(name: .customLong("add-key"), help: ArgumentHelp(
            "Add a public key line, or every key in a file. Repeatable.", valueName: "key-or-file"))
        var addKeys: [String] = []
        @Option(name: .customLong("remove-key"), help: ArgumentHelp(
            "Remove a public key (matched by key, not comment), or every key in a file. Repeatable.",
            valueName: "key-or-file"))
        var removeKeys: [String] = []
        @Option(help: "New home directory; created with mode 0700 if missing.")
        var home: String?
        @Flag(help: "Turn off password login (the user must keep at least one key).")
        var noPassword = false

        func run() async throws {
            try reportingErrors {
                try checkName(name)
                guard !addKeys.isEmpty || !removeKeys.isEmpty || home != nil || noPassword else {
                    throw UserCommandError.nothingToUpdate
                }
                let added = try loadKeys(addKeys)
                let removed = try loadKeys(removeKeys)
                let store = try dataDirectory.openStore()
                guard var record = try store.user(named: name) else { throw UserStoreError.unknownUser(name) }

                for key in removed {
                    guard record.authorizedKeys.contains(where: { $0.isSameKey(as: key) }) else {
                        throw UserCommandError.keyNotFound(user: name, fingerprint: key.fingerprint)
                    }
                    record.authorizedKeys.removeAll { $0.isSameKey(as: key) }
                }
                for key in added {
                    guard !record.authorizedKeys.contains(where: { $0.isSameKey(as: key) }) else {
                        throw UserCommandError.keyAlreadyPresent(user: name, fingerprint: key.fingerprint)
                    }
                    record.authorizedKeys.append(key)
                }
                if noPassword { record.passwordHash = nil }
                if let home { record.home = HomeDirectory.absolute(home) }
                try record.validate()

                let created = home != nil ? try HomeDirectory.prepare(record.home) : false
                do {
                    try store.update(record)
                } catch {
                    if created { HomeDirectory.removeIfEmpty(record.home) }
                    throw error
                }
                print("updated user \(name)")
            }
        }
    }
}

/// Failures that belong to the command line rather than to the store.
enum UserCommandError: Error, CustomStringConvertible {
    case passwordStdinRequired
    case noPasswordOnStdin
    case nothingToUpdate
    case keyNotFound(user: String, fingerprint: String)
    case keyAlreadyPresent(user: String, fingerprint: String)

    var description: String {
        switch self {
        case .passwordStdinRequired:
            "the password is read from stdin: pass --password-stdin"
        case .noPasswordOnStdin:
            "no password on stdin"
        case .nothingToUpdate:
            "nothing to update: give --add-key, --remove-key, --home or --no-password"
        case .keyNotFound(let user, let fingerprint):
            "user \(user) has no key \(fingerprint)"
        case .keyAlreadyPresent(let user, let fingerprint):
            "user \(user) already has key \(fingerprint)"
        }
    }
}

/// JSON shape of `wharf user list --json`. Never includes the password hash.
private struct UserListing: Encodable {
    struct Key: Encodable {
        var algorithm: String
        var fingerprint: String
        var comment: String
    }

    var name: String
    var home: String
    var password: Bool
    var keys: [Key]

    init(_ user: UserRecord) {
        name = user.name
        home = user.home
        password = user.passwordHash != nil
        keys = user.authorizedKeys.map { Key(algorithm: $0.algorithm, fingerprint: $0.fingerprint, comment: $0.comment) }
    }
}

/// Runs `body`; any failure becomes one `Error: ...` line on stderr and exit status 1, instead of
/// ArgumentParser's report, which may add a usage block.
private func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        let message = String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        throw ExitCode.failure
    }
}

private func checkName(_ name: String) throws(UserStoreError) {
    guard UserRecord.isValidName(name) else { throw .invalidUsername(name) }
}

/// Every key named by the `KEY_OR_FILE` arguments, in order.
private func loadKeys(_ arguments: [String]) throws(UserStoreError) -> [AuthorizedKey] {
    var keys: [AuthorizedKey] = []
    for argument in arguments {
        keys += try AuthorizedKey.load(keyOrFile: argument)
    }
    return keys
}

/// The first line of stdin without its line ending (`\n` or `\r\n`); everything else is kept,
/// spaces included, since they may be part of the password.
private func readPassword() throws -> String {
    guard let line = readLine(strippingNewline: true) else { throw UserCommandError.noPasswordOnStdin }
    guard !line.isEmpty else { throw UserStoreError.emptyPassword }
    return line
}
