import ArgumentParser
import Foundation
import SFTPProtocol
import WharfClient

/// A remote entry as `ls --json` and `stat --json` print it. `permissions` is null when the server
/// did not say them (FTP without a mode), never made up.
struct RemoteEntry: Encodable {
    var name: String
    var type: String
    var size: UInt64
    var permissions: String?
    var mtime: UInt32?
    var modeString: String

    init(_ name: SFTPName) {
        let attributes = name.attributes
        self.name = name.filename
        self.type = attributes.isDirectory ? "directory" : attributes.isRegularFile ? "file" : attributes.isSymbolicLink ? "symlink" : "other"
        self.size = attributes.size ?? 0
        self.permissions = attributes.permissionBits.map { bits in
            let octal = String(bits, radix: 8)
            return String(repeating: "0", count: max(0, 4 - octal.count)) + octal
        }
        self.mtime = attributes.accessModificationTime?.mtime
        self.modeString = Self.modeString(attributes.permissions ?? 0, knownBits: attributes.permissionBits != nil)
    }

    enum CodingKeys: String, CodingKey { case name, type, size, permissions, mtime }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.type, forKey: .type)
        try container.encode(self.size, forKey: .size)
        try container.encode(self.permissions, forKey: .permissions)  // null when unknown
        try container.encodeIfPresent(self.mtime, forKey: .mtime)
    }

    /// The server's longname when it sent one (OpenSSH does), else one made like it.
    func longLine(serverLongname: String) -> String {
        if !serverLongname.isEmpty { return serverLongname }
        let date = self.mtime.map { JSONOutput.listingDate($0) } ?? ""
        return "\(self.modeString)  \(String(self.size).leftPadded(8)) \(date) \(self.name)"
    }

    static func modeString(_ mode: UInt32, knownBits: Bool = true) -> String {
        let type: Character
        switch mode & 0o170000 {
        case 0o040000: type = "d"
        case 0o120000: type = "l"
        case 0o020000: type = "c"
        case 0o060000: type = "b"
        case 0o010000: type = "p"
        case 0o140000: type = "s"
        default: type = "-"
        }
        let letters: [(UInt32, Character)] = [
            (0o400, "r"), (0o200, "w"), (0o100, "x"), (0o040, "r"), (0o020, "w"), (0o010, "x"), (0o004, "r"),
            (0o002, "w"), (0o001, "x"),
        ]
        guard knownBits else { return String(type) + "?????????" }
        return String([type] + letters.map { mode & $0.0 != 0 ? $0.1 : "-" })
    }
}

enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func iso8601(_ seconds: UInt32) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    static func listingDate(_ seconds: UInt32) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "MMM dd HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        self.count >= width ? self : String(repeating: " ", count: width - self.count) + self
    }
}

/// A failure the command reports in one line; the exit status is 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command body; any error becomes one line on stderr and exit status 1.
@discardableResult
func runReportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("wharf: \(error)")
        throw ExitCode.failure
    }
}

/// Resolves a path argument that names another file on the same server.
enum RemotePaths {
    static func sameServerPath(_ text: String, of location: RemoteLocation) throws -> String {
        if RemoteLocation.isURL(text) {
            let other = try parseLocation(text)
            guard other.scheme == location.scheme, other.host == location.host, other.port == location.port else {
                throw ValidationError("\(text) is on another server than \(location)")
            }
            return other.path
        }
        return text
    }

    static func join(_ directory: String, _ name: String) -> String { RemotePath.join(directory, name) }
    static func lastComponent(_ path: String) -> String { RemotePath.lastComponent(path) }
    static func makeDirectories(_ path: String, on remote: any RemoteFileSystem) async throws { try await remote.makeDirectories(path) }
    static func removeTree(_ path: String, on remote: any RemoteFileSystem) async throws { try await remote.removeTree(path) }

    /// The SFTP session behind `remote`, for the commands FTP has no counterpart of.
    static func sftp(_ remote: any RemoteFileSystem, for command: String) throws -> SFTPClient {
        guard let sftp = remote as? SFTPClient else { throw CommandFailure("\(command): not available over FTP") }
        return sftp
    }
}
