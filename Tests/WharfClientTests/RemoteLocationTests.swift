import Testing
import WharfClient

@Suite("sftp:// and ftp:// URLs")
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

    @Test func refusesWhatIsNotASupportedURL() {
        #expect(throws: RemoteLocation.ParseError.unsupportedScheme("http")) { try RemoteLocation(parsing: "http://h/x") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "sftp:///x") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "sftp://h:99999/x") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "sftp://h/%zz") }
        #expect(throws: RemoteLocation.ParseError.self) { try RemoteLocation(parsing: "/just/a/path") }
    }

    @Test(arguments: [
        ("ftp://h/x", RemoteLocation.Scheme.ftp, 21),
        ("ftpes://h/x", .ftpes, 21),
        ("ftps://h/x", .ftps, 990),
        ("FTP://h:2121/x", .ftp, 2121),
        ("sftp://h/x", .sftp, 22),
    ])
    func knowsEachSchemeAndItsPort(text: String, scheme: RemoteLocation.Scheme, port: Int) throws {
        let location = try RemoteLocation(parsing: text)
        #expect(location.scheme == scheme)
        #expect(location.port == port)
        #expect(location.path == "x")
    }

    @Test func takesAPasswordFromTheURLAndNeverShowsIt() throws {
        let location = try RemoteLocation(parsing: "ftp://u%40corp:p%3Aw%2F@h/x")
        #expect(location.user == "u@corp")
        #expect(location.password == "p:w/")
        #expect(location.description == "ftp://u@corp@h/x")
        #expect(try RemoteLocation(parsing: "sftp://u:@h/x").password == "")
    }

    @Test func describesItselfAsAURL() throws {
        #expect(try RemoteLocation(parsing: "ftps://h:990/p").description == "ftps://h/p")
        #expect(try RemoteLocation(parsing: "sftp://a@h:2222//abs/p").description == "sftp://a@h:2222//abs/p")
        #expect(try RemoteLocation(parsing: "sftp://h/rel").description == "sftp://h/rel")
    }
}
