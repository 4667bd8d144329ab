import Foundation
import Testing
@testable import WharfUsers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct UserStoreTests {
    /// A cheap, valid hash (verifying it is never needed here), so tests do not pay for scrypt.
    static let someHash = "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU"

    func alice(in dir: TemporaryDirectory) throws -> UserRecord {
        UserRecord(name: "alice", home: dir.path + "/files/alice", passwordHash: Self.someHash,
                   authorizedKeys: [try AuthorizedKey(line: KeyFixtures.ed25519)])
    }

    @Test func addListRemove() throws {
        let dir = try TemporaryDirectory()
        let store = try UserStore(dataDirectory: dir.path)
        #expect(try store.count() == 0)
        let alice = try alice(in: dir)
        let bob = UserRecord(name: "bob", home: "/srv/bob",
                             authorizedKeys: [try AuthorizedKey(line: KeyFixtures.ecdsa256),
                                              try AuthorizedKey(line: KeyFixtures.ecdsa521)])
        try store.add(bob)
        try store.add(alice)
        #expect(try store.count() == 2)
        #expect(try store.user(named: "alice") == alice)
        #expect(try store.user(named: "bob") == bob)  // key order preserved
        #expect(try store.user(named: "carol") == nil)
        #expect(try store.allUsers().map(\.name) == ["alice", "bob"])

        try store.remove(named: "alice")
        #expect(try store.user(named: "alice") == nil)
        #expect(try store.allUsers() == [bob])
    }

    @Test func duplicateAndUnknownUsers() throws {
        let dir = try TemporaryDirectory()
        let store = try UserStore(dataDirectory: dir.path)
        let alice = try alice(in: dir)
        try store.add(alice)
        #expect(throws: UserStoreError.duplicateUser("alice")) { try store.add(alice) }
        var shouting = alice
        shouting.name = "ALICE"
        #expect(throws: UserStoreError.duplicateUser("ALICE")) { try store.add(shouting) }
        #expect(throws: UserStoreError.unknownUser("bob")) { try store.remove(named: "bob") }
        #expect(throws: UserStoreError.unknownUser("bob")) { try store.setPasswordHash(nil, forUser: "bob") }
        var bob = alice
        bob.name = "bob"
        #expect(throws: UserStoreError.unknownUser("bob")) { try store.update(bob) }
        #expect(try store.allUsers() == [alice])
    }

    @Test func refusesInvalidRecords() throws {
        let dir = try TemporaryDirectory()
        let store = try UserStore(dataDirectory: dir.path)
        let key = try AuthorizedKey(line: KeyFixtures.ed25519)
        for name in ["", "-rf", ".hidden", "..", "a/b", "with space", "ünïcode", String(repeating: "x", count: 33)] {
            #expect(throws: UserStoreError.invalidUsername(name)) {
                try store.add(UserRecord(name: name, home: "/tmp/x", authorizedKeys: [key]))
            }
        }
        #expect(throws: UserStoreError.homeNotAbsolute("rel/home")) {
            try store.add(UserRecord(name: "carol", home: "rel/home", authorizedKeys: [key]))
        }
        #expect(throws: UserStoreError.noAuthenticationMethod("carol")) {
            try store.add(UserRecord(name: "carol", home: "/tmp/x"))
        }
        #expect(throws: UserStoreError.malformedPasswordHash) {
            try store.add(UserRecord(name: "carol", home: "/tmp/x", passwordHash: "plaintext"))
        }
        #expect(try store.count() == 0)
        #expect(UserRecord.isValidName("a.b_c-D9"))
        #expect(UserRecord.isValidName(String(repeating: "x", count: 32)))
    }

    @Test func passwordAndUpdate() throws {
        let dir = try TemporaryDirectory()
        let store = try UserStore(dataDirectory: dir.path)
        var alice = try alice(in: dir)
        try store.add(alice)

        try store.setPasswordHash(nil, forUser: "alice")
        #expect(try store.user(named: "alice")?.passwordHash == nil)
        // Without a password, removing the last key would lock the user out for good.
        alice.passwordHash = nil
        alice.authorizedKeys = []
        #expect(throws: UserStoreError.noAuthenticationMethod("alice")) { try store.update(alice) }

        let ecdsa = try AuthorizedKey(line: KeyFixtures.ecdsa384)
        alice.authorizedKeys = [ecdsa, ecdsa]  // repeats are stored once
        alice.home = "/elsewhere/alice"
        try store.update(alice)
        #expect(try store.user(named: "alice")?.authorizedKeys == [ecdsa])
        #expect(try store.user(named: "alice")?.home == "/elsewhere/alice")

        try store.setPasswordHash(Self.someHash, forUser: "alice")
        #expect(try store.user(named: "alice")?.passwordHash == Self.someHash)
        #expect(throws: UserStoreError.malformedPasswordHash) { try store.setPasswordHash("x", forUser: "alice") }
    }

    @Test func removingAUserRemovesTheirKeys() throws {
        let dir = try TemporaryDirectory()
        let store = try UserStore(dataDirectory: dir.path)
        try store.add(try alice(in: dir))
        try store.remove(named: "alice")
        // Same key for a new user named alike: no leftover row may clash or leak into the new account.
        try store.add(try alice(in: dir))
        #expect(try store.user(named: "alice")?.authorizedKeys.count == 1)
    }

    @Test func databaseFileIsPrivate() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/" + UserStore.databaseFileName
        _ = try UserStore(dataDirectory: dir.path)
        #expect(try mode(of: path) == 0o600)

        // An existing file with loose permissions is tightened on open.
        #expect(chmod(path, 0o644) == 0)
        let store = try UserStore(dataDirectory: dir.path)
        try store.add(try alice(in: dir))
        #expect(try mode(of: path) == 0o600)
    }

    @Test func reopeningKeepsDataAndMigrationIsIdempotent() throws {
        let dir = try TemporaryDirectory()
        let alice = try alice(in: dir)
        do {
            let store = try UserStore(dataDirectory: dir.path)
            try store.add(alice)
        }
        for _ in 0..<3 {
            let store = try UserStore(dataDirectory: dir.path)
            #expect(try store.allUsers() == [alice])
        }
        // Two open stores on one file (server and CLI) see each other's writes.
        let first = try UserStore(dataDirectory: dir.path)
        let second = try UserStore(dataDirectory: dir.path)
        try first.remove(named: "alice")
        #expect(try second.count() == 0)
    }

    @Test func refusesMissingOrUnusableDataDirectory() throws {
        let dir = try TemporaryDirectory()
        let missing = dir.path + "/nope"
        #expect(throws: UserStoreError.dataDirectoryMissing(missing)) { try UserStore(dataDirectory: missing) }
        let file = dir.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(throws: UserStoreError.dataDirectoryNotADirectory(file)) { try UserStore(dataDirectory: file) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    // An unwritable data directory is tested in tests/interop/test_user_cli.py, which runs the
    // binary as an unprivileged user: root ignores directory permissions, and CI runs as root.

    @Test func errorDescriptionsStayOnOneLine() {
        let error = UserStoreError.invalidUsername("evil\nINFO: forged log line")
        #expect(!error.description.contains("\n"))
    }

    private func mode(of path: String) throws -> mode_t {
        var info = stat()
        try #require(stat(path, &info) == 0)
        return info.st_mode & 0o777
    }
}
