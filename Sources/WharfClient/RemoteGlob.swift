import SFTPProtocol

extension RemoteFileSystem {
    /// Expands `*`, `?` and `[...]` in any component of a remote path against the server's
    /// directory listings, as OpenSSH's `sftp` does for `get` and `ls`: names starting with "." are
    /// matched only by a component that starts with "." itself; "." and ".." never. A backslash
    /// quotes the next character.
    ///
    /// A path without glob characters is returned as it is (whether it exists or not), one whose
    /// only glob characters are quoted is returned unquoted. Otherwise the matches are returned
    /// sorted (empty when nothing matches); a directory that cannot be listed matches nothing.
    public func expandRemoteGlob(_ path: String) async throws -> [String] {
        guard path.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) else { return [path] }
        guard RemoteGlob.hasMetacharacters(path) else { return [RemoteGlob.unescape(path)] }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var candidates = [path.hasPrefix("/") ? "/" : ""]
        var literalSinceLastListing = false
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            guard RemoteGlob.hasMetacharacters(component) else {
                let name = RemoteGlob.unescape(component)
                candidates = candidates.map { RemoteGlob.join($0, name) }
                literalSinceLastListing = true
                continue
            }
            literalSinceLastListing = false
            let pattern = RemoteGlob.Pattern(component)
            var matches: [String] = []
            for base in candidates {
                let entries: [SFTPName]
                do {
                    entries = try await self.listDirectory(base.isEmpty ? "." : base, includingDotEntries: false)
                } catch where RemoteFailure.isRefusal(error) {
                    continue
                }
                for entry in entries.sorted(by: { $0.filename < $1.filename }) {
                    let name = entry.filename
                    guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), pattern.matches(name) else {
                        continue
                    }
                    let full = RemoteGlob.join(base, name)
                    if isLast {
                        matches.append(full)
                    } else if try await self.isDirectory(full, listed: entry.attributes) {
                        matches.append(full)
                    }
                }
            }
            candidates = matches
            if candidates.isEmpty { return [] }
        }
        // Literal components after the last pattern: keep only what exists.
        if literalSinceLastListing {
            var existing: [String] = []
            for candidate in candidates {
                do {
                    _ = try await self.lstat(candidate)
                    existing.append(candidate)
                } catch where RemoteFailure.isRefusal(error) {
                    continue
                }
            }
            candidates = existing
        }
        return candidates
    }

    /// Whether a listed entry is a directory, following a symbolic link (as a glob does).
    private func isDirectory(_ path: String, listed attributes: SFTPFileAttributes) async throws -> Bool {
        if let mode = attributes.permissions, FileKind(mode: mode) != .symbolicLink {
            return FileKind(mode: mode) == .directory
        }
        do {
            return try await self.stat(path).permissions.map { FileKind(mode: $0) == .directory } ?? false
        } catch where RemoteFailure.isRefusal(error) {
            return false
        }
    }
}

/// Shell-style patterns over one path component.
public enum RemoteGlob {
    /// Whether `text` has an unquoted `*`, `?` or `[`.
    public static func hasMetacharacters(_ text: String) -> Bool {
        var escaped = false
        for character in text {
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "*" || character == "?" || character == "[" {
                return true
            }
        }
        return false
    }

    /// `text` with backslash quoting removed.
    public static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var result = ""
        var escaped = false
        for character in text {
            if !escaped, character == "\\" {
                escaped = true
                continue
            }
            escaped = false
            result.append(character)
        }
        if escaped { result.append("\\") }
        return result
    }

    /// Whether `name` matches the pattern `pattern` (one component, no "/").
    public static func matches(_ name: String, pattern: String) -> Bool {
        Pattern(pattern).matches(name)
    }

    static func join(_ base: String, _ name: String) -> String {
        if base.isEmpty { return name }
        return base.hasSuffix("/") ? base + name : base + "/" + name
    }

    struct Pattern {
        enum Token {
            case literal(Character)
            case anyCharacter
            case anySequence
            case set(ranges: [ClosedRange<Character>], negated: Bool)
        }

        let tokens: [Token]
        /// Whether the pattern starts with a literal "." (which alone may match hidden names).
        let matchesHidden: Bool

        init(_ pattern: String) {
            let characters = Array(pattern)
            var tokens: [Token] = []
            var index = 0
            while index < characters.count {
                let character = characters[index]
                switch character {
                case "\\" where index + 1 < characters.count:
                    tokens.append(.literal(characters[index + 1]))
                    index += 2
                case "*":
                    tokens.append(.anySequence)
                    index += 1
                case "?":
                    tokens.append(.anyCharacter)
                    index += 1
                case "[":
                    if let (set, next) = Self.parseSet(characters, from: index + 1) {
                        tokens.append(set)
                        index = next
                    } else {
                        tokens.append(.literal("["))
                        index += 1
                    }
                default:
                    tokens.append(.literal(character))
                    index += 1
                }
            }
            self.tokens = tokens
            if case .literal(".") = tokens.first { self.matchesHidden = true } else { self.matchesHidden = false }
        }

        /// A bracket expression starting after "[": `!` or `^` negates, a leading `]` is literal,
        /// `a-z` is a range. Nil when there is no closing "]" (the "[" is then literal).
        private static func parseSet(_ characters: [Character], from start: Int) -> (Token, Int)? {
            var index = start
            var negated = false
            if index < characters.count, characters[index] == "!" || characters[index] == "^" {
                negated = true
                index += 1
            }
            var ranges: [ClosedRange<Character>] = []
            var first = true
            while index < characters.count {
                var character = characters[index]
                if character == "]", !first {
                    return (.set(ranges: ranges, negated: negated), index + 1)
                }
                first = false
                if character == "\\", index + 1 < characters.count {
                    index += 1
                    character = characters[index]
                }
                if index + 2 < characters.count, characters[index + 1] == "-", characters[index + 2] != "]" {
                    var upper = characters[index + 2]
                    var next = index + 3
                    if upper == "\\", index + 3 < characters.count {
                        upper = characters[index + 3]
                        next = index + 4
                    }
                    if character <= upper { ranges.append(character...upper) }
                    index = next
                } else {
                    ranges.append(character...character)
                    index += 1
                }
            }
            return nil
        }

        func matches(_ name: String) -> Bool {
            if name.hasPrefix("."), !self.matchesHidden { return false }
            let text = Array(name)
            // Iterative matching with backtracking to the last "*".
            var textIndex = 0
            var tokenIndex = 0
            var starToken: Int? = nil
            var starText = 0
            while textIndex < text.count {
                if tokenIndex < self.tokens.count, self.matchesOne(self.tokens[tokenIndex], text[textIndex]) {
                    textIndex += 1
                    tokenIndex += 1
                } else if tokenIndex < self.tokens.count, case .anySequence = self.tokens[tokenIndex] {
                    starToken = tokenIndex
                    starText = textIndex
                    tokenIndex += 1
                } else if let star = starToken {
                    tokenIndex = star + 1
                    starText += 1
                    textIndex = starText
                } else {
                    return false
                }
            }
            while tokenIndex < self.tokens.count, case .anySequence = self.tokens[tokenIndex] {
                tokenIndex += 1
            }
            return tokenIndex == self.tokens.count
        }

        private func matchesOne(_ token: Token, _ character: Character) -> Bool {
            switch token {
            case .literal(let literal): return literal == character
            case .anyCharacter: return true
            case .anySequence: return false
            case .set(let ranges, let negated): return ranges.contains { $0.contains(character) } != negated
            }
        }
    }
}
