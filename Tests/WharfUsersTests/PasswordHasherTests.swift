import Testing
@testable import WharfUsers

@Suite struct PasswordHasherTests {
    @Test func roundTrip() throws {
        let hash = try PasswordHasher.hash(password: "correct horse battery staple")
        #expect(hash.hasPrefix("$scrypt$ln=14,r=8,p=1$"))
        #expect(!hash.contains("correct"))
        #expect(PasswordHasher.verify(password: "correct horse battery staple", encodedHash: hash))
        #expect(!PasswordHasher.verify(password: "correct horse battery stapl", encodedHash: hash))
        #expect(!PasswordHasher.verify(password: "", encodedHash: hash))
    }

    @Test func saltsAreRandom() throws {
        let first = try PasswordHasher.hash(password: "same")
        let second = try PasswordHasher.hash(password: "same")
        #expect(first != second)
    }

    /// Cross-checked with Python: hashlib.scrypt(b"correct horse", salt=bytes(range(16)), n=2**14, r=8, p=1, dklen=32).
    @Test func knownAnswer() {
        let vector = "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU"
        #expect(PasswordHasher.verify(password: "correct horse", encodedHash: vector))
        #expect(!PasswordHasher.verify(password: "Correct horse", encodedHash: vector))
    }

    @Test func refusesEmptyPassword() {
        #expect(throws: UserStoreError.emptyPassword) { try PasswordHasher.hash(password: "") }
    }

    @Test func dummyHashIsValidAndMatchesNothingObvious() {
        #expect(PasswordHasher.isWellFormed(PasswordHasher.dummyHash))
        #expect(!PasswordHasher.verify(password: "", encodedHash: PasswordHasher.dummyHash))
        #expect(!PasswordHasher.verify(password: "password", encodedHash: PasswordHasher.dummyHash))
    }

    @Test(arguments: [
        "",
        "hunter2",
        "$scrypt$",
        "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw",
        "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU$",
        "$argon2id$v=19$m=65536,t=3,p=4$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=14,p=1,r=8$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=99,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=14,r=0,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=14,r=8,p=-1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=20,r=16,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=14,r=8,p=1$!!!$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
        "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$",
        "$scrypt$ln=14,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$JbN2hAN",
        "$scrypt$ln=14,r=8,p=1$$JbN2hANm9NOw4h5BRHZnbjzQ6Jr0QwNWojTOC2WgIbU",
    ])
    func malformedHashesNeverVerify(encoded: String) {
        #expect(!PasswordHasher.isWellFormed(encoded))
        #expect(!PasswordHasher.verify(password: "correct horse", encodedHash: encoded))
    }
}
