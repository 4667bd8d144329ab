import Crypto
import CryptoExtras
import Foundation

/// scrypt password hashes in PHC string form: `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (unpadded base64).
///
/// The cost parameters travel inside the string, so they can be raised later without breaking old
/// hashes. Hashing takes tens of milliseconds of CPU and 16 MiB of memory: callers on an event loop
/// must run `hash` and `verify` on a thread pool.
public enum PasswordHasher {
    static let logRounds = 14
    static let blockSize = 8
    static let parallelism = 1
    static let saltByteCount = 16
    static let hashByteCount = 32

    /// Hashes `password` with a fresh random salt. Empty passwords are refused.
    public static func hash(password: String) throws(UserStoreError) -> String {
        guard !password.isEmpty else { throw .emptyPassword }
        var generator = SystemRandomNumberGenerator()  // getrandom(2) / arc4random: a CSPRNG
        let salt = (0..<saltByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let parameters = Parameters(logRounds: logRounds, blockSize: blockSize, parallelism: parallelism,
                                    salt: salt, hash: [])
        guard let derived = derive(Array(password.utf8), parameters: parameters, byteCount: hashByteCount) else {
            throw .passwordHashingFailed
        }
        return "$scrypt$ln=\(logRounds),r=\(blockSize),p=\(parallelism)$\(encode(salt))$\(encode(derived))"
    }

    /// Whether `password` matches `encodedHash`. Malformed or out-of-bounds hash strings give `false`.
    /// The comparison is constant-time, so timing reveals nothing about how close a guess was.
    public static func verify(password: String, encodedHash: String) -> Bool {
        guard let parameters = Parameters(parsing: encodedHash) else { return false }
        // No stored hash is of an empty password (`hash` refuses them), and BoringSSL wants a
        // non-empty buffer: spend the same time on a stand-in, then refuse.
        let input = password.isEmpty ? [0] : Array(password.utf8)
        guard let derived = derive(input, parameters: parameters, byteCount: parameters.hash.count) else {
            return false
        }
        return constantTimeEqual(derived, parameters.hash) && !password.isEmpty
    }

    /// A valid hash of a password nobody knows. Verifying against it when the user does not exist
    /// makes "no such user" cost as much time as "wrong password"; its result must be ignored.
    public static let dummyHash: String = {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // Only if scrypt itself fails: a fixed hash of a random password that was thrown away.
        return (try? hash(password: Data(secret).base64EncodedString()))
            ?? "$scrypt$ln=14,r=8,p=1$Iwo18Qe3rG7IJzhTv9Na5w$yYD6QgDGzEdHHXflGmlWu/ANeiiU0zb7O5yKZq3W1Zo"
    }()

    /// Whether the store should accept `encodedHash`: it parses and its costs are within bounds.
    static func isWellFormed(_ encodedHash: String) -> Bool {
        Parameters(parsing: encodedHash) != nil
    }

    private static func derive(_ password: [UInt8], parameters: Parameters, byteCount: Int) -> [UInt8]? {
        guard let key = try? KDF.Scrypt.deriveKey(
            from: password, salt: parameters.salt, outputByteCount: byteCount,
            rounds: 1 << parameters.logRounds, blockSize: parameters.blockSize,
            parallelism: parameters.parallelism
        ) else { return nil }
        return key.withUnsafeBytes { Array($0) }
    }

    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }  // lengths are public: they are in the string
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    private static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }
}

extension PasswordHasher {
    /// The fields of a PHC scrypt string, bounds-checked: a corrupt or hostile database row must not
    /// make `verify` allocate gigabytes or spin for minutes.
    struct Parameters: Equatable {
        var logRounds: Int
        var blockSize: Int
        var parallelism: Int
        var salt: [UInt8]
        var hash: [UInt8]

        static let maxMemory = 256 << 20
        /// N·r·p at 32 times today's cost: about a second and a half of CPU per attempt.
        static let maxWork = 1 << 22

        init(logRounds: Int, blockSize: Int, parallelism: Int, salt: [UInt8], hash: [UInt8]) {
            self.logRounds = logRounds
            self.blockSize = blockSize
            self.parallelism = parallelism
            self.salt = salt
            self.hash = hash
        }

        init?(parsing encoded: String) {
            guard encoded.utf8.count <= 512 else { return nil }
            let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
            let costs = parts[2].split(separator: ",", omittingEmptySubsequences: false)
            guard costs.count == 3,
                  let logRounds = Self.number(costs[0], key: "ln"), (1...20).contains(logRounds),
                  let blockSize = Self.number(costs[1], key: "r"), (1...16).contains(blockSize),
                  let parallelism = Self.number(costs[2], key: "p"), (1...16).contains(parallelism),
                  128 * blockSize * (1 << logRounds) <= Self.maxMemory,
                  (1 << logRounds) * blockSize * parallelism <= Self.maxWork,
                  let salt = Self.decode(parts[3]), (8...64).contains(salt.count),
                  let hash = Self.decode(parts[4]), (16...64).contains(hash.count)
            else { return nil }
            self.init(logRounds: logRounds, blockSize: blockSize, parallelism: parallelism, salt: salt, hash: hash)
        }

        // r stays at most 16 because swift-crypto grants BoringSSL only 128·N·r·p bytes plus one
        // page, while BoringSSL needs 128·r·(N+p+1): with p = 1 the spare page covers r <= 16.

        /// `key=digits`, with at most two digits: every bound above fits.
        private static func number(_ field: Substring, key: String) -> Int? {
            guard field.hasPrefix(key + "=") else { return nil }
            let digits = field.dropFirst(key.count + 1)
            guard (1...2).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(digits)
        }

        /// Unpadded standard base64, as PHC strings use; padded input is accepted too.
        private static func decode(_ field: Substring) -> [UInt8]? {
            var text = field.hasSuffix("=") ? String(field) : String(field) + String(repeating: "=", count: (4 - field.count % 4) % 4)
            if field.count % 4 == 1 { text = "" }  // no base64 text has this length
            guard !text.isEmpty, let data = Data(base64Encoded: text) else { return nil }
            return Array(data)
        }
    }
}
