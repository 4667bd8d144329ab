import Foundation

extension AuthorizedKey {
    /// Largest key file read: real authorized_keys files are a few kilobytes.
    static let maxKeyFileBytes = 1 << 20

    /// Parses `authorized_keys` / `.pub` text: one key per line, blank lines and `#` comments skipped.
    /// A bad line fails the whole list, naming `source` and the line number.
    public static func parseList(_ text: String, source: String) throws(UserStoreError) -> [AuthorizedKey] {
        var keys: [AuthorizedKey] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                keys.append(try AuthorizedKey(line: line))
            } catch {
                throw .inKeyFile(path: source, line: index + 1, error)
            }
        }
        guard !keys.isEmpty else { throw .noKeysInFile(source) }
        return keys
    }

    /// A command-line `KEY_OR_FILE`: an existing path is read as a key file; otherwise text with
    /// whitespace in it is taken as one key line; anything else is reported as a missing file
    /// (a lone word is far more likely a mistyped path than a key).
    public static func load(keyOrFile argument: String) throws(UserStoreError) -> [AuthorizedKey] {
        if FileManager.default.fileExists(atPath: argument) {
            return try parseList(readKeyFile(argument), source: argument)
        }
        if argument.contains(where: { $0 == " " || $0 == "\t" }) {
            return [try AuthorizedKey(line: argument)]
        }
        throw .keyFileUnreadable(path: argument, reason: "no such file, and not a key line")
    }

    private static func readKeyFile(_ path: String) throws(UserStoreError) -> String {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw .keyFileUnreadable(path: path, reason: "cannot stat it")
        }
        // Refuse devices and FIFOs (e.g. /dev/zero), which would never end, and oversized files.
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw .keyFileUnreadable(path: path, reason: "not a regular file")
        }
        guard let size = attributes[.size] as? Int, size <= maxKeyFileBytes else {
            throw .keyFileUnreadable(path: path, reason: "larger than \(maxKeyFileBytes) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .keyFileUnreadable(path: path, reason: "permission denied or I/O error")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .keyFileUnreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}
