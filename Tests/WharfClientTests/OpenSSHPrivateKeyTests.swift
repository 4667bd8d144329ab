import Crypto
import Foundation
import NIOSSH
import Testing

@testable import WharfClient

@Suite("OpenSSH private keys")
struct OpenSSHPrivateKeyTests {
    static let supported: [(name: String, key: String, publicLine: String)] = [
        ("ed25519", OpenSSHKeyFixtures.ed25519, OpenSSHKeyFixtures.ed25519Public),
        ("p256", OpenSSHKeyFixtures.p256, OpenSSHKeyFixtures.p256Public),
        ("p384", OpenSSHKeyFixtures.p384, OpenSSHKeyFixtures.p384Public),
        ("p521", OpenSSHKeyFixtures.p521, OpenSSHKeyFixtures.p521Public),
    ]

    @Test("ssh-keygen keys parse to the key of their .pub line", arguments: supported.indices)
    func parsesOpenSSHFormat(index: Int) throws {
        let fixture = Self.supported[index]
        let key = try OpenSSHPrivateKey.parse(fixture.key)
        #expect(String(openSSHPublicKey: key.publicKey) == fixture.publicLine)
        #expect(key.publicKey == (try NIOSSHPublicKey(openSSHPublicKey: fixture.publicLine)))
    }

    @Test func toleratesCRLFAndSurroundingWhitespace() throws {
        let text = "\n  " + OpenSSHKeyFixtures.ed25519.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\n"
        let key = try OpenSSHPrivateKey.parse(text)
        #expect(String(openSSHPublicKey: key.publicKey) == OpenSSHKeyFixtures.ed25519Public)
    }

    @Test func fingerprintsMatchSSHKeygen() throws {
        let pairs = [
            (OpenSSHKeyFixtures.ed25519Public, OpenSSHKeyFixtures.ed25519Fingerprint),
            (OpenSSHKeyFixtures.p256Public, OpenSSHKeyFixtures.p256Fingerprint),
            (OpenSSHKeyFixtures.p384Public, OpenSSHKeyFixtures.p384Fingerprint),
            (OpenSSHKeyFixtures.p521Public, OpenSSHKeyFixtures.p521Fingerprint),
        ]
        for (line, fingerprint) in pairs {
            #expect(SSHKeyFingerprint.sha256(try NIOSSHPublicKey(openSSHPublicKey: line)) == fingerprint)
        }
    }

    @Test func pemFormats() throws {
        let sec1 = try OpenSSHPrivateKey.parse(OpenSSHKeyFixtures.p256SEC1)
        #expect(String(openSSHPublicKey: sec1.publicKey) == OpenSSHKeyFixtures.p256Public)
        let pkcs8 = try OpenSSHPrivateKey.parse(OpenSSHKeyFixtures.p384PKCS8)
        #expect(String(openSSHPublicKey: pkcs8.publicKey) == OpenSSHKeyFixtures.p384Public)
        let ed = try OpenSSHPrivateKey.parse(OpenSSHKeyFixtures.ed25519PKCS8)
        #expect(String(openSSHPublicKey: ed.publicKey) == OpenSSHKeyFixtures.ed25519PKCS8Public)
        // swift-crypto's own PEM output, P-521 this time.
        let generated = P521.Signing.PrivateKey()
        let parsed = try OpenSSHPrivateKey.parse(generated.pemRepresentation)
        #expect(parsed.publicKey == NIOSSHPrivateKey(p521Key: generated).publicKey)
    }

    @Test func encryptedKeysAreRefused() throws {
        #expect(throws: ClientKeyError.encrypted(path: nil)) {
            try OpenSSHPrivateKey.parse(OpenSSHKeyFixtures.encryptedEd25519)
        }
        #expect(throws: ClientKeyError.encrypted(path: nil)) {
            try OpenSSHPrivateKey.parse(OpenSSHKeyFixtures.encryptedPKCS8)
        }
        let legacy = OpenSSHKeyFixtures.p256SEC1.replacingOccurrences(
            of: "-----BEGIN EC PRIVATE KEY-----\n",
            with: "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n")
        #expect(throws: ClientKeyError.encrypted(path: nil)) { try OpenSSHPrivateKey.parse(legacy) }
        let message = ClientKeyError.encrypted(path: "/home/u/.ssh/id_ed25519").description
        #expect(message.hasPrefix("/home/u/.ssh/id_ed25519 is encrypted with a passphrase"))
        #expect(message.contains("ssh-keygen -p"))
        #expect(!message.contains("\n"))
    }

    @Test func rsaAndDSAKeysAreRefused() throws {
        for text in [OpenSSHKeyFixtures.rsa, OpenSSHKeyFixtures.rsaPKCS1, OpenSSHKeyFixtures.rsaPKCS8] {
            #expect(throws: ClientKeyError.unsupportedKeyType("ssh-rsa", path: nil)) {
                try OpenSSHPrivateKey.parse(text)
            }
        }
        let message = ClientKeyError.unsupportedKeyType("ssh-rsa", path: "id_rsa").description
        #expect(message == "id_rsa: RSA keys are not supported; use ssh-ed25519 or ecdsa-sha2-nistp256/384/521")
        let dsa = "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n"
        #expect(throws: ClientKeyError.unsupportedKeyType("ssh-dss", path: nil)) { try OpenSSHPrivateKey.parse(dsa) }
        #expect(ClientKeyError.unsupportedKeyType("ssh-dss", path: nil).description.hasPrefix("DSA keys"))
        // An encrypted RSA key is refused for being RSA: a passphrase is not the problem.
        let encryptedRSA = OpenSSHKeyBuilder(type: "ssh-rsa", cipher: "aes256-ctr", kdf: "bcrypt").pem()
        #expect(throws: ClientKeyError.unsupportedKeyType("ssh-rsa", path: nil)) {
            try OpenSSHPrivateKey.parse(encryptedRSA)
        }
        let securityKey = OpenSSHKeyBuilder(type: "sk-ssh-ed25519@openssh.com").pem()
        #expect(throws: ClientKeyError.unsupportedKeyType("sk-ssh-ed25519@openssh.com", path: nil)) {
            try OpenSSHPrivateKey.parse(securityKey)
        }
    }

    @Test func otherTextIsRefusedWithAReason() throws {
        let cases: [(String, String)] = [
            ("", "no -----BEGIN line"),
            ("hello", "no -----BEGIN line"),
            (OpenSSHKeyFixtures.ed25519Public + " me@host", "this is a public key"),
            ("PuTTY-User-Key-File-3: ssh-ed25519\n", "PuTTY"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "unexpected PEM block"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----", "not valid base64"),
            ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----", "openssh-key-v1"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "holds no ed25519"),
        ]
        for (text, reason) in cases {
            do {
                _ = try OpenSSHPrivateKey.parse(text)
                Issue.record("parsed \(text.debugDescription)")
            } catch {
                guard case .malformed(let message, nil) = error else {
                    Issue.record("\(error) for \(text.debugDescription)")
                    continue
                }
                #expect(message.contains(reason), "\(message)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func builderRoundTripsAndLeftPadsShortScalars() throws {
        // A P-256 scalar with a leading zero byte is written as a 31-byte mpint by OpenSSH.
        var key = P256.Signing.PrivateKey()
        while !(key.rawRepresentation.first == 0 && key.rawRepresentation.dropFirst().first.map { $0 < 0x80 } == true) {
            key = P256.Signing.PrivateKey()
        }
        let builder = OpenSSHKeyBuilder(p256: key)
        #expect(builder.scalar.count < 32)
        let parsed = try OpenSSHPrivateKey.parse(builder.pem())
        #expect(parsed.publicKey == NIOSSHPrivateKey(p256Key: key).publicKey)

        let ed = Curve25519.Signing.PrivateKey()
        let parsedEd = try OpenSSHPrivateKey.parse(OpenSSHKeyBuilder(ed25519: ed).pem())
        #expect(parsedEd.publicKey == NIOSSHPrivateKey(ed25519Key: ed).publicKey)
    }

    @Test func inconsistentContainersAreMalformed() throws {
        let ed = Curve25519.Signing.PrivateKey()
        var checks = OpenSSHKeyBuilder(ed25519: ed)
        checks.check2 &+= 1
        var padding = OpenSSHKeyBuilder(ed25519: ed)
        padding.padding = [1, 2, 4]
        var twoKeys = OpenSSHKeyBuilder(ed25519: ed)
        twoKeys.keyCount = 2
        var otherPublic = OpenSSHKeyBuilder(ed25519: ed)
        otherPublic.publicBlob = OpenSSHKeyBuilder(ed25519: Curve25519.Signing.PrivateKey()).publicBlob
        var wrongCurve = OpenSSHKeyBuilder(p256: P256.Signing.PrivateKey())
        wrongCurve.curveName = "nistp384"
        var wrongPoint = OpenSSHKeyBuilder(p256: P256.Signing.PrivateKey())
        wrongPoint.point = Array(P256.Signing.PrivateKey().publicKey.x963Representation)
        var zeroScalar = OpenSSHKeyBuilder(p256: P256.Signing.PrivateKey())
        zeroScalar.scalar = [0]
        var longScalar = OpenSSHKeyBuilder(p256: P256.Signing.PrivateKey())
        longScalar.scalar = [1] + longScalar.scalar
        for (name, builder) in [
            ("check ints", checks), ("padding", padding), ("two keys", twoKeys), ("public", otherPublic),
            ("curve", wrongCurve), ("point", wrongPoint), ("zero scalar", zeroScalar), ("long scalar", longScalar),
        ] {
            do {
                _ = try OpenSSHPrivateKey.parse(builder.pem())
                Issue.record("\(name): parsed")
            } catch {
                guard case .malformed = error else {
                    Issue.record("\(name): \(error)")
                    continue
                }
            }
        }
    }

    /// Every prefix of every fixture's text, and of its decoded container, fails cleanly.
    @Test("truncated keys never crash", arguments: supported.indices)
    func truncationAtEveryLength(index: Int) throws {
        let text = Self.supported[index].key
        let characters = Array(text)
        for length in 0..<characters.count {
            #expect(throws: ClientKeyError.self) { try OpenSSHPrivateKey.parse(String(characters[0..<length])) }
        }
        let bytes = try #require(Self.body(of: text))
        for length in 0..<bytes.count {
            let pem = OpenSSHKeyBuilder.armor(Array(bytes[0..<length]))
            #expect(throws: ClientKeyError.self) { try OpenSSHPrivateKey.parse(pem) }
        }
    }

    /// Each byte of each container flipped in turn: parsing returns or throws, never traps, and
    /// whatever it returns is a key whose public half is consistent with the file.
    @Test("damaged keys never crash", arguments: supported.indices)
    func bitFlipsAtEveryByte(index: Int) throws {
        let fixture = Self.supported[index]
        let bytes = try #require(Self.body(of: fixture.key))
        for position in bytes.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = bytes
                damaged[position] ^= mask
                if let key = try? OpenSSHPrivateKey.parse(OpenSSHKeyBuilder.armor(damaged)) {
                    // Only the comment and the check integers (both changed alike) are free to change.
                    #expect(String(openSSHPublicKey: key.publicKey) == fixture.publicLine)
                }
            }
        }
    }

    @Test func loadReadsFilesAndNamesThemInErrors() throws {
        let directory = try ClientTestDirectory()
        let path = directory.path + "/id_ed25519"
        try OpenSSHKeyFixtures.ed25519.write(toFile: path, atomically: true, encoding: .utf8)
        let key = try OpenSSHPrivateKey.load(path: path)
        #expect(String(openSSHPublicKey: key.publicKey) == OpenSSHKeyFixtures.ed25519Public)

        let encrypted = directory.path + "/id_encrypted"
        try OpenSSHKeyFixtures.encryptedEd25519.write(toFile: encrypted, atomically: true, encoding: .utf8)
        #expect(throws: ClientKeyError.encrypted(path: encrypted)) { try OpenSSHPrivateKey.load(path: encrypted) }

        let missing = directory.path + "/nope"
        do {
            _ = try OpenSSHPrivateKey.load(path: missing)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error == .unreadable(path: missing, reason: "No such file or directory"))
            #expect(error.description == "cannot read key file \(missing): No such file or directory")
        }
        #expect(throws: ClientKeyError.unreadable(path: directory.path, reason: "Is a directory")) {
            try OpenSSHPrivateKey.load(path: directory.path)
        }
        let binary = directory.path + "/binary"
        try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: URL(fileURLWithPath: binary))
        do {
            _ = try OpenSSHPrivateKey.load(path: binary)
            Issue.record("loaded a binary file")
        } catch {
            guard case .malformed(_, binary?) = error else {
                Issue.record("\(error)")
                return
            }
        }
    }

    /// Fresh keys from the installed ssh-keygen, several per type so that scalars of every length turn up.
    // ssh-keygen comes with openssh-client, which the test command installs: no skip.
    @Test
    func freshSSHKeygenKeysParse() throws {
        let directory = try ClientTestDirectory()
        let types: [[String]] = [["-t", "ed25519"], ["-t", "ecdsa", "-b", "256"], ["-t", "ecdsa", "-b", "384"], ["-t", "ecdsa", "-b", "521"]]
        for (typeIndex, type) in types.enumerated() {
            for round in 0..<6 {
                let path = directory.path + "/key-\(typeIndex)-\(round)"
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
                process.arguments = ["-q"] + type + ["-N", "", "-C", "fresh", "-f", path]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                process.waitUntilExit()
                try #require(process.terminationStatus == 0)
                let publicLine = try String(contentsOfFile: path + ".pub", encoding: .utf8)
                    .split(separator: " ").prefix(2).joined(separator: " ")
                let key = try OpenSSHPrivateKey.load(path: path)
                #expect(String(openSSHPublicKey: key.publicKey) == publicLine)
            }
        }
    }

    static func body(of pem: String) -> [UInt8]? {
        let base64 = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Data(base64Encoded: base64).map { Array($0) }
    }
}

/// Writes openssh-key-v1 containers field by field, to build the cases ssh-keygen never writes.
struct OpenSSHKeyBuilder {
    var cipher = "none"
    var kdf = "none"
    var keyCount: UInt32 = 1
    var type: String
    var publicBlob: [UInt8]
    var check1: UInt32 = 0x1234_5678
    var check2: UInt32 = 0x1234_5678
    /// Fields after the key type in the private section, for ed25519.
    var ed25519Fields: [[UInt8]] = []
    var curveName = ""
    var point: [UInt8] = []
    var scalar: [UInt8] = []
    var comment = "built@test"
    var padding: [UInt8]?

    init(type: String, cipher: String = "none", kdf: String = "none") {
        self.type = type
        self.cipher = cipher
        self.kdf = kdf
        self.publicBlob = Self.string(Array(type.utf8)) + Self.string([1, 2, 3])
    }

    init(ed25519 key: Curve25519.Signing.PrivateKey) {
        let publicKey = Array(key.publicKey.rawRepresentation)
        self.type = "ssh-ed25519"
        self.publicBlob = Self.string(Array(type.utf8)) + Self.string(publicKey)
        self.ed25519Fields = [publicKey, Array(key.rawRepresentation) + publicKey]
    }

    init(p256 key: P256.Signing.PrivateKey) {
        self.type = "ecdsa-sha2-nistp256"
        self.curveName = "nistp256"
        self.point = Array(key.publicKey.x963Representation)
        self.publicBlob = Self.string(Array(type.utf8)) + Self.string(Array(curveName.utf8)) + Self.string(point)
        // An mpint: no leading zero bytes, one added when the top bit is set.
        var magnitude = Array(key.rawRepresentation.drop(while: { $0 == 0 }))
        if let first = magnitude.first, first & 0x80 != 0 { magnitude.insert(0, at: 0) }
        self.scalar = magnitude
    }

    static func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func string(_ bytes: [UInt8]) -> [UInt8] { uint32(UInt32(bytes.count)) + bytes }

    func container() -> [UInt8] {
        var section = Self.uint32(check1) + Self.uint32(check2) + Self.string(Array(type.utf8))
        if type == "ssh-ed25519" {
            for field in ed25519Fields { section += Self.string(field) }
        } else if type.hasPrefix("ecdsa-") {
            section += Self.string(Array(curveName.utf8)) + Self.string(point) + Self.string(scalar)
        }
        section += Self.string(Array(comment.utf8))
        if let padding {
            section += padding
        } else {
            var next: UInt8 = 1
            while section.count % 8 != 0 {
                section.append(next)
                next += 1
            }
        }
        var bytes = Array("openssh-key-v1\0".utf8)
        bytes += Self.string(Array(cipher.utf8)) + Self.string(Array(kdf.utf8)) + Self.string([])
        bytes += Self.uint32(keyCount) + Self.string(publicBlob) + Self.string(section)
        return bytes
    }

    func pem() -> String { Self.armor(container()) }

    static func armor(_ bytes: [UInt8]) -> String {
        var lines = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
        var rest = Substring(Data(bytes).base64EncodedString())
        while !rest.isEmpty {
            lines.append(String(rest.prefix(70)))
            rest = rest.dropFirst(70)
        }
        lines.append("-----END OPENSSH PRIVATE KEY-----")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A fresh directory under the system temp dir, removed when the test is done with it.
final class ClientTestDirectory {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("WharfClientKeyTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Keys made for these tests with `ssh-keygen -q -t TYPE -N '' -C COMMENT -f FILE` (OpenSSH 9.2), PEM copies
/// with `ssh-keygen -p -m PEM|PKCS8`, the ed25519 PKCS#8 key and the encrypted PKCS#8 key with `openssl`.
/// The public lines are the first two fields of the `.pub` files; fingerprints from `ssh-keygen -l`.
enum OpenSSHKeyFixtures {
    /// `ssh-keygen -t ed25519`
    static let ed25519 = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
        QyNTUxOQAAACDVgbbs/1Ru9572r+O1WkOwmQs9dfGjvoYATIWVl7QWhQAAAJBureb1bq3m
        9QAAAAtzc2gtZWQyNTUxOQAAACDVgbbs/1Ru9572r+O1WkOwmQs9dfGjvoYATIWVl7QWhQ
        AAAECrVKBh5vRyIRUhtHXOUC3vS7Ra0vKnfDXIN7KWyuFCmtWBtuz/VG73nvav47VaQ7CZ
        Cz118aO+hgBMhZWXtBaFAAAACGVkQHdoYXJmAQIDBAU=
        -----END OPENSSH PRIVATE KEY-----
        """
    static let ed25519Public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINWBtuz/VG73nvav47VaQ7CZCz118aO+hgBMhZWXtBaF"
    static let ed25519Fingerprint = "SHA256:C+DwD9wbzJWJMMYZS9S5D30rGCk9bUJmVucC+I1qdBk"

    /// `ssh-keygen -t ecdsa -b 256`
    static let p256 = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS
        1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQSc0y8iQiLfowcOihHt8OlHVU1O7jVo
        MOR/v2aGakO8WNDzyo9GUb1lyXP3LQzxD9vu7kl/oaDMAPywcc0igjTpAAAAqE8pkS5PKZ
        EuAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJzTLyJCIt+jBw6K
        Ee3w6UdVTU7uNWgw5H+/ZoZqQ7xY0PPKj0ZRvWXJc/ctDPEP2+7uSX+hoMwA/LBxzSKCNO
        kAAAAhANTeTdCyQxCLWg2L//SLZ+HQl318qau4GtlqT4dCULPjAAAACnAyNTZAd2hhcmYB
        AgMEBQ==
        -----END OPENSSH PRIVATE KEY-----
        """
    static let p256Public = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJzTLyJCIt+jBw6KEe3w6UdVTU7uNWgw5H+/ZoZqQ7xY0PPKj0ZRvWXJc/ctDPEP2+7uSX+hoMwA/LBxzSKCNOk="
    static let p256Fingerprint = "SHA256:wW7hH7PjFyk2nRbc/Wsz8wOQ7zJLAM5wDWT5LZwJaLI"

    /// `ssh-keygen -t ecdsa -b 384`
    static let p384 = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAiAAAABNlY2RzYS
        1zaGEyLW5pc3RwMzg0AAAACG5pc3RwMzg0AAAAYQROOzPt9sQTty+Fq99Fahr22qQEpktS
        cd4L/1iyIwp+omhFLotiqAtADhXxMZD5eDc5qUbqOLRISy+rHeFb/HK0wCNpaZL8LaRo75
        Cn4XPdbVCu/yUY+/bb8NDPp23k1R0AAADYaO4jrmjuI64AAAATZWNkc2Etc2hhMi1uaXN0
        cDM4NAAAAAhuaXN0cDM4NAAAAGEETjsz7fbEE7cvhavfRWoa9tqkBKZLUnHeC/9YsiMKfq
        JoRS6LYqgLQA4V8TGQ+Xg3OalG6ji0SEsvqx3hW/xytMAjaWmS/C2kaO+Qp+Fz3W1Qrv8l
        GPv22/DQz6dt5NUdAAAAMBYho2FPhKAMiKMb7mtNLbA/oe0uwads+A0xIWxMFjWBYBQ+mx
        2FR0LWQsM7N783UgAAAApwMzg0QHdoYXJmAQIDBAUG
        -----END OPENSSH PRIVATE KEY-----
        """
    static let p384Public = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBE47M+32xBO3L4Wr30VqGvbapASmS1Jx3gv/WLIjCn6iaEUui2KoC0AOFfExkPl4NzmpRuo4tEhLL6sd4Vv8crTAI2lpkvwtpGjvkKfhc91tUK7/JRj79tvw0M+nbeTVHQ=="
    static let p384Fingerprint = "SHA256:NbAcdtwPlVmg343/fRIVfrQ4OHsz0Ec7kmDjX1uHGeQ"

    /// `ssh-keygen -t ecdsa -b 521`
    static let p521 = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAArAAAABNlY2RzYS
        1zaGEyLW5pc3RwNTIxAAAACG5pc3RwNTIxAAAAhQQAmjawX+aa/njmwxbzUTwYPSVG9tRn
        QhoV4EPTwYqoAHXpj3KcgMQ03vCYMgpIwRnB7a3EfN7ZxU1Bha/S9DIpqnIAk75PLr41sC
        7C9pVc8l0A3QWYKxr2j5YBH95fg8kdgE2DduuUD9pxYtuET1kPesQ/59GlraAhqhUAp8r9
        wFcYUt4AAAEIcnsOI3J7DiMAAAATZWNkc2Etc2hhMi1uaXN0cDUyMQAAAAhuaXN0cDUyMQ
        AAAIUEAJo2sF/mmv545sMW81E8GD0lRvbUZ0IaFeBD08GKqAB16Y9ynIDENN7wmDIKSMEZ
        we2txHze2cVNQYWv0vQyKapyAJO+Ty6+NbAuwvaVXPJdAN0FmCsa9o+WAR/eX4PJHYBNg3
        brlA/acWLbhE9ZD3rEP+fRpa2gIaoVAKfK/cBXGFLeAAAAQgCRfogiZBSZD4985uFI6ZAK
        F4WyCQryxKI80dkC2gNeB8jSz62aInZGaiRg8+IqXO/w/SCdb3Q3mf9yiKs7t++VhAAAAA
        pwNTIxQHdoYXJm
        -----END OPENSSH PRIVATE KEY-----
        """
    static let p521Public = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBACaNrBf5pr+eObDFvNRPBg9JUb21GdCGhXgQ9PBiqgAdemPcpyAxDTe8JgyCkjBGcHtrcR83tnFTUGFr9L0MimqcgCTvk8uvjWwLsL2lVzyXQDdBZgrGvaPlgEf3l+DyR2ATYN265QP2nFi24RPWQ96xD/n0aWtoCGqFQCnyv3AVxhS3g=="
    static let p521Fingerprint = "SHA256:WHqcU3H0Wd+ALIzA671mJcmC152UWAKcuAULxivMpiE"

    /// `ssh-keygen -t ed25519 -N secret`
    static let encryptedEd25519 = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABBr0aec+k
        5dpuWBw0DUDJ5TAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIDA8UkzGN0oQlJh/
        rRqsqDhL0D7PWR3vAA2+iX+OU2TTAAAAkHtriebUKobfbdPp5MyiRGbYProv4v3viXhC7c
        +KYbU9gOu3zzrnGjFTOFC/S8NeagiD/r2R0DLbAEhUdHTcPFP1yLzMKsA1D4EZJvAkiKA2
        uakOIpD1E5CH2XiAIoRgwarXdTX+QxzYZt+nWWV+hgl1d4NpbaXWEE7a1kVG9Ge6c/q/Ha
        dthjpmshczHz14ZQ==
        -----END OPENSSH PRIVATE KEY-----
        """
    static let encryptedEd25519Public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDA8UkzGN0oQlJh/rRqsqDhL0D7PWR3vAA2+iX+OU2TT"

    /// `ssh-keygen -t rsa -b 2048`
    static let rsa = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABFwAAAAdzc2gtcn
        NhAAAAAwEAAQAAAQEAnIWeL3TfiEF6dZ83Ob+69jqeQGR08PxZwYcWDOInzAXCE/vQLnaY
        zSg21tNPNSHOmzKECfK96tG2lxqbzdtJXjbRLswaUcgfokmL6yWr9YEq0mWbSlGMO7QlvA
        NLyTPSJDKLt3aYRgqKsw7eip82rdxRkUIF7N9Mi76TxNbi5ZLyG3bAdUfkM+OuI5NgPwQJ
        4hQCER9jemZvH/F8rf/EVANbO7mYrKE7/PWmnYgoVjHfdDZwdwWR16NmWHyUBuuJlZIaT/
        ZmSmzF/o2NDeCwwjs6ydf3Iq/0LigLfz4QVAbaeyKTpTb3PwMUkyUpC4j+BI26WaCbPtue
        6oqqoYpYWQAAA8De5VK33uVStwAAAAdzc2gtcnNhAAABAQCchZ4vdN+IQXp1nzc5v7r2Op
        5AZHTw/FnBhxYM4ifMBcIT+9AudpjNKDbW0081Ic6bMoQJ8r3q0baXGpvN20leNtEuzBpR
        yB+iSYvrJav1gSrSZZtKUYw7tCW8A0vJM9IkMou3dphGCoqzDt6Knzat3FGRQgXs30yLvp
        PE1uLlkvIbdsB1R+Qz464jk2A/BAniFAIRH2N6Zm8f8Xyt/8RUA1s7uZisoTv89aadiChW
        Md90NnB3BZHXo2ZYfJQG64mVkhpP9mZKbMX+jY0N4LDCOzrJ1/cir/QuKAt/PhBUBtp7Ip
        OlNvc/AxSTJSkLiP4EjbpZoJs+257qiqqhilhZAAAAAwEAAQAAAQALaeb2GPSv7+5pI1oY
        mPWePPoLQggRBqXY6evetqMmSokzgdpVeQp9c2BEXBZbjoKNaKqeOxhERlSlQih4Y3Q/LY
        olena03f4IjIpqdE3M0kV4IDapvbaXJ/TUd/0Px/qb7x+nGjvSZ7RjiEMMIr4PAZDlIcZi
        1omzawtFgFH9YZOX1eML7ClPxwxyJscNEjR1VSqf9bXEDQfcCdrxyNZVIc4hAaGR+4xUT3
        jJQ9cPWwO6+PmNFwfZEDK4wUuAWLxQ1NWRyMlgzrJZ5/r1TJ8BfQwuJYZTl8M4lHRj3DfC
        cYF8oj4oBgRH62666engAe1kRvgZjQfkZ162CO2Adw/xAAAAgQCPuJRB5CcP+TIaaTcXvS
        09rsYteoGo/NcjmYp1MLQqu1MshWP/pHwj4faRGnj/Gc01+ePnsY2+V00GYBCPw3q47Mzt
        Cgfudzwkf0aIN4G/NeTRmdoBe40XGg1bUzhUeISb26VsyQeEtxvEHL9ZLCLEv+lIm6uJQS
        saadpX6e1NbwAAAIEAzXp7J/vqmBQsl8x4iLEHpqjhtlsvkHCKyixMqBhFsL49vrmERq4X
        sgsu/6HIlLBYtrR2DsHTD0XPY27Xwe6nZ6j/jEP2+X4pL1/aH5F8HJ8LJTF36mpyfkjLyp
        TVvc8Yk8vBIhqwb4elx5fYQcg74YYKO3S0lLZKxykIH5BEtC0AAACBAMMBpZJ8FdNU/ujZ
        vpZspy/FBzrGyu5ROJbOYEPB0yPRVPHMaZJL1D/CwRN42VNNdSTJJEHil29VdHVIPlT62E
        Powtn5BAXqhpfR1xxsSqKzteoIxqj4aM6IOTjPYHffxHGIIUfZ50+G9GFfVJMqdNZPP2QV
        IDrz9Hj5FDf2gvRdAAAACXJzYUB3aGFyZgE=
        -----END OPENSSH PRIVATE KEY-----
        """
    static let rsaPublic = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCchZ4vdN+IQXp1nzc5v7r2Op5AZHTw/FnBhxYM4ifMBcIT+9AudpjNKDbW0081Ic6bMoQJ8r3q0baXGpvN20leNtEuzBpRyB+iSYvrJav1gSrSZZtKUYw7tCW8A0vJM9IkMou3dphGCoqzDt6Knzat3FGRQgXs30yLvpPE1uLlkvIbdsB1R+Qz464jk2A/BAniFAIRH2N6Zm8f8Xyt/8RUA1s7uZisoTv89aadiChWMd90NnB3BZHXo2ZYfJQG64mVkhpP9mZKbMX+jY0N4LDCOzrJ1/cir/QuKAt/PhBUBtp7IpOlNvc/AxSTJSkLiP4EjbpZoJs+257qiqqhilhZ"

    /// `p256` rewritten with `ssh-keygen -p -m PEM`: SEC1 `EC PRIVATE KEY`
    static let p256SEC1 = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEINTeTdCyQxCLWg2L//SLZ+HQl318qau4GtlqT4dCULPjoAoGCCqGSM49
        AwEHoUQDQgAEnNMvIkIi36MHDooR7fDpR1VNTu41aDDkf79mhmpDvFjQ88qPRlG9
        Zclz9y0M8Q/b7u5Jf6GgzAD8sHHNIoI06Q==
        -----END EC PRIVATE KEY-----
        """
    /// `p384` rewritten with `ssh-keygen -p -m PKCS8`
    static let p384PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDAWIaNhT4SgDIijG+5r
        TS2wP6HtLsGnbPgNMSFsTBY1gWAUPpsdhUdC1kLDOze/N1KhZANiAAROOzPt9sQT
        ty+Fq99Fahr22qQEpktScd4L/1iyIwp+omhFLotiqAtADhXxMZD5eDc5qUbqOLRI
        Sy+rHeFb/HK0wCNpaZL8LaRo75Cn4XPdbVCu/yUY+/bb8NDPp23k1R0=
        -----END PRIVATE KEY-----
        """
    /// `openssl genpkey -algorithm ed25519`
    static let ed25519PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIK6EsTnT6k0RS4gN7BrrWC6Pks6rvCfYcCwItbiK8pLe
        -----END PRIVATE KEY-----
        """
    static let ed25519PKCS8Public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII9EfZdQpR4AxYleTV04vbPME3PUc4HX4Y3WJ/J1zlE/"
    /// `rsa` rewritten with `ssh-keygen -p -m PEM`: `RSA PRIVATE KEY`
    static let rsaPKCS1 = """
        -----BEGIN RSA PRIVATE KEY-----
        MIIEpAIBAAKCAQEAnIWeL3TfiEF6dZ83Ob+69jqeQGR08PxZwYcWDOInzAXCE/vQ
        LnaYzSg21tNPNSHOmzKECfK96tG2lxqbzdtJXjbRLswaUcgfokmL6yWr9YEq0mWb
        SlGMO7QlvANLyTPSJDKLt3aYRgqKsw7eip82rdxRkUIF7N9Mi76TxNbi5ZLyG3bA
        dUfkM+OuI5NgPwQJ4hQCER9jemZvH/F8rf/EVANbO7mYrKE7/PWmnYgoVjHfdDZw
        dwWR16NmWHyUBuuJlZIaT/ZmSmzF/o2NDeCwwjs6ydf3Iq/0LigLfz4QVAbaeyKT
        pTb3PwMUkyUpC4j+BI26WaCbPtue6oqqoYpYWQIDAQABAoIBAAtp5vYY9K/v7mkj
        WhiY9Z48+gtCCBEGpdjp6962oyZKiTOB2lV5Cn1zYERcFluOgo1oqp47GERGVKVC
        KHhjdD8tiiV6drTd/giMimp0TczSRXggNqm9tpcn9NR3/Q/H+pvvH6caO9JntGOI
        Qwwivg8BkOUhxmLWibNrC0WAUf1hk5fV4wvsKU/HDHImxw0SNHVVKp/1tcQNB9wJ
        2vHI1lUhziEBoZH7jFRPeMlD1w9bA7r4+Y0XB9kQMrjBS4BYvFDU1ZHIyWDOslnn
        +vVMnwF9DC4lhlOXwziUdGPcN8JxgXyiPigGBEfrbrrp6eAB7WRG+BmNB+RnXrYI
        7YB3D/ECgYEAzXp7J/vqmBQsl8x4iLEHpqjhtlsvkHCKyixMqBhFsL49vrmERq4X
        sgsu/6HIlLBYtrR2DsHTD0XPY27Xwe6nZ6j/jEP2+X4pL1/aH5F8HJ8LJTF36mpy
        fkjLypTVvc8Yk8vBIhqwb4elx5fYQcg74YYKO3S0lLZKxykIH5BEtC0CgYEAwwGl
        knwV01T+6Nm+lmynL8UHOsbK7lE4ls5gQ8HTI9FU8cxpkkvUP8LBE3jZU011JMkk
        QeKXb1V0dUg+VPrYQ+jC2fkEBeqGl9HXHGxKorO16gjGqPhozog5OM9gd9/EcYgh
        R9nnT4b0YV9Ukyp01k8/ZBUgOvP0ePkUN/aC9F0CgYBIi2+jxDslCipcRaJgkC/l
        VUarPTJjyngVvOIrjrY8Gk5uYc0jrx9KisxDEHlilYgcqUXtG91KTRlVP7MJExsj
        a/UdLnmpyDL+ONcnwhORf01OClMN/hsCHu1kTnvQEafZtlwvkECuf7O17hQ51Vne
        25YNO7ztrBZmjkQB8Mtw2QKBgQCsnNmNt66uGU9ml89/YX//5dzHZ04b8+MuglFt
        yLT3wIT7X+CXMe4X3nF/pfphJXAq9qzUcRlw4GispB0gpcYnHnLT9PtdrUIkQwex
        Th4mtQKyvb/zs6c6IhTct5wBoB5IDKLA8h4xJBlP082OUweG6DEJizWzWVwudPQz
        sU4rtQKBgQCPuJRB5CcP+TIaaTcXvS09rsYteoGo/NcjmYp1MLQqu1MshWP/pHwj
        4faRGnj/Gc01+ePnsY2+V00GYBCPw3q47MztCgfudzwkf0aIN4G/NeTRmdoBe40X
        Gg1bUzhUeISb26VsyQeEtxvEHL9ZLCLEv+lIm6uJQSsaadpX6e1Nbw==
        -----END RSA PRIVATE KEY-----
        """
    /// `rsa` rewritten with `ssh-keygen -p -m PKCS8`
    static let rsaPKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCchZ4vdN+IQXp1
        nzc5v7r2Op5AZHTw/FnBhxYM4ifMBcIT+9AudpjNKDbW0081Ic6bMoQJ8r3q0baX
        GpvN20leNtEuzBpRyB+iSYvrJav1gSrSZZtKUYw7tCW8A0vJM9IkMou3dphGCoqz
        Dt6Knzat3FGRQgXs30yLvpPE1uLlkvIbdsB1R+Qz464jk2A/BAniFAIRH2N6Zm8f
        8Xyt/8RUA1s7uZisoTv89aadiChWMd90NnB3BZHXo2ZYfJQG64mVkhpP9mZKbMX+
        jY0N4LDCOzrJ1/cir/QuKAt/PhBUBtp7IpOlNvc/AxSTJSkLiP4EjbpZoJs+257q
        iqqhilhZAgMBAAECggEAC2nm9hj0r+/uaSNaGJj1njz6C0IIEQal2Onr3rajJkqJ
        M4HaVXkKfXNgRFwWW46CjWiqnjsYREZUpUIoeGN0Py2KJXp2tN3+CIyKanRNzNJF
        eCA2qb22lyf01Hf9D8f6m+8fpxo70me0Y4hDDCK+DwGQ5SHGYtaJs2sLRYBR/WGT
        l9XjC+wpT8cMcibHDRI0dVUqn/W1xA0H3Ana8cjWVSHOIQGhkfuMVE94yUPXD1sD
        uvj5jRcH2RAyuMFLgFi8UNTVkcjJYM6yWef69UyfAX0MLiWGU5fDOJR0Y9w3wnGB
        fKI+KAYER+tuuunp4AHtZEb4GY0H5GdetgjtgHcP8QKBgQDNensn++qYFCyXzHiI
        sQemqOG2Wy+QcIrKLEyoGEWwvj2+uYRGrheyCy7/ociUsFi2tHYOwdMPRc9jbtfB
        7qdnqP+MQ/b5fikvX9ofkXwcnwslMXfqanJ+SMvKlNW9zxiTy8EiGrBvh6XHl9hB
        yDvhhgo7dLSUtkrHKQgfkES0LQKBgQDDAaWSfBXTVP7o2b6WbKcvxQc6xsruUTiW
        zmBDwdMj0VTxzGmSS9Q/wsETeNlTTXUkySRB4pdvVXR1SD5U+thD6MLZ+QQF6oaX
        0dccbEqis7XqCMao+GjOiDk4z2B338RxiCFH2edPhvRhX1STKnTWTz9kFSA68/R4
        +RQ39oL0XQKBgEiLb6PEOyUKKlxFomCQL+VVRqs9MmPKeBW84iuOtjwaTm5hzSOv
        H0qKzEMQeWKViBypRe0b3UpNGVU/swkTGyNr9R0ueanIMv441yfCE5F/TU4KUw3+
        GwIe7WROe9ARp9m2XC+QQK5/s7XuFDnVWd7blg07vO2sFmaORAHwy3DZAoGBAKyc
        2Y23rq4ZT2aXz39hf//l3MdnThvz4y6CUW3ItPfAhPtf4Jcx7hfecX+l+mElcCr2
        rNRxGXDgaKykHSClxicectP0+12tQiRDB7FOHia1ArK9v/OzpzoiFNy3nAGgHkgM
        osDyHjEkGU/TzY5TB4boMQmLNbNZXC509DOxTiu1AoGBAI+4lEHkJw/5MhppNxe9
        LT2uxi16gaj81yOZinUwtCq7UyyFY/+kfCPh9pEaeP8ZzTX54+exjb5XTQZgEI/D
        erjszO0KB+53PCR/Rog3gb815NGZ2gF7jRcaDVtTOFR4hJvbpWzJB4S3G8Qcv1ks
        IsS/6Uibq4lBKxpp2lfp7U1v
        -----END PRIVATE KEY-----
        """
    /// `p256SEC1` through `openssl pkcs8 -topk8 -v2 aes256 -passout pass:secret`
    static let encryptedPKCS8 = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj2jjZB7b86HgICCAAw
        DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEITNruQDBPPx+VcBRgr9GIgEgZA1
        qzMkla5WN+yfdLCAlfQ4Fv+8sefP1Ya6z46O/FXUmkBgCFVdIEtyDbXIcI9MeFc4
        FbjJxogPcE0M6lOAf8HVh9eXayySJ2BGKbXKsJRyczQCM8tA03say6LkshEPhjA8
        IXEy3jnQ3OvYDvGeaRtVmEhTfCkI3vx828NXbl9TiIHChxoXcyaBCBTPNJV31q8=
        -----END ENCRYPTED PRIVATE KEY-----
        """
}
