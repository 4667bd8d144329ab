#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The argument of LIST, NLST and STAT: `ls`-style flags that clients send (`-la`, `-a -l`), then
/// a path that may end in a glob.
struct FTPListArguments: Hashable, Sendable {
    var flags: String
    var path: String

    init(flags: String, path: String) {
        self.flags = flags
        self.path = path
    }

    /// Leading words made of `-` and letters are flags; the rest, spaces included, is the path.
    init(parsing argument: String) {
        var rest = Substring(argument)
        var flags = ""
        while rest.hasPrefix("-") {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            let token = rest[rest.index(after: rest.startIndex)..<end]
            guard !token.isEmpty, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "1") }) else { break }
            flags += token
            rest = rest[end...].drop(while: { $0 == " " })
        }
        self.init(flags: flags, path: String(rest))
    }

    /// Whether a name is a pattern (`*`, `?`, `[`), which LIST and NLST expand in its directory.
    static func isGlob(_ name: String) -> Bool {
        name.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" })
    }

    /// fnmatch(3) without flags: `*` and `?` match any character, including a leading dot.
    static func matches(_ name: String, pattern: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
