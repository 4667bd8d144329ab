import FTPProtocol
import NIOCore
import SFTPProtocol
import Testing

@testable import WharfClient

@Suite("FTP client parts: FEAT, replies, attributes, CRC-32")
struct FTPClientPartsTests {
    @Test func readsFeatures() {
        let features = FTPFeatures(featReplyLines: [
            "Features:", " MDTM", " MLST type*;size*;modify*;", " REST STREAM", " HASH SHA-256*;SHA-1;MD5;CRC32",
            " UTF8", " MFMT", "End",
        ])
        #expect(features.machineListings)
        #expect(features.restartStream)
        #expect(features.utf8)
        #expect(features.setModificationTime)
        #expect(features.hashAlgorithms.all == ["SHA-256", "SHA-1", "MD5", "CRC32"])
        #expect(features.hashAlgorithms.selected == "SHA-256")
        #expect(!features.offers("EPSV"))
        // vsftpd: no MLST, REST STREAM, no HASH.
        let vsftpd = FTPFeatures(featReplyLines: ["Features:", " EPRT", " EPSV", " MDTM", " PASV", " REST STREAM", " SIZE", " TVFS", "End"])
        #expect(!vsftpd.machineListings)
        #expect(vsftpd.restartStream)
        #expect(vsftpd.hashAlgorithms.all.isEmpty)
        // A FEAT whose REST has no STREAM: uploads resume with APPE.
        #expect(!FTPFeatures(featReplyLines: ["Features:", " REST", "End"]).restartStream)
    }

    @Test func selectsTheMachineListingFactsItReads() {
        // pyftpdlib: unix.mode offered but not selected by default.
        let pyftpdlib = FTPFeatures(featReplyLines: [
            "Features supported:", " MLST type*;perm*;size*;modify*;unique*;unix.mode;unix.uid;unix.gid;", "End FEAT.",
        ])
        #expect(pyftpdlib.machineListingFactsToSelect == "type;size;modify;unix.mode;perm;")
        // Everything wanted already selected: nothing to ask.
        let wharf = FTPFeatures(featReplyLines: ["Features:", " MLST type*;size*;modify*;perm*;unique*;unix.mode*;", "End"])
        #expect(wharf.machineListingFactsToSelect == nil)
        #expect(FTPFeatures(featReplyLines: ["Features:", " SIZE", "End"]).machineListingFactsToSelect == nil)
    }

    @Test func mapsHashNames() {
        #expect(FTPHashAlgorithm.checkFileName("sha-256") == "sha256")
        #expect(FTPHashAlgorithm.checkFileName("CRC32") == "crc32")
        #expect(FTPHashAlgorithm.checkFileName("SHA-3") == nil)
    }

    @Test func findsDigestsInReplies() {
        // HASH (draft-bryan-ftpext-hash): algorithm, range, digest, name.
        #expect(
            FTPClient.hexDigest(in: "SHA-256 0-5 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 a.txt", length: 0)
                == [0x58, 0x91, 0xb5, 0xb5, 0x22, 0xd5, 0xdf, 0x08, 0x6d, 0x0f, 0xf0, 0xb1, 0x10, 0xfb, 0xd9, 0xd2,
                    0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf, 0x34, 0xd0, 0x82, 0x86, 0xa2, 0xe8, 0x46, 0xf6, 0xbe, 0x03])
        #expect(FTPClient.hexDigest(in: "CBF43926", length: 8) == [0xcb, 0xf4, 0x39, 0x26])
        #expect(FTPClient.hexDigest(in: "File not found", length: 0) == nil)
        #expect(FTPClient.hexDigest(in: "deadbeefz1", length: 0) == nil)
    }

    @Test func readsQuotedPaths() {
        #expect(FTPControlConnection.quotedPath(in: "\"/home/u\" is the current directory") == "/home/u")
        #expect(FTPControlConnection.quotedPath(in: "\"/a \"\"b\"\"\" created") == "/a \"b\"")
        #expect(FTPControlConnection.quotedPath(in: "no quotes") == nil)
        #expect(FTPControlConnection.quotedPath(in: "\"unterminated") == nil)
    }

    @Test func refusesPathsWithLineBreaks() {
        #expect(throws: FTPClientError.unusablePath("a\r\nDELE b")) { try FTPControlConnection.checkedPath("a\r\nDELE b") }
        #expect((try? FTPControlConnection.checkedPath("données/日本.txt")) == "données/日本.txt")
    }

    @Test func turnsListedEntriesIntoAttributes() {
        let file = FTPClient.attributes(FTPRemoteEntry(name: "a", kind: .file, size: 5, modificationTime: 1_700_000_000, permissions: 0o600))
        #expect(file.permissions == 0o100600)
        #expect(file.size == 5)
        #expect(file.accessModificationTime?.mtime == 1_700_000_000)
        #expect(file.permissionBits == 0o600)
        // No mode in the listing: the type is known, the permission bits are not (and not made up).
        let directory = FTPClient.attributes(FTPRemoteEntry(name: "d", kind: .directory))
        #expect(directory.isDirectory)
        #expect(directory.permissionBits == nil)
        let link = FTPClient.attributes(FTPRemoteEntry(name: "l", kind: .symlink(target: "a")))
        #expect(link.isSymbolicLink)
    }

    @Test func classifiesErrors() {
        let missing = FTPClientError.refused(command: "SIZE", path: "x", code: 550, text: "No such file")
        #expect(RemoteFailure.isRefusal(missing))
        #expect(RemoteFailure.isNoSuchFile(missing))
        #expect(!ConnectionLoss.matches(missing))
        #expect(ConnectionLoss.matches(FTPClientError.transferAborted("426")))
        #expect(ConnectionLoss.matches(FTPClientError.timedOut("waiting")))
        #expect(ConnectionLoss.matches(FTPClientError.refused(command: "RETR", path: "x", code: 421, text: "bye")))
        #expect(!ConnectionLoss.matches(FTPClientError.loginFailed(code: 530, text: "Login incorrect")))
        #expect(!RemoteFailure.isRefusal(FTPClientError.connectionClosed))
        #expect(ConnectionLoss.matches(FileTransferError.incomplete(path: "x", expected: 2, received: 1)))
    }

    @Test func computesCRC32AsZlibDoes() {
        var crc = CRC32()
        Array("123456789".utf8).withUnsafeBytes { crc.update($0) }
        #expect(crc.value == 0xCBF4_3926)
        #expect(CRC32().value == 0)
        var digest = RunningDigest(.crc32)
        digest.update(ByteBuffer(string: "1234"))
        digest.update(ByteBuffer(string: "56789"))
        #expect(digest.finalize() == [0xcb, 0xf4, 0x39, 0x26])
    }
}
