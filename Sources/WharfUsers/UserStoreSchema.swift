import GRDB

/// The database schema, as an append-only list of migrations: never edit a shipped one, add the next.
enum UserStoreSchema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users and authorized keys") { db in
            try db.execute(sql: """
                CREATE TABLE user (
                    name TEXT NOT NULL PRIMARY KEY,
                    home TEXT NOT NULL,
                    password_hash TEXT,
                    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                );
                CREATE TABLE authorized_key (
                    -- The rowid keeps the keys in the order they were given.
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_name TEXT NOT NULL REFERENCES user(name) ON DELETE CASCADE ON UPDATE CASCADE,
                    algorithm TEXT NOT NULL,
                    blob BLOB NOT NULL,
                    comment TEXT NOT NULL DEFAULT '',
                    UNIQUE (user_name, algorithm, blob)
                );
                """)
        }
        return migrator
    }()
}
