import Testing
import WharfClient

@Suite("sftp:// URLs")
struct RemoteLocationTests {
    @Test(arguments: [
        ("sftp://example.com", nil, "example.com", 22, "."),
        ("sftp://example.com/", nil, "example.com", 22, "."),
        ("sftp://alice@example.com:2222/docs/a.txt", "alice", "example.com", 2222, "docs/a.txt"),
        ("sftp://h//etc/motd", nil, "h", 22, "/etc/motd"),
        ("sftp://h/~/docs", nil, "h", 22, "docs"),
        ("sftp://h/~", nil, "h", 22, "."),
        ("sftp://[::1]:2022/x%20y", nil, "::1", 2022, "x y"),
        ("SFTP://bob%40corp@h/a", "bob@corp", "h", 22, "a"),
    ] as [(String, String?, String, Int, String)])
    func parses(text: String, user: String?, host: String, port: Int, path: String) throws {
        let location = try RemoteLocation(parsing: text)
        #expect(location.user == user)
        #expect(location.host == host)
        #expect(location.port == port)
        #expect(location.path == path)
    }

    @Test func refusesWhatIsNotAnSFTPURL() {
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "ftp://h/x") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "sftp:///x") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "sftp://h:99999/x") }
        #expect(throws: RemoteLocation.ParseError.passwordInURL) { try RemoteLocation(parsing: "sftp://u:pw@h/x") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "sftp://h/%zz") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "/just/a/path") }
    }

    @Test func describesItselfAsAURL() throws {
        #expect(try RemoteLocation(parsing: "sftp://a@h:2222//abs/p").description == "sftp://a@h:2222//abs/p")
        #expect(try RemoteLocation(parsing: "sftp://h/rel").description == "sftp://h/rel")
    }
}
