import Foundation
import Testing
@testable import WharfUsers

@Suite struct AuthorizedKeyTests {
    @Test(arguments: [
        (KeyFixtures.ed25519, "ssh-ed25519", KeyFixtures.ed25519Fingerprint, "ed25519@fixture"),
        (KeyFixtures.ecdsa256, "ecdsa-sha2-nistp256", KeyFixtures.ecdsa256Fingerprint, "ecdsab256@fixture"),
        (KeyFixtures.ecdsa384, "ecdsa-sha2-nistp384", KeyFixtures.ecdsa384Fingerprint, "ecdsab384@fixture"),
        (KeyFixtures.ecdsa521, "ecdsa-sha2-nistp521", KeyFixtures.ecdsa521Fingerprint, "ecdsab521@fixture"),
    ])
    func parsesSupportedKeys(line: String, algorithm: String, fingerprint: String, comment: String) throws {
        let key = try AuthorizedKey(line: line)
        #expect(key.algorithm == algorithm)
        #expect(key.comment == comment)
        #expect(key.fingerprint == fingerprint)
        #expect(line.hasPrefix(key.openSSHString + " "))
        #expect(AuthorizedKey.supportedAlgorithms.contains(algorithm))
    }

    @Test func toleratesWhitespaceAndMissingComment() throws {
        let bare = KeyFixtures.ed25519.split(separator: " ").prefix(2).joined(separator: "\t")
        let key = try AuthorizedKey(line: "  \(bare)  \n")
        #expect(key.comment == "")
        let spaced = try AuthorizedKey(line: KeyFixtures.ed25519 + " with  spaces")
        #expect(spaced.comment == "ed25519@fixture with  spaces")
        #expect(spaced.isSameKey(as: key))
        #expect(spaced != key)
    }

    @Test(arguments: [
        KeyFixtures.rsa,
        "rsa-sha2-512 AAAAB3NzaC1yc2EAAAADAQABAAABAQC3",
        "from=\"10.0.0.1\" " + KeyFixtures.rsa,
    ])
    func refusesRSA(line: String) {
        #expect(throws: UserStoreError.rsaKeyNotSupported) { try AuthorizedKey(line: line) }
        #expect(UserStoreError.rsaKeyNotSupported.description
            == "RSA keys are not supported; use ssh-ed25519 or ecdsa-sha2-nistp256/384/521")
    }

    @Test func refusesOptionsPrefix() {
        #expect(throws: UserStoreError.keyOptionsNotSupported) {
            try AuthorizedKey(line: "from=\"10.0.0.1\",no-pty " + KeyFixtures.ed25519)
        }
        #expect(throws: UserStoreError.keyOptionsNotSupported) {
            try AuthorizedKey(line: "command=\"echo hi there\" " + KeyFixtures.ecdsa256)
        }
    }

    @Test func refusesOtherAlgorithms() {
        #expect(throws: UserStoreError.unsupportedKeyAlgorithm("ssh-dss")) {
            try AuthorizedKey(line: "ssh-dss AAAAB3NzaC1kc3MAAACBAP")
        }
        #expect(throws: UserStoreError.unsupportedKeyAlgorithm("sk-ssh-ed25519@openssh.com")) {
            try AuthorizedKey(line: "sk-ssh-ed25519@openssh.com AAAAGnNr")
        }
    }

    @Test(arguments: [
        "",
        "   ",
        "hunter2",
        "ssh-ed25519",
        "ssh-ed25519 !!!notbase64!!!",
        "ssh-ed25519 AAAA",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
    ])
    func refusesGarbage(line: String) {
        #expect(throws: UserStoreError.self) { try AuthorizedKey(line: line) }
    }

    @Test func garbageIsNotEchoed() throws {
        let error = #expect(throws: UserStoreError.self) { try AuthorizedKey(line: "correct-horse-battery") }
        #expect(error?.description.contains("correct-horse") == false)
    }

    @Test func refusesBlobOfAnotherAlgorithm() throws {
        // An ed25519 blob presented as ECDSA, and an ECDSA P-256 blob presented as P-384.
        let ed25519Data = try #require(KeyFixtures.ed25519.split(separator: " ").dropFirst().first)
        let p256Data = try #require(KeyFixtures.ecdsa256.split(separator: " ").dropFirst().first)
        #expect(throws: UserStoreError.self) { try AuthorizedKey(line: "ecdsa-sha2-nistp256 \(ed25519Data)") }
        #expect(throws: UserStoreError.self) { try AuthorizedKey(line: "ecdsa-sha2-nistp384 \(p256Data)") }
    }

    @Test func refusesWrongLengthsAndBadPoints() throws {
        let valid = try AuthorizedKey(line: KeyFixtures.ed25519)
        let truncated = Array(valid.blob.dropLast())
        #expect(throws: UserStoreError.self) { try AuthorizedKey(algorithm: "ssh-ed25519", blob: truncated) }
        #expect(throws: UserStoreError.self) { try AuthorizedKey(algorithm: "ssh-ed25519", blob: valid.blob + [0]) }

        var ecdsa = try AuthorizedKey(line: KeyFixtures.ecdsa256).blob
        ecdsa[ecdsa.count - 1] ^= 0x01  // y no longer matches x: off the curve
        #expect(throws: UserStoreError.self) { try AuthorizedKey(algorithm: "ecdsa-sha2-nistp256", blob: ecdsa) }
    }

    @Test func roundTripsThroughOpenSSHString() throws {
        for line in [KeyFixtures.ed25519, KeyFixtures.ecdsa256, KeyFixtures.ecdsa384, KeyFixtures.ecdsa521] {
            let key = try AuthorizedKey(line: line)
            let again = try AuthorizedKey(line: key.openSSHString)
            #expect(again.isSameKey(as: key))
        }
    }
}
