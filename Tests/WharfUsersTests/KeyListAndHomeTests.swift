import Foundation
import Testing
@testable import WharfUsers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct KeyListTests {
    @Test func skipsBlankLinesAndComments() throws {
        let text = "# keys\n\n\(KeyFixtures.ed25519)\r\n   \n\t# indented comment\n\(KeyFixtures.ecdsa384)\n"
        let keys = try AuthorizedKey.parseList(text, source: "authorized_keys")
        #expect(keys.map(\.algorithm) == ["ssh-ed25519", "ecdsa-sha2-nistp384"])
    }

    @Test func namesTheBadLine() {
        let text = "\(KeyFixtures.ed25519)\n# fine\n\(KeyFixtures.rsa)\n"
        #expect(throws: UserStoreError.inKeyFile(path: "keys", line: 3, .rsaKeyNotSupported)) {
            try AuthorizedKey.parseList(text, source: "keys")
        }
        #expect(throws: UserStoreError.noKeysInFile("keys")) { try AuthorizedKey.parseList("# none\n", source: "keys") }
    }

    @Test func loadsKeyLineOrFile() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path + "/id.pub"
        try (KeyFixtures.ecdsa256 + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try AuthorizedKey.load(keyOrFile: file).map(\.algorithm) == ["ecdsa-sha2-nistp256"])
        #expect(try AuthorizedKey.load(keyOrFile: KeyFixtures.ed25519).map(\.algorithm) == ["ssh-ed25519"])
        #expect(throws: UserStoreError.self) { try AuthorizedKey.load(keyOrFile: dir.path + "/missing.pub") }
        #expect(throws: UserStoreError.self) { try AuthorizedKey.load(keyOrFile: dir.path) }  // a directory
        #expect(throws: UserStoreError.self) { try AuthorizedKey.load(keyOrFile: "/dev/zero") }
    }
}

@Suite struct HomeDirectoryTests {
    @Test func createsPrivateDirectoriesOnce() throws {
        let dir = try TemporaryDirectory()
        let home = HomeDirectory.defaultPath(dataDirectory: dir.path, user: "alice")
        #expect(home == dir.path + "/files/alice")
        #expect(try HomeDirectory.prepare(home))
        #expect(try mode(of: home) == 0o700)
        #expect(try mode(of: dir.path + "/files") == 0o700)
        #expect(try HomeDirectory.prepare(home) == false)

        let file = dir.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        #expect(throws: UserStoreError.homeUnusable(path: file, reason: "not a directory")) {
            try HomeDirectory.prepare(file)
        }
        #expect(throws: UserStoreError.homeNotAbsolute("relative")) { try HomeDirectory.prepare("relative") }
    }

    @Test func absolutePathsAreNormalised() {
        #expect(HomeDirectory.absolute("/srv/a/../b/./c") == "/srv/b/c")
        #expect(HomeDirectory.absolute("rel").hasPrefix("/"))
    }

    private func mode(of path: String) throws -> mode_t {
        var info = stat()
        try #require(stat(path, &info) == 0)
        return info.st_mode & 0o777
    }
}
