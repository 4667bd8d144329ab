import Foundation
import Testing
@testable import WharfUsers

/// The server's store answers from memory while users.sqlite is unchanged, and sees every change
/// made through another connection (another process's `wharf user`) at its very next read.
@Suite struct UserRecordCacheTests {
    static let firstHash = UserStoreTests.someHash
    static let secondHash = "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$AbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU"

    func record(_ name: String, in dir: TemporaryDirectory, hash: String = Self.firstHash) -> UserRecord {
        UserRecord(name: name, home: dir.path + "/files/" + name, passwordHash: hash)
    }

    /// A store holding alice, and a watch on its database file.
    func watchedStore(in dir: TemporaryDirectory) throws -> (UserStore, DatabaseFileWatch, path: String) {
        let store = try UserStore(dataDirectory: dir.path)
        try store.add(record("alice", in: dir))
        let path = dir.path + "/" + UserStore.databaseFileName
        let watch = try #require(
            DatabaseFileWatch.make(databasePath: path, directory: dir.path, fileName: UserStore.databaseFileName))
        return (store, watch, path)
    }

    @Test func changesThroughAnotherConnectionAreSeenAtOnce() throws {
        let dir = try TemporaryDirectory()
        let server = try UserStore(dataDirectory: dir.path, cachingRecords: true)
        let command = try UserStore(dataDirectory: dir.path)
        #expect(server.cachesRecords)
        #expect(!command.cachesRecords)

        #expect(try server.user(named: "alice") == nil)  // an unknown name is remembered too
        try command.add(record("alice", in: dir))
        #expect(try server.user(named: "alice") == record("alice", in: dir))
        for round in 0..<20 {
            let hash = round.isMultiple(of: 2) ? Self.secondHash : Self.firstHash
            try command.setPasswordHash(hash, forUser: "alice")
            #expect(try server.user(named: "alice")?.passwordHash == hash)
            #expect(try server.user(named: "alice")?.passwordHash == hash)
        }
        try command.remove(named: "alice")
        #expect(try server.user(named: "alice") == nil)
    }

    /// What an event loop may ask: an answer only from memory, and none once the file changed.
    @Test func cachedUserAnswersOnlyWhatWasReadUnderTheCurrentFile() throws {
        let dir = try TemporaryDirectory()
        let server = try UserStore(dataDirectory: dir.path, cachingRecords: true)
        let command = try UserStore(dataDirectory: dir.path)
        try command.add(record("alice", in: dir))
        #expect(server.cachedUser(named: "alice") == nil, "not read yet: no answer")
        _ = try server.user(named: "alice")
        _ = try server.user(named: "nobody")
        #expect(server.cachedUser(named: "alice") == .some(record("alice", in: dir)))
        #expect(server.cachedUser(named: "nobody") == .some(nil), "known not to exist")
        try command.setPasswordHash(Self.secondHash, forUser: "alice")
        #expect(server.cachedUser(named: "alice") == nil, "changed since: no answer")
        #expect(try server.user(named: "alice")?.passwordHash == Self.secondHash)
        #expect(server.cachedUser(named: "alice")??.passwordHash == Self.secondHash)
        // A store that keeps no records never answers.
        _ = try command.user(named: "alice")
        #expect(command.cachedUser(named: "alice") == nil)
    }

    @Test func readsDoNotCountAsChanges() throws {
        let dir = try TemporaryDirectory()
        let (store, watch, _) = try watchedStore(in: dir)
        let before = try #require(watch.generation())
        for _ in 0..<5 { _ = try store.user(named: "alice") }
        _ = try store.allUsers()
        #expect(watch.generation() == before)
        try store.setPasswordHash(Self.secondHash, forUser: "alice")
        let after = try #require(watch.generation())
        #expect(after != before)
        #expect(watch.generation() == after)
        // Other files of the data directory are not the database.
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path + "/ssh_host_ed25519_key"))
        #expect(watch.generation() == after)
    }

    @Test func aDatabaseMovedAwayTurnsTheWatchOff() throws {
        let dir = try TemporaryDirectory()
        let (_, watch, path) = try watchedStore(in: dir)
        #expect(watch.generation() != nil)
        #expect(rename(path, path + ".old") == 0)
        #expect(watch.generation() == nil)
        #expect(watch.generation() == nil)  // for good
    }
}
