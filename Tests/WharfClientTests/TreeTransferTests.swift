import Foundation
import Synchronization
import Testing

@testable import WharfClient

@Suite("Tree transfers")
struct TreeTransferTests {
    @Test func uploadAndDownloadATreeWithParallelFour() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let source = local.path("source tree")
            let files = try SampleTree.create(at: source, files: 300)
            try FileManager.default.createDirectory(atPath: source + "/empty dir", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: source + "/a link", withDestinationPath: "dir 0")

            let progress = TreeProgressRecorder()
            let up = try await client.uploadTree(
                localDirectory: source, remoteDirectory: "up/nested",
                options: TreeTransferOptions(parallel: 4, progress: progress.record))
            #expect(up.failures.isEmpty, "\(up.failures)")
            #expect(up.filesTransferred == files.count)
            #expect(up.bytesTransferred == files.values.reduce(0) { $0 + UInt64($1.count) })
            #expect(up.skipped == ["a link"])
            #expect(try SampleTree.contents(of: fixture.path("up/nested")) == SampleTree.contents(of: source))
            #expect(FileManager.default.fileExists(atPath: fixture.path("up/nested/empty dir")))
            #expect(progress.last?.filesDone == files.count)
            #expect(progress.last?.bytesDone == progress.last?.bytesTotal)

            let down = try await client.downloadTree(
                remoteDirectory: "up/nested", localDirectory: local.path("down/here"),
                options: TreeTransferOptions(file: TransferOptions(verify: true), parallel: 4))
            #expect(down.failures.isEmpty, "\(down.failures)")
            #expect(down.filesTransferred == files.count)
            #expect(try SampleTree.contents(of: local.path("down/here")) == SampleTree.contents(of: source))
            let leftovers = try SampleTree.allPaths(local.path("down/here")).filter { $0.hasSuffix(".wharf-part") }
            #expect(leftovers.isEmpty)
            for (path, _) in files.prefix(5) {
                #expect(
                    try diskModificationTime(local.path("down/here/" + path))
                        == diskModificationTime(fixture.path("up/nested/" + path)))
            }

            // Again with resume: every file is found complete.
            let again = try await client.downloadTree(
                remoteDirectory: "up/nested", localDirectory: local.path("down/here"),
                options: TreeTransferOptions(file: TransferOptions(resume: true), parallel: 4))
            #expect(again.filesAlreadyComplete == files.count)
            #expect(again.bytesTransferred == 0)
        }
    }

    @Test func aFileThatFailsDoesNotStopTheRest() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            for name in ["t/a.txt", "t/b.txt", "t/c/d.txt", "t/z.txt"] {
                try FileManager.default.createDirectory(
                    atPath: (fixture.path(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fixture.createFile(name, contents: Array(name.utf8))
            }
            // Downloading: a non-empty local directory stands where b.txt must go, so its rename fails.
            try FileManager.default.createDirectory(atPath: local.path("t/b.txt/in the way"), withIntermediateDirectories: true)
            let down = try await client.downloadTree(
                remoteDirectory: "t", localDirectory: local.path("t"), options: TreeTransferOptions(parallel: 4))
            #expect(down.failures.map(\.path) == ["b.txt"])
            #expect(down.filesTransferred == 3)
            #expect(try Data(contentsOf: URL(fileURLWithPath: local.path("t/c/d.txt"))) == Data("t/c/d.txt".utf8))
            #expect(try Data(contentsOf: URL(fileURLWithPath: local.path("t/z.txt"))) == Data("t/z.txt".utf8))
            #expect(!down.succeeded)
            #expect(FileManager.default.fileExists(atPath: local.path("t/b.txt.wharf-part")), "kept for a resume")

            // Uploading: a remote directory stands where b.txt must go, and one where c/ must be is a file.
            try FileManager.default.removeItem(atPath: local.path("t/b.txt"))
            try FileManager.default.removeItem(atPath: local.path("t/b.txt.wharf-part"))
            try Data("b".utf8).write(to: URL(fileURLWithPath: local.path("t/b.txt")))
            try FileManager.default.createDirectory(atPath: fixture.path("u/b.txt/in the way"), withIntermediateDirectories: true)
            try fixture.createFile("u/c", contents: [1])
            let up = try await client.uploadTree(
                localDirectory: local.path("t"), remoteDirectory: "u", options: TreeTransferOptions(parallel: 4))
            #expect(up.failures.map(\.path) == ["c", "b.txt", "c/d.txt"])
            #expect(up.filesTransferred == 2)
            #expect(try fixture.contents("u/a.txt") == Array("t/a.txt".utf8))
            #expect(try fixture.contents("u/z.txt") == Array("t/z.txt".utf8))
        }
    }

    @Test func treeRootsThatAreNotDirectories() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            try fixture.createFile("file", contents: [1])
            await #expect(throws: FileTransferError.notADirectory(path: "file")) {
                try await client.downloadTree(remoteDirectory: "file", localDirectory: local.path("x"))
            }
            await #expect(throws: SFTPClientError.self) {
                try await client.downloadTree(remoteDirectory: "missing", localDirectory: local.path("x"))
            }
            await #expect(throws: LocalFileError.self) {
                try await client.uploadTree(localDirectory: local.path("missing"), remoteDirectory: "x")
            }
        }
    }
}

// MARK: - Helpers

/// Sample trees on disk and their contents, for comparing both sides of a transfer.
enum SampleTree {
    static let directories = [
        "dir 0", "dir 0/sub dir", "ünïcødé", "ünïcødé/日本語", "deep", "deep/1", "deep/1/2", "deep/1/2/3", "deep/1/2/3/4",
        "spaces  and\ttabs",
    ]

    /// Creates `files` files of 0 to a few KiB, some of 100 KiB, spread over nested directories
    /// with spaces and UTF-8 names. Returns their contents by relative path.
    @discardableResult
    static func create(at root: String, files: Int, seed: UInt64 = 1) throws -> [String: [UInt8]] {
        var contents: [String: [UInt8]] = [:]
        for directory in [""] + Self.directories {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        let all = [""] + Self.directories
        for index in 0..<files {
            let directory = all[index % all.count]
            let name = ["file \(index).txt", "naïve €\(index).bin", "x\(index)", "Ωμέγα \(index)"][index % 4]
            let path = directory.isEmpty ? name : directory + "/" + name
            let size = index % 37 == 0 ? 100_000 : (index * 97) % 4000
            let data = pseudoRandomBytes(count: size, seed: seed &+ UInt64(index))
            try Data(data).write(to: URL(fileURLWithPath: root + "/" + path))
            contents[path] = data
        }
        return contents
    }

    /// Every regular file's contents and every directory (as nil), by relative path.
    static func contents(of root: String) throws -> [String: [UInt8]?] {
        var result: [String: [UInt8]?] = [:]
        for path in try Self.allPaths(root) {
            var isDirectory: ObjCBool = false
            let full = root + "/" + path
            let attributes = try FileManager.default.attributesOfItem(atPath: full)
            if attributes[.type] as? FileAttributeType == .typeSymbolicLink { continue }
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
                result[path] = .some(nil)
            } else {
                result[path] = Array(try Data(contentsOf: URL(fileURLWithPath: full)))
            }
        }
        return result
    }

    static func allPaths(_ root: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: root).sorted()
    }
}

final class TreeProgressRecorder: Sendable {
    private let values = Mutex<[TreeTransferProgress]>([])
    var record: TreeTransferOptions.Progress { { progress in self.values.withLock { $0.append(progress) } } }
    var last: TreeTransferProgress? { self.values.withLock { $0.last } }
}
