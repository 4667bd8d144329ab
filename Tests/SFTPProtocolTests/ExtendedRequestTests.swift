import NIOCore
import Testing

@testable import SFTPProtocol

/// Hand-written extended request payloads (the bytes after the name), per OpenSSH's PROTOCOL
/// and draft-ietf-secsh-filexfer-extensions.
enum ExtendedVectors {
    static let posixRename = hex("00000002 2f6f 00000002 2f6e")
    static let statvfs = hex("00000002 2f73")
    static let fstatvfs = hex("00000001 68")
    static let hardlink = hex("00000002 2f65 00000002 2f6e")
    static let fsync = hex("00000002 6831")
    /// path "/l", attrs {permissions 0600}.
    static let lsetstat = hex("00000002 2f6c 00000004 00000180")
    static let expandPath = hex("00000003 7e2f78")
    /// read handle "r" @16 len 32, write handle "w" @48.
    static let copyData = hex("00000001 72 0000000000000010 0000000000000020 00000001 77 0000000000000030")
    static let homeDirectory = hex("00000005 616c696365")
    /// uids [0, 1000], gids [100].
    static let usersGroupsByID = hex("00000008 00000000 000003e8 00000004 00000064")
    /// "/f", algorithms "md5,sha256", start 0, length 0 (to the end), block size 0 (whole range).
    static let checkFileName = hex("00000002 2f66 0000000a 6d64352c736861323536 0000000000000000 0000000000000000 00000000")
    /// handle "h", "sha1", start 256, length 512, block size 32768.
    static let checkFileHandle = hex("00000001 68 00000004 73686131 0000000000000100 0000000000000200 00008000")

    /// Payload vectors with at least one field, for truncation tests.
    static let all: [(name: String, payload: [UInt8])] = [
        ("posix-rename@openssh.com", posixRename),
        ("statvfs@openssh.com", statvfs),
        ("fstatvfs@openssh.com", fstatvfs),
        ("hardlink@openssh.com", hardlink),
        ("fsync@openssh.com", fsync),
        ("lsetstat@openssh.com", lsetstat),
        ("expand-path@openssh.com", expandPath),
        ("copy-data", copyData),
        ("home-directory", homeDirectory),
        ("users-groups-by-id@openssh.com", usersGroupsByID),
        ("check-file-name", checkFileName),
        ("check-file-handle", checkFileHandle),
        ("check-file", checkFileHandle),
    ]
}

private func extended(_ name: String, _ payload: [UInt8]) throws(SFTPProtocolError) -> SFTPExtendedRequest? {
    try SFTPExtendedRequest(name: name, payload: ByteBuffer(bytes: payload))
}

@Suite("SFTPExtendedRequest decoding")
struct ExtendedRequestTests {
    @Test func wireNames() {
        typealias N = SFTPExtendedRequest.Name
        #expect(N.posixRename == "posix-rename@openssh.com")
        #expect(N.statvfs == "statvfs@openssh.com")
        #expect(N.fstatvfs == "fstatvfs@openssh.com")
        #expect(N.hardlink == "hardlink@openssh.com")
        #expect(N.fsync == "fsync@openssh.com")
        #expect(N.lsetstat == "lsetstat@openssh.com")
        #expect(N.limits == "limits@openssh.com")
        #expect(N.expandPath == "expand-path@openssh.com")
        #expect(N.copyData == "copy-data")
        #expect(N.homeDirectory == "home-directory")
        #expect(N.usersGroupsByID == "users-groups-by-id@openssh.com")
        #expect(N.checkFileName == "check-file-name")
        #expect(N.checkFileHandle == "check-file-handle")
        #expect(N.checkFileLegacy == "check-file")
    }

    @Test func posixRename() throws {
        let request = try #require(try extended("posix-rename@openssh.com", ExtendedVectors.posixRename))
        guard case .posixRename(let oldPath, let newPath) = request else { Issue.record("got \(request)"); return }
        #expect(oldPath == "/o")
        #expect(newPath == "/n")
    }

    @Test func statvfs() throws {
        let request = try #require(try extended("statvfs@openssh.com", ExtendedVectors.statvfs))
        guard case .statvfs(let path) = request else { Issue.record("got \(request)"); return }
        #expect(path == "/s")
    }

    @Test func fstatvfs() throws {
        let request = try #require(try extended("fstatvfs@openssh.com", ExtendedVectors.fstatvfs))
        guard case .fstatvfs(let handle) = request else { Issue.record("got \(request)"); return }
        #expect(bytes(of: handle) == ascii("h"))
    }

    @Test func hardlink() throws {
        let request = try #require(try extended("hardlink@openssh.com", ExtendedVectors.hardlink))
        guard case .hardlink(let oldPath, let newPath) = request else { Issue.record("got \(request)"); return }
        #expect(oldPath == "/e")
        #expect(newPath == "/n")
    }

    @Test func fsync() throws {
        let request = try #require(try extended("fsync@openssh.com", ExtendedVectors.fsync))
        guard case .fsync(let handle) = request else { Issue.record("got \(request)"); return }
        #expect(bytes(of: handle) == ascii("h1"))
    }

    @Test func lsetstat() throws {
        let request = try #require(try extended("lsetstat@openssh.com", ExtendedVectors.lsetstat))
        guard case .lsetstat(let path, let attributes) = request else { Issue.record("got \(request)"); return }
        #expect(path == "/l")
        #expect(attributes == SFTPFileAttributes(permissions: 0o600))
    }

    @Test func limits() throws {
        let request = try #require(try extended("limits@openssh.com", []))
        guard case .limits = request else { Issue.record("got \(request)"); return }
        // Extra bytes are ignored.
        let padded = try #require(try extended("limits@openssh.com", [0, 0, 0, 0]))
        guard case .limits = padded else { Issue.record("got \(padded)"); return }
    }

    @Test func expandPath() throws {
        let request = try #require(try extended("expand-path@openssh.com", ExtendedVectors.expandPath))
        guard case .expandPath(let path) = request else { Issue.record("got \(request)"); return }
        #expect(path == "~/x")
    }

    @Test func copyData() throws {
        let request = try #require(try extended("copy-data", ExtendedVectors.copyData))
        guard case .copyData(let readHandle, let readOffset, let readLength, let writeHandle, let writeOffset) = request
        else {
            Issue.record("got \(request)")
            return
        }
        #expect(bytes(of: readHandle) == ascii("r"))
        #expect(readOffset == 16)
        #expect(readLength == 32)
        #expect(bytes(of: writeHandle) == ascii("w"))
        #expect(writeOffset == 48)
    }

    @Test func homeDirectory() throws {
        let request = try #require(try extended("home-directory", ExtendedVectors.homeDirectory))
        guard case .homeDirectory(let username) = request else { Issue.record("got \(request)"); return }
        #expect(username == "alice")
    }

    @Test func usersGroupsByID() throws {
        let request = try #require(try extended("users-groups-by-id@openssh.com", ExtendedVectors.usersGroupsByID))
        guard case .usersGroupsByID(let uids, let gids) = request else { Issue.record("got \(request)"); return }
        #expect(uids == [0, 1000])
        #expect(gids == [100])
    }

    @Test func usersGroupsByIDWithEmptyLists() throws {
        let request = try #require(try extended("users-groups-by-id@openssh.com", hex("00000000 00000000")))
        guard case .usersGroupsByID(let uids, let gids) = request else { Issue.record("got \(request)"); return }
        #expect(uids.isEmpty)
        #expect(gids.isEmpty)
    }

    @Test func usersGroupsByIDRejectsPartialIDs() {
        // A uid list of 5 bytes is not a list of uint32.
        #expect(throws: SFTPProtocolError.self) {
            try extended("users-groups-by-id@openssh.com", hex("00000005 0000000001 00000000"))
        }
    }

    @Test func checkFileName() throws {
        let request = try #require(try extended("check-file-name", ExtendedVectors.checkFileName))
        guard case .checkFile(let target, let algorithms, let start, let length, let blockSize) = request else {
            Issue.record("got \(request)")
            return
        }
        guard case .path(let path) = target else { Issue.record("target \(target)"); return }
        #expect(path == "/f")
        #expect(algorithms == ["md5", "sha256"])
        #expect(start == 0)
        #expect(length == 0)
        #expect(blockSize == 0)
    }

    @Test func checkFileHandle() throws {
        let request = try #require(try extended("check-file-handle", ExtendedVectors.checkFileHandle))
        guard case .checkFile(let target, let algorithms, let start, let length, let blockSize) = request else {
            Issue.record("got \(request)")
            return
        }
        guard case .handle(let handle) = target else { Issue.record("target \(target)"); return }
        #expect(bytes(of: handle) == ascii("h"))
        #expect(algorithms == ["sha1"])
        #expect(start == 256)
        #expect(length == 512)
        #expect(blockSize == 32768)
    }

    @Test("paramiko's check-file carries a handle")
    func checkFileLegacy() throws {
        let request = try #require(try extended("check-file", ExtendedVectors.checkFileHandle))
        guard case .checkFile(let target, let algorithms, _, _, let blockSize) = request else {
            Issue.record("got \(request)")
            return
        }
        guard case .handle(let handle) = target else { Issue.record("target \(target)"); return }
        #expect(bytes(of: handle) == ascii("h"))
        #expect(algorithms == ["sha1"])
        #expect(blockSize == 32768)
    }

    @Test(arguments: ["nope@example.com", "", "posix-rename", "POSIX-RENAME@OPENSSH.COM", "check-file-"])
    func unknownNameIsNil(name: String) throws {
        #expect(try extended(name, ExtendedVectors.posixRename) == nil)
    }

    @Test("every cut of every payload throws", arguments: ExtendedVectors.all.map(\.name))
    func truncatedPayloads(name: String) throws {
        let payload = try #require(ExtendedVectors.all.first { $0.name == name }).payload
        for cut in 0..<payload.count {
            #expect(throws: SFTPProtocolError.self, "\(name) cut at \(cut)") {
                try extended(name, Array(payload.prefix(cut)))
            }
        }
        // And the whole vector decodes.
        #expect(try extended(name, payload) != nil)
    }

    @Test func truncationIsReportedAsMalformed() {
        #expect(throws: SFTPProtocolError.malformed("truncated statvfs@openssh.com request")) {
            try extended("statvfs@openssh.com", hex("00000005 2f"))
        }
    }

    @Test func fromAWholeExtendedPacket() throws {
        // SSH_FXP_EXTENDED id=7 "posix-rename@openssh.com" "/o" "/n".
        let packet = hex("c8 00000007 00000018") + ascii("posix-rename@openssh.com") + hex("00000002 2f6f 00000002 2f6e")
        let request = try decode(packet)
        guard case .extended(let id, let name, let payload) = request else { Issue.record("got \(request)"); return }
        #expect(id == 7)
        let decoded = try #require(try SFTPExtendedRequest(name: name, payload: payload))
        guard case .posixRename(let oldPath, let newPath) = decoded else { Issue.record("got \(decoded)"); return }
        #expect(oldPath == "/o")
        #expect(newPath == "/n")
    }
}
