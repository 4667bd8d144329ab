#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import NIOSSH

/// A `known_hosts` file, read as OpenSSH's `ssh` reads it, to decide whether to trust a server's host key.
///
/// Understood: comments and blank lines; comma-separated host patterns with `*`, `?` and `!` negation;
/// `[host]:port` for ports other than 22; hashed names (`|1|salt|HMAC-SHA1`); the `@revoked` marker.
/// `@cert-authority` lines are ignored (host certificates are not checked), and so are lines of key
/// types NIOSSH cannot parse (ssh-rsa, ssh-dss, sk-…), except that ``knownKeyTypes(host:port:)`` lists them.
/// Host names compare case-insensitively, as `ssh` lowercases them.
public struct KnownHosts: Sendable {
    /// What the file says about a host key.
    public enum Verdict: Sendable, Equatable {
        /// A line for this host lists this key.
        case trusted
        /// No line for this host has a key of this type.
        case unknown
        /// A line for this host has a key of the same type, and no line has this key.
        /// `line` is the first such line (1-based), `knownKeyType` its key type.
        case changed(knownKeyType: String, line: Int)
        /// An `@revoked` line for this host lists this key: never connect.
        case revoked
    }

    struct Entry: Sendable {
        enum Hosts: Sendable {
            case patterns([String])
            case hashed(salt: [UInt8], hash: [UInt8])
        }

        var line: Int
        var revoked: Bool
        var hosts: Hosts
        var keyType: String
        /// nil for key types NIOSSH does not know (or a damaged key field).
        var key: NIOSSHPublicKey?
    }

    var entries: [Entry]

    /// `~/.ssh/known_hosts` of the current user.
    public static var defaultPath: String {
        ClientFiles.expandingTilde("~/.ssh/known_hosts")
    }

    /// Reads the file at `path` (a leading `~/` is the home directory). A missing file is an empty list.
    public init(path: String) throws {
        let bytes: [UInt8]
        do {
            bytes = try ClientFiles.readAll(ClientFiles.expandingTilde(path), limit: 64 << 20)
        } catch {
            if error.code == ENOENT {
                self.init(contents: "")
                return
            }
            throw KnownHostsError.unreadable(path: path, reason: error.reason)
        }
        self.init(contents: String(decoding: bytes, as: UTF8.self))
    }

    /// Parses the text of a known_hosts file. Lines it cannot use are skipped, as `ssh` skips them.
    public init(contents: String) {
        var entries: [Entry] = []
        let lines = contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in lines.enumerated() {
            if let entry = Self.parse(line: line, number: index + 1) { entries.append(entry) }
        }
        self.entries = entries
    }

    /// Checks the key a server at `host`:`port` offered.
    public func verify(host: String, port: Int, key: NIOSSHPublicKey) -> Verdict {
        let name = Self.lookupName(host: host, port: port)
        let offeredType = Self.keyType(of: key)
        var trusted = false
        var changed: Verdict?
        for entry in entries where entry.key != nil && Self.matches(entry.hosts, name: name) {
            if entry.revoked {
                if entry.key == key { return .revoked }
                continue
            }
            guard entry.keyType == offeredType else { continue }
            if entry.key == key {
                trusted = true
            } else if changed == nil {
                changed = .changed(knownKeyType: entry.keyType, line: entry.line)
            }
        }
        if trusted { return .trusted }
        return changed ?? .unknown
    }

    /// The key types listed for `host`:`port` (not revoked), in file order, including types Wharf cannot use:
    /// for a message such as "keys of other types are known for this host".
    public func knownKeyTypes(host: String, port: Int) -> [String] {
        let name = Self.lookupName(host: host, port: port)
        var types: [String] = []
        for entry in entries where !entry.revoked && Self.matches(entry.hosts, name: name) {
            if !types.contains(entry.keyType) { types.append(entry.keyType) }
        }
        return types
    }

    /// The line to append for a newly trusted key: `host type base64`, `[host]:port type base64` when
    /// `port` is not 22, or with the name hashed as `ssh-keygen -H` does.
    public static func entry(host: String, port: Int, key: NIOSSHPublicKey, hashed: Bool = false) -> String {
        let name = lookupName(host: host, port: port)
        let keyText = String(openSSHPublicKey: key)
        guard hashed else { return "\(name) \(keyText)" }
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<20).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let hash = hmac(salt: salt, name: name)
        return "|1|\(Data(salt).base64EncodedString())|\(Data(hash).base64EncodedString()) \(keyText)"
    }

    /// Appends `entry` as a line of the file at `path` (a leading `~/` is the home directory).
    /// Missing directories are created with mode 0700 and a missing file with mode 0600.
    public static func append(entry: String, to path: String) throws {
        let line = entry.trimmingCharacters(in: .whitespaces)
        guard !line.isEmpty, !line.contains(where: { $0.isNewline }) else {
            throw KnownHostsError.invalidEntry("an entry is one non-empty line")
        }
        let expanded = ClientFiles.expandingTilde(path)
        do {
            try ClientFiles.createDirectories(forFile: expanded)
            try ClientFiles.appendLine(line, to: expanded)
        } catch {
            throw KnownHostsError.cannotWrite(path: path, reason: error.reason)
        }
    }

    // MARK: Parsing and matching

    static func parse(line: Substring, number: Int) -> Entry? {
        var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
        guard let first = fields.first, !first.hasPrefix("#") else { return nil }
        var revoked = false
        if first.hasPrefix("@") {
            // @cert-authority lines need certificate checks; unknown markers are skipped as ssh does.
            guard first == "@revoked" else { return nil }
            revoked = true
            fields = fields.dropFirst()
        }
        guard fields.count >= 3 else { return nil }
        let hostField = fields[fields.startIndex]
        let type = String(fields[fields.startIndex + 1])
        let base64 = String(fields[fields.startIndex + 2])
        guard let hosts = parseHosts(hostField) else { return nil }
        let key = try? NIOSSHPublicKey(openSSHPublicKey: "\(type) \(base64)")
        return Entry(line: number, revoked: revoked, hosts: hosts, keyType: type, key: key)
    }

    private static func parseHosts(_ field: Substring) -> Entry.Hosts? {
        if field.hasPrefix("|") {
            let parts = field.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[1] == "1",
                let salt = Data(base64Encoded: String(parts[2])),
                let hash = Data(base64Encoded: String(parts[3])),
                salt.count == Insecure.SHA1.byteCount, hash.count == Insecure.SHA1.byteCount
            else { return nil }
            return .hashed(salt: Array(salt), hash: Array(hash))
        }
        let patterns = field.split(separator: ",").map { $0.lowercased() }
        return patterns.isEmpty ? nil : .patterns(patterns)
    }

    /// `host`, or `[host]:port` when the port is not 22, lowercased: the name `ssh` looks up.
    static func lookupName(host: String, port: Int) -> String {
        let lower = host.lowercased()
        return port == 22 ? lower : "[\(lower)]:\(port)"
    }

    static func keyType(of key: NIOSSHPublicKey) -> String {
        String(String(openSSHPublicKey: key).prefix(while: { $0 != " " }))
    }

    static func matches(_ hosts: Entry.Hosts, name: String) -> Bool {
        switch hosts {
        case .hashed(let salt, let hash):
            return hmac(salt: salt, name: name) == hash
        case .patterns(let patterns):
            // OpenSSH's match_hostname: any matching negated pattern rejects the line.
            var positive = false
            for pattern in patterns {
                if pattern.hasPrefix("!") {
                    if wildcardMatch(Array(name.utf8), Array(pattern.utf8.dropFirst())) { return false }
                } else if !positive, wildcardMatch(Array(name.utf8), Array(pattern.utf8)) {
                    positive = true
                }
            }
            return positive
        }
    }

    /// `*` matches any run of bytes, `?` any one byte; everything else matches itself.
    static func wildcardMatch(_ text: [UInt8], _ pattern: [UInt8]) -> Bool {
        var t = 0
        var p = 0
        var starPattern = -1
        var starText = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                t += 1
                p += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                starPattern = p
                starText = t
                p += 1
            } else if starPattern >= 0 {
                p = starPattern + 1
                starText += 1
                t = starText
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    private static func hmac(salt: [UInt8], name: String) -> [UInt8] {
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Array(name.utf8), using: SymmetricKey(data: salt))
        return Array(code)
    }
}

/// Why a known_hosts file could not be read or written. Each description is one line.
public enum KnownHostsError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case invalidEntry(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read known hosts file \(path): \(reason)"
        case .cannotWrite(let path, let reason): return "cannot add to known hosts file \(path): \(reason)"
        case .invalidEntry(let reason): return "invalid known hosts entry: \(reason)"
        }
    }
}

/// A failed system call on a client-side file: errno and its text.
struct ClientFileError: Error {
    var code: Int32
    var reason: String

    init(code: Int32) {
        self.code = code
        self.reason = String(cString: strerror(code))
    }

    init(code: Int32, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// Small blocking file helpers for keys and known_hosts (files of a few KiB, read once at start-up).
enum ClientFiles {
    static func expandingTilde(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.path
        return home + path.dropFirst()
    }

    /// The whole file, refusing directories and files over `limit` bytes.
    static func readAll(_ path: String, limit: Int) throws(ClientFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ClientFileError(code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ClientFileError(code: errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ClientFileError(code: EISDIR) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ClientFileError(code: errno)
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
            if result.count > limit {
                throw ClientFileError(code: EFBIG, reason: "larger than \(limit) bytes")
            }
        }
        return result
    }

    /// Creates each missing directory above `path` with mode 0700.
    static func createDirectories(forFile path: String) throws(ClientFileError) {
        let root = path.hasPrefix("/") ? "/" : ""
        var components = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var missing: [String] = []
        while !components.isEmpty {
            let directory = root + components.joined(separator: "/")
            var info = stat()
            if stat(directory, &info) == 0 { break }
            missing.append(directory)
            components = components.dropLast()
        }
        for directory in missing.reversed() {
            if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw ClientFileError(code: errno) }
        }
    }

    /// Appends `line` and a newline, first ending an unterminated last line; a new file gets mode 0600.
    static func appendLine(_ line: String, to path: String) throws(ClientFileError) {
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ClientFileError(code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ClientFileError(code: errno) }
        var text = Array(line.utf8) + [UInt8(ascii: "\n")]
        if info.st_size > 0 {
            var last: UInt8 = 0
            let count = pread(fd, &last, 1, off_t(info.st_size - 1))
            if count == 1, last != UInt8(ascii: "\n") { text.insert(UInt8(ascii: "\n"), at: 0) }
        }
        var offset = 0
        while offset < text.count {
            let written = text[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ClientFileError(code: errno)
            }
            offset += written
        }
    }
}
