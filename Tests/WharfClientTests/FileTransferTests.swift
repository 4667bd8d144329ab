import Foundation
import NIOCore
import SFTPProtocol
import SFTPServer
import Synchronization
import Testing

@testable import WharfClient

@Suite("File transfers: temporary name, resume, verification, globs")
struct FileTransferTests {
    @Test("downloadFile and uploadFile, checked by SHA-256", arguments: [0, 1, 1024 * 1024 + 1])
    func downloadAndUpload(size: Int) async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: size, seed: UInt64(size) + 100)
            try fixture.createFile("remote file.bin", contents: data)
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o640, .modificationDate: Date(timeIntervalSince1970: 1_600_000_000)],
                ofItemAtPath: fixture.path("remote file.bin"))

            let progress = TransferProgressRecorder()
            let result = try await client.downloadFile(
                remotePath: "remote file.bin", localPath: local.path("down.bin"),
                options: TransferOptions(verify: true, progress: progress.record))
            #expect(result.size == UInt64(size))
            #expect(result.bytesTransferred == UInt64(size))
            #expect(result.verification?.method == .checkFile)
            #expect(result.verification?.algorithm == "sha256")
            #expect(try sha256(file: local.path("down.bin")) == sha256(data))
            #expect(!FileManager.default.fileExists(atPath: local.path("down.bin.wharf-part")))
            #expect(try diskModificationTime(local.path("down.bin")) == 1_600_000_000)
            #expect(try diskPermissions(local.path("down.bin")) == 0o640)
            #expect(progress.last?.done == UInt64(size))
            #expect(progress.last?.total == UInt64(size))
            #expect(progress.isNonDecreasing)

            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_500_000_000)], ofItemAtPath: local.path("down.bin"))
            let upload = try await client.uploadFile(
                localPath: local.path("down.bin"), remotePath: "up loaded.bin", options: TransferOptions(verify: true))
            #expect(upload.bytesTransferred == UInt64(size))
            #expect(upload.verification?.digest == sha256(data))
            #expect(try sha256(file: fixture.path("up loaded.bin")) == sha256(data))
            #expect(try diskModificationTime(fixture.path("up loaded.bin")) == 1_500_000_000)
            #expect(try fixture.permissions("up loaded.bin") == 0o640)
        }
    }

    @Test func withoutPreservingAttributesOnlyTheTimeIsCopied() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            try fixture.createFile("f", contents: [1, 2, 3])
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o600, .modificationDate: Date(timeIntervalSince1970: 1_234_567_890)],
                ofItemAtPath: fixture.path("f"))
            try await client.downloadFile(
                remotePath: "f", localPath: local.path("f"), options: TransferOptions(preserveAttributes: false))
            #expect(try diskModificationTime(local.path("f")) == 1_234_567_890)
            #expect(try diskPermissions(local.path("f")) != 0o600)
        }
    }

    @Test func aCancelledDownloadLeavesNothingAtTheFinalNameAndResumes() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 6 * 1024 * 1024 + 5, seed: 7)
            try fixture.createFile("big", contents: data)
            let target = local.path("big")
            // Cancelled from its own progress callback, once past the first MiB: surely midway.
            let transfer = Task {
                try await client.downloadFile(
                    remotePath: "big", localPath: target,
                    options: TransferOptions(requestsInFlight: 4) { done, _ in
                        if done > 1024 * 1024 { withUnsafeCurrentTask { $0?.cancel() } }
                    })
            }
            let outcome = await transfer.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            #expect(!FileManager.default.fileExists(atPath: target))
            let partSize = try diskFileSize(target + ".wharf-part")
            #expect(partSize > 1024 * 1024 && partSize < UInt64(data.count))

            let resumed = try await client.downloadFile(
                remotePath: "big", localPath: target, options: TransferOptions(resume: true))
            #expect(resumed.resumedFrom == partSize)
            #expect(resumed.bytesTransferred == UInt64(data.count) - partSize)
            #expect(resumed.verification?.method == .checkFile, "a resumed download is verified")
            #expect(try sha256(file: target) == sha256(data))
            #expect(!FileManager.default.fileExists(atPath: target + ".wharf-part"))

            // Complete already: nothing to do.
            let again = try await client.downloadFile(remotePath: "big", localPath: target, options: TransferOptions(resume: true))
            #expect(again.alreadyComplete)
            #expect(again.bytesTransferred == 0)
        }
    }

    @Test func aDownloadThatFailsLeavesNothingAtTheFinalName() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let missing = await #expect(throws: SFTPClientError.self) {
                try await client.downloadFile(remotePath: "missing", localPath: local.path("missing"))
            }
            #expect(missing?.statusCode == .noSuchFile)
            #expect(try FileManager.default.contentsOfDirectory(atPath: local.root).isEmpty)

            try FileManager.default.createDirectory(atPath: fixture.path("dir"), withIntermediateDirectories: true)
            await #expect(throws: FileTransferError.notARegularFile(path: "dir")) {
                try await client.downloadFile(remotePath: "dir", localPath: local.path("dir"))
            }
            // The local directory for it is missing: the temporary file cannot even be created.
            try fixture.createFile("f", contents: [1])
            await #expect(throws: LocalFileError.self) {
                try await client.downloadFile(remotePath: "f", localPath: local.path("no/such/dir/f"))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: local.root).isEmpty)
        }
    }

    @Test func resumeADownloadFromATruncatedPartial() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 2 * 1024 * 1024 + 11, seed: 8)
            try fixture.createFile("f", contents: data)
            let kept = 777_777
            try Data(data.prefix(kept)).write(to: URL(fileURLWithPath: local.path("f.wharf-part")))
            let result = try await client.downloadFile(remotePath: "f", localPath: local.path("f"), options: TransferOptions(resume: true))
            #expect(result.resumedFrom == UInt64(kept))
            #expect(result.bytesTransferred == UInt64(data.count - kept))
            #expect(result.verification != nil)
            #expect(try sha256(file: local.path("f")) == sha256(data))

            // A partial that is not a prefix of the file: the verification catches it, then it is
            // downloaded again from the start.
            var wrong = Array(data.prefix(kept))
            wrong[1000] ^= 0xff
            try Data(wrong).write(to: URL(fileURLWithPath: local.path("g.wharf-part")))
            let redone = try await client.downloadFile(remotePath: "f", localPath: local.path("g"), options: TransferOptions(resume: true))
            #expect(redone.resumedFrom == 0)
            #expect(redone.bytesTransferred == UInt64(data.count))
            #expect(try sha256(file: local.path("g")) == sha256(data))

            // A partial larger than the remote file starts from 0.
            try Data(data + [1, 2, 3]).write(to: URL(fileURLWithPath: local.path("h.wharf-part")))
            let restarted = try await client.downloadFile(remotePath: "f", localPath: local.path("h"), options: TransferOptions(resume: true))
            #expect(restarted.resumedFrom == 0)
            #expect(try sha256(file: local.path("h")) == sha256(data))

            // Without resume the partial is ignored and overwritten.
            try Data([9, 9, 9]).write(to: URL(fileURLWithPath: local.path("i.wharf-part")))
            let fresh = try await client.downloadFile(remotePath: "f", localPath: local.path("i"))
            #expect(fresh.resumedFrom == 0)
            #expect(try sha256(file: local.path("i")) == sha256(data))
        }
    }

    @Test func resumeAnUploadFromATruncatedRemoteFile() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 1024 * 1024 + 1, seed: 9)
            try Data(data).write(to: URL(fileURLWithPath: local.path("whole")))
            let kept = 300_001
            try fixture.createFile("partial", contents: Array(data.prefix(kept)))
            let result = try await client.uploadFile(
                localPath: local.path("whole"), remotePath: "partial", options: TransferOptions(resume: true))
            #expect(result.resumedFrom == UInt64(kept))
            #expect(result.bytesTransferred == UInt64(data.count - kept))
            #expect(result.verification?.method == .checkFile)
            #expect(try sha256(file: fixture.path("partial")) == sha256(data))

            // A remote file larger than the local one is rewritten.
            try fixture.createFile("longer", contents: data + data)
            let rewritten = try await client.uploadFile(
                localPath: local.path("whole"), remotePath: "longer", options: TransferOptions(resume: true))
            #expect(rewritten.resumedFrom == 0)
            #expect(try sha256(file: fixture.path("longer")) == sha256(data))

            // A remote prefix that differs: verified, found wrong, uploaded again whole.
            var wrong = Array(data.prefix(kept))
            wrong[5] ^= 1
            try fixture.createFile("wrong", contents: wrong)
            let redone = try await client.uploadFile(
                localPath: local.path("whole"), remotePath: "wrong", options: TransferOptions(resume: true))
            #expect(redone.resumedFrom == 0)
            #expect(try sha256(file: fixture.path("wrong")) == sha256(data))
        }
    }

    @Test func verifyFindsAChangedFile() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let data = pseudoRandomBytes(count: 100_000, seed: 10)
            try fixture.createFile("remote.bin", contents: data)
            try await client.downloadFile(remotePath: "remote.bin", localPath: local.path("local.bin"))
            let verified = try await client.verify(localPath: local.path("local.bin"), remotePath: "remote.bin")
            #expect(verified.method == .checkFile)
            #expect(verified.hexDigest.count == 64)

            var changed = data
            changed[50_000] ^= 0x55
            try Data(changed).write(to: URL(fileURLWithPath: local.path("local.bin")))
            let error = await #expect(throws: FileTransferError.self) {
                try await client.verify(localPath: local.path("local.bin"), remotePath: "remote.bin")
            }
            guard case .verificationFailed(let path, let algorithm, let localDigest, let remoteDigest) = error else {
                Issue.record("expected a verification failure, got \(String(describing: error))")
                return
            }
            #expect(path == "remote.bin")
            #expect(algorithm == "sha256")
            #expect(localDigest == hexString(sha256(changed)))
            #expect(remoteDigest == hexString(sha256(data)))
            #expect(
                error?.description
                    == "verification failed: remote.bin differs (sha256 local \(localDigest), remote \(remoteDigest))")

            try Data(data + [0]).write(to: URL(fileURLWithPath: local.path("local.bin")))
            await #expect(throws: FileTransferError.verificationFailed(path: "remote.bin", algorithm: "size", local: "100001", remote: "100000")) {
                try await client.verify(localPath: local.path("local.bin"), remotePath: "remote.bin")
            }
        }
    }

    @Test func withoutCheckFileTheRemoteFileIsReadBack() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        var configuration = SFTPSessionConfiguration()
        configuration.deniedRequests = ["check-file-name", "check-file-handle"]
        // Halved DATA replies: the read-back hashes blocks that arrive after the re-asked gaps.
        try await Loopback.run(configuration: configuration, replies: .halvedData) { client, fixture in
            let data = pseudoRandomBytes(count: 1024 * 1024 + 1, seed: 11)
            try fixture.createFile("remote.bin", contents: data)
            let result = try await client.downloadFile(
                remotePath: "remote.bin", localPath: local.path("local.bin"), options: TransferOptions(verify: true))
            #expect(result.verification?.method == .readBack)
            #expect(result.verification?.digest == sha256(data))

            var changed = data
            changed[0] ^= 1
            try Data(changed).write(to: URL(fileURLWithPath: local.path("local.bin")))
            await #expect(throws: FileTransferError.self) {
                try await client.verify(localPath: local.path("local.bin"), remotePath: "remote.bin")
            }
            #expect(try await client.contentsMatch(localPath: local.path("local.bin"), remotePath: "remote.bin", requestsInFlight: 8) == false)
        }
    }

    @Test func checkFileHandleWhenCheckFileNameIsRefused() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        var configuration = SFTPSessionConfiguration()
        configuration.deniedRequests = ["check-file-name"]
        try await Loopback.run(configuration: configuration) { client, fixture in
            let data = pseudoRandomBytes(count: 70_000, seed: 12)
            try fixture.createFile("remote.bin", contents: data)
            try Data(data).write(to: URL(fileURLWithPath: local.path("local.bin")))
            let verified = try await client.verify(localPath: local.path("local.bin"), remotePath: "remote.bin")
            #expect(verified.method == .checkFile)
            #expect(verified.digest == sha256(data))
        }
    }

    // MARK: Globs

    @Test func remoteGlobs() async throws {
        try await Loopback.run { client, fixture in
            for name in [
                "logs/a.log", "logs/b.log", "logs/c.txt", "logs/.hidden.log", "logs/sub dir/x.log", "data1/f", "data2/f",
                "data3/g", "ünïcødé/ß.txt", "star*name",
            ] {
                try FileManager.default.createDirectory(
                    atPath: (fixture.path(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fixture.createFile(name, contents: [1])
            }
            #expect(try await client.expandRemoteGlob("logs/*.log") == ["logs/a.log", "logs/b.log"])
            #expect(try await client.expandRemoteGlob("logs/?.txt") == ["logs/c.txt"])
            #expect(try await client.expandRemoteGlob("logs/[ab].log") == ["logs/a.log", "logs/b.log"])
            #expect(try await client.expandRemoteGlob("logs/[!a].*") == ["logs/b.log", "logs/c.txt"])
            #expect(try await client.expandRemoteGlob("logs/.*") == ["logs/.hidden.log"])
            #expect(try await client.expandRemoteGlob("logs/*") == ["logs/a.log", "logs/b.log", "logs/c.txt", "logs/sub dir"])
            #expect(try await client.expandRemoteGlob("logs/*/*.log") == ["logs/sub dir/x.log"])
            #expect(try await client.expandRemoteGlob("data*/f") == ["data1/f", "data2/f"])
            #expect(try await client.expandRemoteGlob("/data[1-2]/f") == ["/data1/f", "/data2/f"])
            #expect(try await client.expandRemoteGlob("ünï*/?.txt") == ["ünïcødé/ß.txt"])
            #expect(try await client.expandRemoteGlob("star\\*name") == ["star*name"])
            #expect(try await client.expandRemoteGlob("star[*]name") == ["star*name"])
            #expect(try await client.expandRemoteGlob("nothing*").isEmpty)
            #expect(try await client.expandRemoteGlob("logs/a.log") == ["logs/a.log"])
            #expect(try await client.expandRemoteGlob("not/there") == ["not/there"])
        }
    }

    @Test func globPatterns() {
        #expect(RemoteGlob.matches("abc", pattern: "a*c"))
        #expect(RemoteGlob.matches("ac", pattern: "a*c"))
        #expect(!RemoteGlob.matches("ab", pattern: "a*c"))
        #expect(RemoteGlob.matches("a*c", pattern: "a\\*c"))
        #expect(!RemoteGlob.matches("abc", pattern: "a\\*c"))
        #expect(RemoteGlob.matches("x]", pattern: "[]x]]"))
        #expect(RemoteGlob.matches("[", pattern: "["))
        #expect(RemoteGlob.matches("é", pattern: "?"))
        #expect(!RemoteGlob.matches(".profile", pattern: "*"))
        #expect(RemoteGlob.matches(".profile", pattern: ".*"))
        #expect(RemoteGlob.matches("file-9", pattern: "file-[0-9]"))
        #expect(!RemoteGlob.matches("file-x", pattern: "file-[0-9]"))
        #expect(RemoteGlob.matches("aXbYc", pattern: "a*b*c"))
        #expect(!RemoteGlob.hasMetacharacters("plain name"))
        #expect(!RemoteGlob.hasMetacharacters("quoted\\*"))
    }
}

// MARK: - Helpers

final class TransferProgressRecorder: Sendable {
    private let values = Mutex<[(done: UInt64, total: UInt64)]>([])
    var record: TransferOptions.Progress { { done, total in self.values.withLock { $0.append((done, total)) } } }
    var last: (done: UInt64, total: UInt64)? { self.values.withLock { $0.last } }
    var isNonDecreasing: Bool {
        self.values.withLock { values in zip(values, values.dropFirst()).allSatisfy { $0.done <= $1.done } }
    }
}

func diskModificationTime(_ path: String) throws -> Int {
    let date = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
    return Int(date?.timeIntervalSince1970.rounded(.down) ?? -1)
}

func diskPermissions(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
}

func diskFileSize(_ path: String) throws -> UInt64 {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
}
