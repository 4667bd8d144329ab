import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded user database: `DATA_DIR/users.sqlite`, mode 0600.
///
/// Calls are synchronous and may block on disk (and for up to `busyTimeout` on another process's
/// write lock, e.g. `wharf user add` while the server runs): call them from a thread pool, not an
/// event loop. The store keeps these invariants for every record: a valid name, an absolute home,
/// a well-formed password hash if any, and at least one way to authenticate.
public final class UserStore: Sendable {
    public static let databaseFileName = "users.sqlite"
    /// How long a write waits for another connection's lock before giving up.
    static let busyTimeout: TimeInterval = 5

    public let databasePath: String
    private let queue: DatabaseQueue
    /// For a server: records of recent logins, kept while the database file is unchanged.
    private let recentRecords: UserRecordCache?

    /// Opens (creating and migrating) `DATA_DIR/users.sqlite`. The data directory itself is never
    /// created here: a typo in `--data-dir` should fail, not scatter databases around.
    /// `cachingRecords`: `user(named:)` answers from memory while the database file has not changed
    /// (see `UserRecordCache`), where the file system lets that be known exactly.
    public init(dataDirectory: String, cachingRecords: Bool = false) throws(UserStoreError) {
        try Self.checkDataDirectory(dataDirectory)
        databasePath = URL(fileURLWithPath: dataDirectory).appendingPathComponent(Self.databaseFileName).path
        try Self.createPrivateFile(at: databasePath)
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        do {
            queue = try DatabaseQueue(path: databasePath, configuration: configuration)
            try UserStoreSchema.migrator.migrate(queue)
        } catch {
            throw Self.storeError(error)
        }
        recentRecords = cachingRecords
            ? DatabaseFileWatch.make(
                databasePath: databasePath, directory: dataDirectory, fileName: Self.databaseFileName
            ).map { UserRecordCache(watch: $0) }
            : nil
    }

    /// Whether `user(named:)` answers from memory while the database is unchanged (for tests and logs).
    public var cachesRecords: Bool { recentRecords != nil }

    public func user(named name: String) throws(UserStoreError) -> UserRecord? {
        guard let recentRecords else { return try readUser(named: name) }
        return try recentRecords.record(named: name) { () throws(UserStoreError) in try readUser(named: name) }
    }

    /// `user(named:)` when it can be answered from memory, without touching the database (`.some(nil)`:
    /// no such user); nil when it would take a read. For an event loop: see `UserRecordCache`.
    public func cachedUser(named name: String) -> UserRecord?? {
        recentRecords?.cachedRecord(named: name) ?? nil
    }

    private func readUser(named name: String) throws(UserStoreError) -> UserRecord? {
        // Every login asks, so this is one compiled-once statement in one implicit read transaction
        // (a consistent snapshot, and one round of SQLite's file locking): the user's row joined
        // with their keys, one row per key or a single row with NULL key columns. `read` would add
        // a transaction and the query_only pragma, each compiled again.
        do {
            return try queue.inDatabase { db in
                let statement = try db.cachedStatement(sql: """
                    SELECT user.name, user.home, user.password_hash,
                           authorized_key.algorithm, authorized_key.blob, authorized_key.comment
                    FROM user LEFT JOIN authorized_key ON authorized_key.user_name = user.name
                    WHERE user.name = ? ORDER BY authorized_key.id
                    """)
                let rows = try Row.fetchAll(statement, arguments: [name])
                guard let first = rows.first else { return nil }
                let keys = rows.filter { !$0.hasNull(atIndex: 3) }
                return try Self.record(first, keys: keys)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Every user, ordered by name.
    public func allUsers() throws(UserStoreError) -> [UserRecord] {
        try read { db in
            let keyRows = try Row.fetchAll(db, sql: "SELECT * FROM authorized_key ORDER BY id")
            let keysByUser = try Dictionary(grouping: keyRows) { row in
                try row.decode(String.self, forColumn: "user_name")
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM user ORDER BY name").map { row in
                try Self.record(row, keys: keysByUser[row.decode(String.self, forColumn: "name")] ?? [])
            }
        }
    }

    public func count() throws(UserStoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM user") ?? 0 }
    }

    /// Adds a new user. Names differing only in case count as duplicates: default homes are
    /// `files/NAME`, and those would collide on a case-insensitive file system.
    public func add(_ user: UserRecord) throws(UserStoreError) {
        try user.validate()
        try write { db in
            let clash = try Row.fetchOne(
                db, sql: "SELECT name FROM user WHERE lower(name) = lower(?)", arguments: [user.name])
            guard clash == nil else { throw UserStoreError.duplicateUser(user.name) }
            try db.execute(
                sql: "INSERT INTO user (name, home, password_hash) VALUES (?, ?, ?)",
                arguments: [user.name, user.home, user.passwordHash])
            try Self.insertKeys(user.uniqueKeys, for: user.name, db)
        }
    }

    /// Removes the user and their keys. Their home directory is left alone.
    public func remove(named name: String) throws(UserStoreError) {
        try write { db in
            try db.execute(sql: "DELETE FROM user WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { throw UserStoreError.unknownUser(name) }
        }
    }

    /// Sets or (with `nil`) clears the password. Clearing is refused if the user has no key left.
    public func setPasswordHash(_ hash: String?, forUser name: String) throws(UserStoreError) {
        try write { db in
            let keyCount = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM authorized_key WHERE user_name = ?", arguments: [name]) ?? 0
            guard try Row.fetchOne(db, sql: "SELECT name FROM user WHERE name = ?", arguments: [name]) != nil else {
                throw UserStoreError.unknownUser(name)
            }
            if let hash, !PasswordHasher.isWellFormed(hash) { throw UserStoreError.malformedPasswordHash }
            guard hash != nil || keyCount > 0 else { throw UserStoreError.noAuthenticationMethod(name) }
            try db.execute(sql: "UPDATE user SET password_hash = ? WHERE name = ?", arguments: [hash, name])
        }
    }

    /// Replaces the stored record of `user.name` (home, password hash and the whole key list).
    public func update(_ user: UserRecord) throws(UserStoreError) {
        try user.validate()
        try write { db in
            try db.execute(
                sql: "UPDATE user SET home = ?, password_hash = ? WHERE name = ?",
                arguments: [user.home, user.passwordHash, user.name])
            guard db.changesCount > 0 else { throw UserStoreError.unknownUser(user.name) }
            try db.execute(sql: "DELETE FROM authorized_key WHERE user_name = ?", arguments: [user.name])
            try Self.insertKeys(user.uniqueKeys, for: user.name, db)
        }
    }

    // MARK: - Plumbing

    private func read<T>(_ body: (Database) throws -> T) throws(UserStoreError) -> T {
        do { return try queue.read(body) } catch { throw Self.storeError(error) }
    }

    /// Runs `body` in one transaction: any throw rolls everything back, so a failed call changes nothing.
    private func write<T>(_ body: (Database) throws -> T) throws(UserStoreError) -> T {
        do { return try queue.write(body) } catch { throw Self.storeError(error) }
    }

    private static func storeError(_ error: any Error) -> UserStoreError {
        switch error {
        case let error as UserStoreError:
            return error
        case let error as DatabaseError:
            // Only the SQLite message: GRDB's full description would add the SQL statement.
            return .database(error.message ?? "SQLite error \(error.resultCode.rawValue)")
        default:
            return .database(String(describing: error))
        }
    }

    private static func insertKeys(_ keys: [AuthorizedKey], for name: String, _ db: Database) throws {
        for key in keys {
            try db.execute(
                sql: "INSERT INTO authorized_key (user_name, algorithm, blob, comment) VALUES (?, ?, ?, ?)",
                arguments: [name, key.algorithm, Data(key.blob), key.comment])
        }
    }

    private static func record(_ row: Row, keys: [Row]) throws -> UserRecord {
        try UserRecord(
            name: row.decode(String.self, forColumn: "name"),
            home: row.decode(String.self, forColumn: "home"),
            passwordHash: row.decode(String?.self, forColumn: "password_hash"),
            authorizedKeys: keys.map { key in
                // Re-validated on the way out: a hand-edited row must not reach the SSH layer.
                try AuthorizedKey(
                    algorithm: key.decode(String.self, forColumn: "algorithm"),
                    blob: Array(key.decode(Data.self, forColumn: "blob")),
                    comment: key.decode(String.self, forColumn: "comment"))
            })
    }

    private static func checkDataDirectory(_ path: String) throws(UserStoreError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw errno == ENOTDIR ? .dataDirectoryNotADirectory(path) : .dataDirectoryMissing(path)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw .dataDirectoryNotADirectory(path) }
        // SQLite creates its journal next to the database, so the directory itself must be writable.
        guard access(path, W_OK | X_OK) == 0 else { throw .dataDirectoryNotWritable(path) }
    }

    /// Creates the database file 0600 before SQLite sees it (SQLite would apply the umask), and
    /// tightens an existing one. SQLite gives its journal files the database file's mode.
    private static func createPrivateFile(at path: String) throws(UserStoreError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw errno == EACCES || errno == EROFS || errno == EPERM
                ? .dataDirectoryNotWritable(URL(fileURLWithPath: path).deletingLastPathComponent().path)
                : .database("cannot open \(path): \(reason)")
        }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else {
            throw .database("cannot set mode 0600 on \(path): \(String(cString: strerror(errno)))")
        }
    }
}
