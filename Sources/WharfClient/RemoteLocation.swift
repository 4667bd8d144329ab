/// A parsed `scheme://[user[:password]@]host[:port]/path` URL: `sftp://` (port 22), `ftp://`
/// (21), `ftpes://` (FTP with AUTH TLS required, 21) or `ftps://` (implicit TLS, 990).
///
/// Path rule (curl's): the path is relative to the login directory, so `sftp://h/docs/a.txt` is
/// `docs/a.txt` in the home; a second slash makes it absolute, `sftp://h//etc/motd` is `/etc/motd`;
/// `sftp://h/~/docs` is the same as `sftp://h/docs`. `%XX` escapes are decoded.
public struct RemoteLocation: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable, CaseIterable {
        case sftp, ftp, ftpes, ftps

        public var defaultPort: Int {
            switch self {
            case .sftp: return 22
            case .ftp, .ftpes: return 21
            case .ftps: return 990
            }
        }

        public var isFTP: Bool { self != .sftp }
    }

    public var scheme: Scheme
    public var user: String?
    /// A password given in the URL (`user:password@`); visible to other users in process listings,
    /// so `--password-stdin` or `WHARF_PASSWORD` are better.
    public var password: String?
    public var host: String
    public var port: Int
    /// Relative to the login directory, or absolute; "." for the login directory itself.
    public var path: String

    public init(scheme: Scheme = .sftp, user: String?, password: String? = nil, host: String, port: Int? = nil, path: String) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.path = path
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case notAURL(String)
        case unsupportedScheme(String)
        case missingHost(String)
        case invalidPort(String)
        case badEscape(String)

        public var description: String {
            switch self {
            case .notAURL(let text): return "not a URL: \(text) (expected sftp:// or ftp://[user@]host[:port]/path)"
            case .unsupportedScheme(let scheme):
                return "unsupported scheme \(scheme):// (supported: sftp://, ftp://, ftpes://, ftps://)"
            case .missingHost(let text): return "no host in \(text)"
            case .invalidPort(let port): return "invalid port \(port)"
            case .badEscape(let text): return "bad %-escape in \(text)"
            }
        }
    }

    /// True for text that looks like a URL rather than a local path.
    public static func isURL(_ text: String) -> Bool {
        text.contains("://")
    }

    public init(parsing text: String) throws(ParseError) {
        guard let schemeEnd = text.range(of: "://") else { throw .notAURL(text) }
        let schemeName = text[..<schemeEnd.lowerBound].lowercased()
        guard let scheme = Scheme(rawValue: schemeName) else { throw .unsupportedScheme(schemeName) }
        let rest = text[schemeEnd.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        let rawPath = rest[slash...]

        var user: String? = nil
        var password: String? = nil
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecode(String(userInfo[..<colon]))
                password = try Self.percentDecode(String(userInfo[userInfo.index(after: colon)...]))
            } else {
                user = try Self.percentDecode(String(userInfo))
            }
            authority = authority[authority.index(after: at)...]
        }

        var host: String
        var port = scheme.defaultPort
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .missingHost(text) }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else {
                    throw .invalidPort(String(after.dropFirst()))
                }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            let portText = String(authority[authority.index(after: colon)...])
            guard let value = Int(portText), (1...65535).contains(value) else { throw .invalidPort(portText) }
            port = value
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw .missingHost(text) }

        var path = try Self.percentDecode(String(rawPath))
        if path.hasPrefix("//") {
            path = String(path.dropFirst())
        } else {
            path = String(path.drop(while: { $0 == "/" }))
            if path == "~" { path = "" }
            if path.hasPrefix("~/") { path = String(path.dropFirst(2)) }
            if path.isEmpty { path = "." }
        }
        self.init(scheme: scheme, user: user, password: password, host: host, port: port, path: path)
    }

    static func percentDecode(_ text: String) throws(ParseError) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { throw .badEscape(text) }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same server, another path.
    public func with(path: String) -> RemoteLocation {
        var copy = self
        copy.path = path
        return copy
    }

    public var description: String {
        let userPart = self.user.map { "\($0)@" } ?? ""
        let hostPart = self.host.contains(":") ? "[\(self.host)]" : self.host
        let portPart = self.port == self.scheme.defaultPort ? "" : ":\(self.port)"
        let pathPart = self.path.hasPrefix("/") ? "/" + self.path : (self.path == "." ? "/" : "/" + self.path)
        // The password is never shown.
        return "\(self.scheme.rawValue)://\(userPart)\(hostPart)\(portPart)\(pathPart)"
    }
}
