import Foundation
import NIOSSH
import Testing

@testable import WharfClient

@Suite("known_hosts")
struct KnownHostsTests {
    typealias Keys = OpenSSHKeyFixtures

    static let ed = key(Keys.ed25519Public)
    static let otherEd = key(Keys.encryptedEd25519Public)
    static let revokedEd = key(Keys.ed25519PKCS8Public)
    static let p256 = key(Keys.p256Public)
    static let p384 = key(Keys.p384Public)

    static func key(_ line: String) -> NIOSSHPublicKey {
        do {
            return try NIOSSHPublicKey(openSSHPublicKey: line)
        } catch {
            fatalError("fixture key \(line): \(error)")
        }
    }

    /// `ssh-keygen -H` output for `hashed.example.org` (the ed25519 key) and `[127.0.0.1]:2222` (P-256).
    static let hashedLines = [
        "|1|PyRlMF8Apa+r28hFyOGyf144C1w=|q9pTTtoWeOMYK6kB9yGxOCzN8yA= \(Keys.ed25519Public)",
        "|1|Ka4rYv2et4QFfQ54uuFpKW+4Qm8=|EhCZ40A+rVuJBU6SIIW0tSYkqR8= \(Keys.p256Public)",
    ]

    static let lines: [String] = [
        "# known hosts for the tests",  // 1
        "",  // 2
        "wharf.example.com,192.0.2.10 \(Keys.ed25519Public) ed@wharf",  // 3
        "[127.0.0.1]:2222 \(Keys.p256Public)",  // 4
        "*.wild.example.net,!bad.wild.example.net \(Keys.ed25519Public)",  // 5
        "host?.example.org \(Keys.p384Public)",  // 6
        "rsa.example.com \(Keys.rsaPublic)",  // 7
        "changed.example.com \(Keys.encryptedEd25519Public)",  // 8
        "changed.example.com \(Keys.p256Public)",  // 9
        "changed.example.com \(Keys.encryptedEd25519Public)",  // 10
        "@revoked * \(Keys.ed25519PKCS8Public)",  // 11
        "revoked.example.com \(Keys.ed25519PKCS8Public)",  // 12
        "@cert-authority *.ca.example.com \(Keys.ed25519Public)",  // 13
        "@unknown-marker marked.example.com \(Keys.ed25519Public)",  // 14
        "\ttabbed.example.com\t\(Keys.ed25519Public)  ",  // 15
        "   # an indented comment with.example.com ssh-ed25519 AAAA",  // 16
        "broken.example.com ssh-ed25519 not-base64!",  // 17
        "short.example.com ssh-ed25519",  // 18
        "rsa1.example.com 2048 65537 12345678901234567890",  // 19
        "mixed.example.com \(Keys.rsaPublic)",  // 20
        "mixed.example.com \(Keys.p384Public)",  // 21
    ] + hashedLines  // 22, 23

    static let file = KnownHosts(contents: lines.joined(separator: "\n") + "\n")

    @Test func plainEntries() {
        #expect(Self.file.verify(host: "wharf.example.com", port: 22, key: Self.ed) == .trusted)
        #expect(Self.file.verify(host: "192.0.2.10", port: 22, key: Self.ed) == .trusted)
        #expect(Self.file.verify(host: "WHARF.Example.COM", port: 22, key: Self.ed) == .trusted)
        #expect(Self.file.verify(host: "tabbed.example.com", port: 22, key: Self.ed) == .trusted)
        // A bare host name is for port 22 only.
        #expect(Self.file.verify(host: "wharf.example.com", port: 2222, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "nowhere.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "example.com", port: 22, key: Self.ed) == .unknown)
    }

    @Test func bracketedPortForm() {
        #expect(Self.file.verify(host: "127.0.0.1", port: 2222, key: Self.p256) == .trusted)
        #expect(Self.file.verify(host: "127.0.0.1", port: 22, key: Self.p256) == .unknown)
        #expect(Self.file.verify(host: "127.0.0.1", port: 2223, key: Self.p256) == .unknown)
        #expect(KnownHosts.entry(host: "127.0.0.1", port: 2222, key: Self.p256) == "[127.0.0.1]:2222 \(Keys.p256Public)")
        #expect(KnownHosts.entry(host: "Wharf.Example.com", port: 22, key: Self.ed) == "wharf.example.com \(Keys.ed25519Public)")
        #expect(KnownHosts.entry(host: "::1", port: 2200, key: Self.ed) == "[::1]:2200 \(Keys.ed25519Public)")
    }

    @Test func hashedEntriesFromSSHKeygen() {
        let hashed = KnownHosts(contents: Self.hashedLines.joined(separator: "\n"))
        #expect(hashed.verify(host: "hashed.example.org", port: 22, key: Self.ed) == .trusted)
        #expect(hashed.verify(host: "Hashed.Example.Org", port: 22, key: Self.ed) == .trusted)
        #expect(hashed.verify(host: "127.0.0.1", port: 2222, key: Self.p256) == .trusted)
        #expect(hashed.verify(host: "127.0.0.1", port: 22, key: Self.p256) == .unknown)
        #expect(hashed.verify(host: "hashed.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(hashed.verify(host: "hashed.example.org", port: 22, key: Self.otherEd) == .changed(knownKeyType: "ssh-ed25519", line: 1))
        #expect(Self.file.verify(host: "127.0.0.1", port: 2222, key: Self.p256) == .trusted)
    }

    @Test func wildcardsAndNegation() {
        #expect(Self.file.verify(host: "a.wild.example.net", port: 22, key: Self.ed) == .trusted)
        #expect(Self.file.verify(host: "deep.a.wild.example.net", port: 22, key: Self.ed) == .trusted)
        #expect(Self.file.verify(host: "bad.wild.example.net", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "wild.example.net", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "host1.example.org", port: 22, key: Self.p384) == .trusted)
        #expect(Self.file.verify(host: "host12.example.org", port: 22, key: Self.p384) == .unknown)
        #expect(Self.file.verify(host: "host.example.org", port: 22, key: Self.p384) == .unknown)

        let match = { (text: String, pattern: String) in KnownHosts.wildcardMatch(Array(text.utf8), Array(pattern.utf8)) }
        #expect(match("", ""))
        #expect(match("", "*"))
        #expect(match("abc", "*"))
        #expect(match("abc", "a*c"))
        #expect(match("abbbc", "a*b*c"))
        #expect(match("abc", "???"))
        #expect(!match("abc", "??"))
        #expect(!match("abc", "a*d"))
        #expect(match("[10.0.0.1]:2222", "[10.0.0.*]:2222"))
        #expect(!match("[10.0.0.1]:2222", "10.0.0.*"))
        // Only a matching negation rejects; a non-matching one alone matches nothing.
        let negatedOnly = KnownHosts(contents: "!other.example.com \(Keys.ed25519Public)")
        #expect(negatedOnly.verify(host: "this.example.com", port: 22, key: Self.ed) == .unknown)
        let negationFirst = KnownHosts(contents: "!bad.example.com,*.example.com \(Keys.ed25519Public)")
        #expect(negationFirst.verify(host: "bad.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(negationFirst.verify(host: "good.example.com", port: 22, key: Self.ed) == .trusted)
    }

    @Test func changedKeysReportTheFirstLineOfTheirType() {
        #expect(Self.file.verify(host: "changed.example.com", port: 22, key: Self.ed) == .changed(knownKeyType: "ssh-ed25519", line: 8))
        #expect(Self.file.verify(host: "changed.example.com", port: 22, key: Self.otherEd) == .trusted)
        #expect(Self.file.verify(host: "changed.example.com", port: 22, key: Self.p256) == .trusted)
        // A key of another type only: ssh would ask, not warn.
        #expect(Self.file.verify(host: "changed.example.com", port: 22, key: Self.p384) == .unknown)
        #expect(Self.file.verify(host: "wharf.example.com", port: 22, key: Self.p256) == .unknown)
        #expect(Self.file.verify(host: "wharf.example.com", port: 22, key: Self.otherEd) == .changed(knownKeyType: "ssh-ed25519", line: 3))
        #expect(Self.file.knownKeyTypes(host: "changed.example.com", port: 22) == ["ssh-ed25519", "ecdsa-sha2-nistp256"])
    }

    @Test func revokedKeysWinOverEverything() {
        #expect(Self.file.verify(host: "revoked.example.com", port: 22, key: Self.revokedEd) == .revoked)
        #expect(Self.file.verify(host: "anything.example.com", port: 22, key: Self.revokedEd) == .revoked)
        #expect(Self.file.verify(host: "127.0.0.1", port: 2222, key: Self.revokedEd) == .revoked)
        // A revoked line is not a known key: other keys of its type stay unknown.
        #expect(Self.file.verify(host: "anything.example.com", port: 22, key: Self.ed) == .unknown)
        let scoped = KnownHosts(contents: "@revoked old.example.com \(Keys.ed25519Public)\nnew.example.com \(Keys.ed25519Public)")
        #expect(scoped.verify(host: "old.example.com", port: 22, key: Self.ed) == .revoked)
        #expect(scoped.verify(host: "new.example.com", port: 22, key: Self.ed) == .trusted)
    }

    @Test func markersCommentsAndBadLinesAreSkipped() {
        #expect(Self.file.verify(host: "x.ca.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "marked.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "with.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "broken.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "short.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.verify(host: "rsa1.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(KnownHosts(contents: "").verify(host: "a", port: 22, key: Self.ed) == .unknown)
        #expect(KnownHosts(contents: "\n\n#\n  \r\n").entries.isEmpty)
        // Garbage never traps.
        for text in ["|1|", "|1|x|y ssh-ed25519 AAAA", "@revoked", "@revoked *", ",,, ssh-ed25519 AAAA", "[ ] a b", "\u{0}\u{FFFF} \t"] {
            #expect(KnownHosts(contents: text).verify(host: "a", port: 22, key: Self.ed) == .unknown)
        }
    }

    @Test func rsaLinesAreSkippedButListed() {
        #expect(Self.file.verify(host: "rsa.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.knownKeyTypes(host: "rsa.example.com", port: 22) == ["ssh-rsa"])
        #expect(Self.file.verify(host: "mixed.example.com", port: 22, key: Self.p384) == .trusted)
        #expect(Self.file.verify(host: "mixed.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(Self.file.knownKeyTypes(host: "mixed.example.com", port: 22) == ["ssh-rsa", "ecdsa-sha2-nistp384"])
        #expect(Self.file.knownKeyTypes(host: "nowhere.example.com", port: 22) == [])
    }

    @Test func hashedEntriesWeWriteVerify() {
        let line = KnownHosts.entry(host: "Hashed.Example.org", port: 2222, key: Self.ed, hashed: true)
        #expect(line.hasPrefix("|1|"))
        #expect(line.hasSuffix(" \(Keys.ed25519Public)"))
        #expect(!line.lowercased().contains("hashed.example.org"))
        let file = KnownHosts(contents: line)
        #expect(file.verify(host: "hashed.example.org", port: 2222, key: Self.ed) == .trusted)
        #expect(file.verify(host: "hashed.example.org", port: 22, key: Self.ed) == .unknown)
        // A fresh salt each time.
        #expect(line != KnownHosts.entry(host: "hashed.example.org", port: 2222, key: Self.ed, hashed: true))
    }

    @Test func fingerprintsLikeSSHKeygen() {
        #expect(SSHKeyFingerprint.sha256(Self.ed) == Keys.ed25519Fingerprint)
        #expect(SSHKeyFingerprint.sha256(Self.p256) == Keys.p256Fingerprint)
        #expect(SSHKeyFingerprint.sha256(Self.p384) == Keys.p384Fingerprint)
    }

    // MARK: Files

    @Test func missingFileIsEmptyAndDirectoryIsAnError() throws {
        let directory = try ClientTestDirectory()
        let empty = try KnownHosts(path: directory.path + "/absent/known_hosts")
        #expect(empty.verify(host: "wharf.example.com", port: 22, key: Self.ed) == .unknown)
        #expect(throws: KnownHostsError.unreadable(path: directory.path, reason: "Is a directory")) {
            try KnownHosts(path: directory.path)
        }
        let path = directory.path + "/known_hosts"
        try Self.lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try KnownHosts(path: path)
        #expect(loaded.verify(host: "127.0.0.1", port: 2222, key: Self.p256) == .trusted)
        #expect(loaded.verify(host: "hashed.example.org", port: 22, key: Self.ed) == .trusted)
    }

    @Test func appendCreatesDirectoriesAndFileWithPrivateModes() throws {
        let directory = try ClientTestDirectory()
        let sshDirectory = directory.path + "/home/.ssh"
        let path = sshDirectory + "/known_hosts"
        try KnownHosts.append(entry: KnownHosts.entry(host: "127.0.0.1", port: 2222, key: Self.p256), to: path)
        try KnownHosts.append(entry: KnownHosts.entry(host: "wharf.example.com", port: 22, key: Self.ed, hashed: true), to: path)

        #expect(try Self.mode(of: sshDirectory) == 0o700)
        #expect(try Self.mode(of: directory.path + "/home") == 0o700)
        #expect(try Self.mode(of: path) == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("[127.0.0.1]:2222 \(Keys.p256Public)\n|1|"))
        #expect(text.hasSuffix("\n"))
        #expect(text.split(separator: "\n").count == 2)

        let file = try KnownHosts(path: path)
        #expect(file.verify(host: "127.0.0.1", port: 2222, key: Self.p256) == .trusted)
        #expect(file.verify(host: "wharf.example.com", port: 22, key: Self.ed) == .trusted)
        #expect(file.verify(host: "wharf.example.com", port: 22, key: Self.otherEd) == .changed(knownKeyType: "ssh-ed25519", line: 2))
    }

    @Test func appendKeepsAnExistingFileAndEndsItsLastLine() throws {
        let directory = try ClientTestDirectory()
        let path = directory.path + "/known_hosts"
        try "# mine\nold.example.com \(Keys.p384Public)".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, 0o644) == 0)
        try KnownHosts.append(entry: "new.example.com \(Keys.ed25519Public)", to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "# mine\nold.example.com \(Keys.p384Public)\nnew.example.com \(Keys.ed25519Public)\n")
        #expect(try Self.mode(of: path) == 0o644)
        #expect(throws: KnownHostsError.self) { try KnownHosts.append(entry: "a b\nc d", to: path) }
        #expect(throws: KnownHostsError.self) { try KnownHosts.append(entry: "  ", to: path) }
        #expect(throws: KnownHostsError.self) {
            try KnownHosts.append(entry: "x.example.com \(Keys.ed25519Public)", to: path + "/under-a-file")
        }
    }

    /// OpenSSH itself finds the entries Wharf writes.
    // ssh-keygen comes with openssh-client, which the test command installs: no skip.
    @Test
    func sshKeygenFindsOurEntries() throws {
        let directory = try ClientTestDirectory()
        let path = directory.path + "/known_hosts"
        try KnownHosts.append(entry: KnownHosts.entry(host: "127.0.0.1", port: 2222, key: Self.p256, hashed: true), to: path)
        try KnownHosts.append(entry: KnownHosts.entry(host: "plain.example.com", port: 22, key: Self.ed), to: path)
        for name in ["[127.0.0.1]:2222", "plain.example.com"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
            process.arguments = ["-F", name, "-f", path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "ssh-keygen -F \(name)")
        }
    }

    static func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }
}
