import Logging
import WharfUsers

/// On a first start with no users, creates `wharf` with a random password shown once in the log.
enum FirstStart {
    static let defaultUserName = "wharf"

    static func createDefaultUserIfNeeded(store: UserStore, dataDirectory: String, logger: Logger) throws {
        guard try store.count() == 0 else { return }
        let password = randomPassword(length: 20)
        let home = HomeDirectory.defaultPath(dataDirectory: dataDirectory, user: defaultUserName)
        _ = try HomeDirectory.prepare(home)
        let hash = try PasswordHasher.hash(password: password)
        try store.add(UserRecord(name: defaultUserName, home: home, passwordHash: hash))
        logger.notice(
            "created user \(defaultUserName) (home \(home)) with password: \(password) -- shown once; change it with `wharf user passwd \(defaultUserName) --password-stdin`"
        )
    }

    /// Letters and digits without look-alikes, from the system's CSPRNG.
    static func randomPassword(length: Int) -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }
}
