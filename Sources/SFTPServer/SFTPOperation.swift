import SFTPProtocol

/// One request the server knows, as OpenSSH's sftp-server `handlers[]` table describes it.
///
/// This table is the single source for the read-only gate, the `-P`/`-p` allow and deny lists,
/// `-Q requests`, and the extensions advertised in VERSION. Dispatch itself is an exhaustive
/// `switch` over the decoded request (see `SFTPSession.perform`), which the compiler checks.
public struct SFTPOperation: Sendable, Hashable {
    public enum Key: Sendable, Hashable {
        case packet(SFTPPacketType)
        case extended(String)
    }

    /// OpenSSH's name for the request, as used by `-P`, `-p` and `-Q requests`.
    public let name: String
    public let key: Key
    /// Whether the request changes the file system (refused in read-only mode).
    public let writes: Bool
    /// The data string advertised in VERSION for extensions.
    public let advertisedVersion: String?

    public static let all: [SFTPOperation] = [
        .init(name: "open", key: .packet(.open), writes: false, advertisedVersion: nil),
        .init(name: "close", key: .packet(.close), writes: false, advertisedVersion: nil),
        .init(name: "read", key: .packet(.read), writes: false, advertisedVersion: nil),
        .init(name: "write", key: .packet(.write), writes: true, advertisedVersion: nil),
        .init(name: "lstat", key: .packet(.lstat), writes: false, advertisedVersion: nil),
        .init(name: "fstat", key: .packet(.fstat), writes: false, advertisedVersion: nil),
        .init(name: "setstat", key: .packet(.setstat), writes: true, advertisedVersion: nil),
        .init(name: "fsetstat", key: .packet(.fsetstat), writes: true, advertisedVersion: nil),
        .init(name: "opendir", key: .packet(.opendir), writes: false, advertisedVersion: nil),
        .init(name: "readdir", key: .packet(.readdir), writes: false, advertisedVersion: nil),
        .init(name: "remove", key: .packet(.remove), writes: true, advertisedVersion: nil),
        .init(name: "mkdir", key: .packet(.mkdir), writes: true, advertisedVersion: nil),
        .init(name: "rmdir", key: .packet(.rmdir), writes: true, advertisedVersion: nil),
        .init(name: "realpath", key: .packet(.realpath), writes: false, advertisedVersion: nil),
        .init(name: "stat", key: .packet(.stat), writes: false, advertisedVersion: nil),
        .init(name: "rename", key: .packet(.rename), writes: true, advertisedVersion: nil),
        .init(name: "readlink", key: .packet(.readlink), writes: false, advertisedVersion: nil),
        .init(name: "symlink", key: .packet(.symlink), writes: true, advertisedVersion: nil),
        .init(name: "posix-rename", key: .extended(SFTPExtendedRequest.Name.posixRename), writes: true, advertisedVersion: "1"),
        .init(name: "statvfs", key: .extended(SFTPExtendedRequest.Name.statvfs), writes: false, advertisedVersion: "2"),
        .init(name: "fstatvfs", key: .extended(SFTPExtendedRequest.Name.fstatvfs), writes: false, advertisedVersion: "2"),
        .init(name: "hardlink", key: .extended(SFTPExtendedRequest.Name.hardlink), writes: true, advertisedVersion: "1"),
        .init(name: "fsync", key: .extended(SFTPExtendedRequest.Name.fsync), writes: true, advertisedVersion: "1"),
        .init(name: "lsetstat", key: .extended(SFTPExtendedRequest.Name.lsetstat), writes: true, advertisedVersion: "1"),
        .init(name: "limits", key: .extended(SFTPExtendedRequest.Name.limits), writes: false, advertisedVersion: "1"),
        .init(name: "expand-path", key: .extended(SFTPExtendedRequest.Name.expandPath), writes: false, advertisedVersion: "1"),
        .init(name: "copy-data", key: .extended(SFTPExtendedRequest.Name.copyData), writes: true, advertisedVersion: "1"),
        .init(name: "home-directory", key: .extended(SFTPExtendedRequest.Name.homeDirectory), writes: false, advertisedVersion: "1"),
        .init(name: "users-groups-by-id", key: .extended(SFTPExtendedRequest.Name.usersGroupsByID), writes: false, advertisedVersion: "1"),
        .init(name: "check-file-name", key: .extended(SFTPExtendedRequest.Name.checkFileName), writes: false, advertisedVersion: CheckFileHasher.supportedNames),
        .init(name: "check-file-handle", key: .extended(SFTPExtendedRequest.Name.checkFileHandle), writes: false, advertisedVersion: CheckFileHasher.supportedNames),
    ]

    private static let byKey: [Key: SFTPOperation] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// The table entry for a request; nil for requests the server does not know.
    public static func operation(for request: SFTPRequest) -> SFTPOperation? {
        switch request {
        case .initialize: return nil
        case .extended(_, let name, _):
            // paramiko's name for check-file-handle.
            let canonical = name == SFTPExtendedRequest.Name.checkFileLegacy ? SFTPExtendedRequest.Name.checkFileHandle : name
            return byKey[.extended(canonical)]
        default:
            return byKey[.packet(request.packetType)]
        }
    }

    public static func named(_ name: String) -> SFTPOperation? {
        all.first { $0.name == name }
    }

    /// The extension pairs for the VERSION reply.
    public static var advertisedExtensions: [(name: String, data: String)] {
        all.compactMap { operation in
            guard case .extended(let name) = operation.key, let version = operation.advertisedVersion else { return nil }
            return (name, version)
        }
    }
}
