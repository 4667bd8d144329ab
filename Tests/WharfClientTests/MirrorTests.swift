import Foundation
import SFTPServer
import Testing

@testable import WharfClient

@Suite("Mirror")
struct MirrorTests {
    @Test func uploadMirrorTwiceCopiesNothingTheSecondTime() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let source = local.path("src")
            let files = try SampleTree.create(at: source, files: 60, seed: 40)
            try FileManager.default.createSymbolicLink(atPath: source + "/link", withDestinationPath: "dir 0")

            let first = try await client.mirror(from: .local(source), to: .remote("mirror/dest"), options: MirrorOptions(parallel: 4))
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(first.filesCopied == files.count)
            #expect(first.plan.skipped == ["link"])
            let lines = first.plan.description.split(separator: "\n").map(String.init)
            #expect(lines.first == "mkdir .")
            #expect(lines.contains("mkdir ünïcødé/日本語"))
            #expect(lines.contains("copy dir 0/sub dir/file 24.txt (new)"))
            #expect(lines.contains("copy ünïcødé/日本語/naïve €37.bin (new)"))
            #expect(try SampleTree.contents(of: fixture.path("mirror/dest")) == SampleTree.contents(of: source))

            let second = try await client.planMirror(from: .local(source), to: .remote("mirror/dest"))
            #expect(second.isEmpty, "\(second)")
            let secondRun = try await client.mirror(from: .local(source), to: .remote("mirror/dest"))
            #expect(secondRun.filesCopied == 0)
        }
    }

    @Test func downloadMirrorTwiceCopiesNothingTheSecondTime() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let files = try SampleTree.create(at: fixture.path("remote tree"), files: 60, seed: 50)
            let first = try await client.mirror(from: .remote("remote tree"), to: .local(local.path("copy")))
            #expect(first.failures.isEmpty, "\(first.failures)")
            #expect(first.filesCopied == files.count)
            #expect(try SampleTree.contents(of: local.path("copy")) == SampleTree.contents(of: fixture.path("remote tree")))
            let second = try await client.planMirror(from: .remote("remote tree"), to: .local(local.path("copy")))
            #expect(second.isEmpty, "\(second)")

            // A temporary file left by an interrupted download is not an extra to delete.
            try Data([1]).write(to: URL(fileURLWithPath: local.path("copy/x.wharf-part")))
            #expect(try await client.planMirror(from: .remote("remote tree"), to: .local(local.path("copy")), options: MirrorOptions(delete: true)).isEmpty)
        }
    }

    @Test func whatDiffersIsCopiedWithItsReason() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let source = local.path("src")
            try FileManager.default.createDirectory(atPath: source + "/d", withIntermediateDirectories: true)
            for (name, text) in [("same.txt", "same"), ("size.txt", "short"), ("time.txt", "time"), ("content.txt", "AAAA")] {
                try Data(text.utf8).write(to: URL(fileURLWithPath: source + "/" + name))
            }
            _ = try await client.mirror(from: .local(source), to: .remote("dst"))

            try Data("longer now".utf8).write(to: URL(fileURLWithPath: source + "/size.txt"))
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_000_000_000)], ofItemAtPath: source + "/time.txt")
            // Same size and time, other content: only a checksum sees it.
            let time = try FileManager.default.attributesOfItem(atPath: fixture.path("dst/content.txt"))[.modificationDate]
            try fixture.createFile("dst/content.txt", contents: Array("BBBB".utf8))
            try FileManager.default.setAttributes([.modificationDate: time as Any], ofItemAtPath: fixture.path("dst/content.txt"))
            try Data("new".utf8).write(to: URL(fileURLWithPath: source + "/d/new.txt"))

            let plan = try await client.planMirror(from: .local(source), to: .remote("dst"))
            #expect(plan.description == "copy d/new.txt (new)\ncopy size.txt (size differs)\ncopy time.txt (mtime differs)")

            let checksum = try await client.planMirror(from: .local(source), to: .remote("dst"), options: MirrorOptions(checksum: true))
            #expect(checksum.description == "copy content.txt (content differs)\ncopy d/new.txt (new)\ncopy size.txt (size differs)")
            #expect(checksum.bytesToCopy == 4 + 3 + 10)

            let report = try await client.mirror(from: .local(source), to: .remote("dst"), options: MirrorOptions(checksum: true))
            #expect(report.filesCopied == 3)
            #expect(try fixture.contents("dst/content.txt") == Array("AAAA".utf8))
            #expect(try fixture.contents("dst/size.txt") == Array("longer now".utf8))
            // time.txt kept its content but not the new mtime (checksum mode compares content): a
            // plain run copies it now, then nothing is left.
            #expect(try await client.planMirror(from: .local(source), to: .remote("dst")).description == "copy time.txt (mtime differs)")
            _ = try await client.mirror(from: .local(source), to: .remote("dst"))
            #expect(try await client.planMirror(from: .local(source), to: .remote("dst")).isEmpty)
            #expect(try await client.planMirror(from: .local(source), to: .remote("dst"), options: MirrorOptions(checksum: true)).isEmpty)
        }
    }

    @Test func deleteRemovesExtrasFilesFirstThenDirectoriesDeepestFirst() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let source = local.path("src")
            try FileManager.default.createDirectory(atPath: source + "/keep", withIntermediateDirectories: true)
            try Data("k".utf8).write(to: URL(fileURLWithPath: source + "/keep/k.txt"))
            try Data("f".utf8).write(to: URL(fileURLWithPath: source + "/was a dir"))
            _ = try await client.mirror(from: .local(source), to: .remote("dst"))

            for name in ["dst/old.txt", "dst/keep/old 2.txt", "dst/gone/a/b/c.txt", "dst/gone/x.txt"] {
                try FileManager.default.createDirectory(
                    atPath: (fixture.path(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fixture.createFile(name, contents: [1])
            }
            try FileManager.default.removeItem(atPath: fixture.path("dst/was a dir"))
            try FileManager.default.createDirectory(atPath: fixture.path("dst/was a dir/inside"), withIntermediateDirectories: true)

            // Without delete: extras stay, and the directory standing where a file goes is a failure.
            let keep = try await client.planMirror(from: .local(source), to: .remote("dst"))
            #expect(keep.isEmpty)
            #expect(keep.failures.map(\.path) == ["was a dir"])
            #expect(keep.failures.first?.error as? FileTransferError == .kindConflict(path: "was a dir", source: .file, destination: .directory))

            let plan = try await client.planMirror(from: .local(source), to: .remote("dst"), options: MirrorOptions(delete: true))
            #expect(
                plan.description == """
                    delete gone/a/b/c.txt
                    delete gone/x.txt
                    delete keep/old 2.txt
                    delete old.txt
                    rmdir gone/a/b
                    rmdir gone/a
                    rmdir was a dir/inside
                    rmdir gone
                    rmdir was a dir
                    copy was a dir (type differs)
                    """)
            #expect(plan.failures.isEmpty)
            let report = try await client.mirror(from: .local(source), to: .remote("dst"), options: MirrorOptions(delete: true))
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.filesDeleted == 4)
            #expect(report.directoriesRemoved == 5)
            #expect(report.filesCopied == 1)
            #expect(try SampleTree.contents(of: fixture.path("dst")) == SampleTree.contents(of: source))
            #expect(try await client.planMirror(from: .local(source), to: .remote("dst"), options: MirrorOptions(delete: true)).isEmpty)

            // Downloading with delete: local extras go.
            try Data("x".utf8).write(to: URL(fileURLWithPath: source + "/extra"))
            let down = try await client.mirror(from: .remote("dst"), to: .local(source), options: MirrorOptions(delete: true))
            #expect(down.plan.description == "delete extra")
            #expect(!FileManager.default.fileExists(atPath: source + "/extra"))
        }
    }

    @Test func aDryRunChangesNothing() async throws {
        let local = try LocalDirectory()
        defer { local.remove() }
        try await Loopback.run { client, fixture in
            let source = local.path("src")
            try SampleTree.create(at: source, files: 20, seed: 60)
            try FileManager.default.createDirectory(atPath: fixture.path("dst/extra dir"), withIntermediateDirectories: true)
            try fixture.createFile("dst/extra dir/f", contents: [1])
            let before = try SampleTree.contents(of: fixture.path("dst"))

            let report = try await client.mirror(
                from: .local(source), to: .remote("dst"), options: MirrorOptions(delete: true, dryRun: true))
            #expect(!report.executed)
            #expect(report.plan.actions.count == 2 + SampleTree.directories.count + 20)
            #expect(report.plan.description.hasPrefix("delete extra dir/f\nrmdir extra dir\nmkdir "))
            #expect(try SampleTree.contents(of: fixture.path("dst")) == before)

            let toLocal = try await client.mirror(
                from: .remote("dst"), to: .local(local.path("new")), options: MirrorOptions(dryRun: true))
            #expect(toLocal.plan.description == "mkdir .\nmkdir extra dir\ncopy extra dir/f (new)")
            #expect(!FileManager.default.fileExists(atPath: local.path("new")))
        }
    }

    @Test func mirrorNeedsOneSideOfEach() async throws {
        try await Loopback.run { client, _ in
            await #expect(throws: FileTransferError.unsupportedDirection) {
                try await client.planMirror(from: .local("/tmp"), to: .local("/tmp"))
            }
            await #expect(throws: SFTPClientError.self) {
                try await client.planMirror(from: .remote("missing"), to: .local("/tmp/x"))
            }
        }
    }
}
