/// One account: where its files live and how it may authenticate.
public struct UserRecord: Sendable, Equatable {
    public var name: String
    /// Absolute path of the directory the user is jailed to.
    public var home: String
    /// A `PasswordHasher` string; `nil` means password login is off for this user.
    public var passwordHash: String?
    public var authorizedKeys: [AuthorizedKey]

    public init(name: String, home: String, passwordHash: String? = nil, authorizedKeys: [AuthorizedKey] = []) {
        self.name = name
        self.home = home
        self.passwordHash = passwordHash
        self.authorizedKeys = authorizedKeys
    }

    /// 1-32 characters of `[a-zA-Z0-9._-]`, not starting with `-` or `.`: safe as a path component,
    /// in a log line and on a command line (no option look-alikes, no hidden or `..` directories).
    public static func isValidName(_ name: String) -> Bool {
        guard (1...32).contains(name.utf8.count), let first = name.utf8.first,
              first != UInt8(ascii: "-"), first != UInt8(ascii: ".")
        else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// The invariants the store keeps for every record it holds; lets a caller check a record
    /// before doing side work (such as creating its home) that the store would then refuse.
    public func validate() throws(UserStoreError) {
        guard Self.isValidName(name) else { throw .invalidUsername(name) }
        guard home.hasPrefix("/") else { throw .homeNotAbsolute(home) }
        if let passwordHash, !PasswordHasher.isWellFormed(passwordHash) { throw .malformedPasswordHash }
        guard passwordHash != nil || !authorizedKeys.isEmpty else { throw .noAuthenticationMethod(name) }
    }

    /// The keys without repeats (same algorithm and blob), first occurrence kept, order preserved.
    var uniqueKeys: [AuthorizedKey] {
        var seen: [AuthorizedKey] = []
        for key in authorizedKeys where !seen.contains(where: { $0.isSameKey(as: key) }) {
            seen.append(key)
        }
        return seen
    }
}
