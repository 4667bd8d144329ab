import Foundation
import NIOCore
import NIOPosix
import Testing
import WharfCore
import WharfStorage

@Suite("LocalStorage files, attributes, listings")
struct LocalStorageFileTests {
    @Test func readAndWriteAtOffsets() async throws {
        try await withJail { storage, sandbox in
            let file = try await storage.openFile(at: "/f", options: [.read, .write, .create], permissions: 0o644)
            #expect(file.path == "/f")
            try await file.write(ByteBuffer(string: "hello"), at: 0)
            try await file.write(ByteBuffer(string: "world"), at: 10)
            try await file.write(ByteBuffer(string: "J"), at: 0)
            #expect(try await file.attributes().size == 15)
            #expect(String(buffer: try await file.read(at: 10, length: 5)) == "world")
            #expect(String(buffer: try await file.read(at: 0, length: 3)) == "Jel")
            // A read across the hole returns zeros and stops at the end of file.
            let across = try await file.read(at: 3, length: 100)
            #expect(Array(across.readableBytesView) == Array("lo".utf8) + [0, 0, 0, 0, 0] + Array("world".utf8))
            // Past the end: empty, not an error.
            #expect(try await file.read(at: 15, length: 10).readableBytes == 0)
            #expect(try await file.read(at: 1_000_000, length: 10).readableBytes == 0)
            #expect(try await file.read(at: UInt64.max, length: 10).readableBytes == 0)
            #expect(try await file.read(at: 0, length: 0).readableBytes == 0)
            try await file.synchronize()
            try await file.close()
            // Closing twice is harmless; using a closed file is an error.
            try await file.close()
            #expect(await errorKind { try await file.read(at: 0, length: 1) } == .invalidHandle)
            #expect(await errorKind { try await file.write(ByteBuffer(string: "x"), at: 0) } == .invalidHandle)
            let onDisk = try #require(FileManager.default.contents(atPath: sandbox.real("f")))
            #expect(Array(onDisk) == Array("Jello".utf8) + [0, 0, 0, 0, 0] + Array("world".utf8))
        }
    }

    @Test func concurrentWritesAtDifferentOffsets() async throws {
        try await withJail { storage, sandbox in
            let chunk = 4096
            let file = try await storage.openFile(at: "/big", options: [.read, .write, .create], permissions: nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        let data = ByteBuffer(repeating: UInt8(index + 1), count: chunk)
                        try await file.write(data, at: UInt64(index * chunk))
                    }
                }
                try await group.waitForAll()
            }
            // Read back concurrently too.
            let chunks = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
                for index in 0..<32 {
                    group.addTask { (index, Array(try await file.read(at: UInt64(index * chunk), length: chunk).readableBytesView)) }
                }
                var result: [Int: [UInt8]] = [:]
                for try await (index, bytes) in group { result[index] = bytes }
                return result
            }
            try await file.close()
            for index in 0..<32 {
                #expect(chunks[index] == [UInt8](repeating: UInt8(index + 1), count: chunk), "chunk \(index)")
            }
            let onDisk = try #require(FileManager.default.contents(atPath: sandbox.real("big")))
            #expect(onDisk.count == 32 * chunk)
            var expected: [UInt8] = []
            for index in 0..<32 { expected += [UInt8](repeating: UInt8(index + 1), count: chunk) }
            #expect(Array(onDisk) == expected)
        }
    }

    @Test func appendIgnoresOffsets() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("log", "ab")
            let file = try await storage.openFile(at: "/log", options: [.write, .append], permissions: nil)
            try await file.write(ByteBuffer(string: "cd"), at: 0)
            try await file.write(ByteBuffer(string: "ef"), at: 0)
            try await file.close()
            #expect(sandbox.contents("log") == "abcdef")
        }
    }

    @Test func openOptions() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("f", "content")
            try sandbox.makeDirectory("d")
            #expect(
                await errorKind { try await storage.openFile(at: "/f", options: [.write, .create, .exclusive], permissions: nil) }
                    == .alreadyExists)
            #expect(await errorKind { try await storage.openFile(at: "/missing", options: .read, permissions: nil) } == .notFound)
            #expect(await errorKind { try await storage.openFile(at: "/missing", options: .write, permissions: nil) } == .notFound)
            #expect(await errorKind { try await storage.openFile(at: "/d", options: .read, permissions: nil) } == .isADirectory)
            #expect(await errorKind { try await storage.openFile(at: "/f/x", options: .read, permissions: nil) } != nil)
            let truncated = try await storage.openFile(at: "/f", options: [.write, .truncate], permissions: nil)
            #expect(try await truncated.attributes().size == 0)
            try await truncated.close()
            #expect(sandbox.contents("f") == "")
            // A file opened read-only cannot be written through.
            let reader = try await storage.openFile(at: "/f", options: .read, permissions: nil)
            #expect(await errorKind { try await reader.write(ByteBuffer(string: "x"), at: 0) } != nil)
            try await reader.close()
            #expect(sandbox.contents("f") == "")
        }
    }

    @Test func attributesAndSetAttributes() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("f", "hello")
            try sandbox.makeDirectory("d")
            let attributes = try await storage.attributes(at: "/f", followingSymlinks: true)
            #expect(attributes.size == 5)
            #expect(attributes.type == .regular)
            #expect(attributes.mode & 0o170000 == 0o100000)
            #expect(attributes.linkCount == 1)
            #expect(attributes.userID == getuid())
            #expect(try await storage.attributes(at: "/d", followingSymlinks: true).type == .directory)
            #expect(await errorKind { try await storage.attributes(at: "/nope", followingSymlinks: true) } == .notFound)
            #expect(await errorKind { try await storage.attributes(at: "/f/x", followingSymlinks: true) } == .notADirectory)

            try await storage.setAttributes(at: "/f", AttributeChanges(size: 2), followingSymlinks: true)
            #expect(sandbox.contents("f") == "he")
            try await storage.setAttributes(at: "/f", AttributeChanges(size: 10), followingSymlinks: true)
            #expect(try await storage.attributes(at: "/f", followingSymlinks: true).size == 10)

            try await storage.setAttributes(at: "/f", AttributeChanges(permissions: 0o600), followingSymlinks: true)
            #expect(try await storage.attributes(at: "/f", followingSymlinks: true).permissions == 0o600)
            // Jailed: setuid, setgid and sticky are masked off.
            try await storage.setAttributes(at: "/f", AttributeChanges(permissions: 0o7751), followingSymlinks: true)
            #expect(try await storage.attributes(at: "/f", followingSymlinks: true).permissions == 0o751)
            #expect(try await storage.attributes(at: "/f", followingSymlinks: true).mode == 0o100751)

            try await storage.setAttributes(
                at: "/f", AttributeChanges(accessTime: 1_000_000_000, modificationTime: 1_234_567_890), followingSymlinks: true)
            var times = try await storage.attributes(at: "/f", followingSymlinks: true)
            #expect(times.accessTime == 1_000_000_000)
            #expect(times.modificationTime == 1_234_567_890)
            // Only the mtime: the atime is kept.
            try await storage.setAttributes(at: "/f", AttributeChanges(modificationTime: 1_500_000_000), followingSymlinks: true)
            times = try await storage.attributes(at: "/f", followingSymlinks: true)
            #expect(times.accessTime == 1_000_000_000)
            #expect(times.modificationTime == 1_500_000_000)

            // Several at once.
            try await storage.setAttributes(
                at: "/f", AttributeChanges(size: 1, permissions: 0o640, accessTime: 10, modificationTime: 20), followingSymlinks: true)
            let all = try await storage.attributes(at: "/f", followingSymlinks: true)
            #expect(all.size == 1)
            #expect(all.permissions == 0o640)
            #expect(all.accessTime == 10)
            #expect(all.modificationTime == 20)

            #expect(
                await errorKind { try await storage.setAttributes(at: "/nope", AttributeChanges(size: 0), followingSymlinks: true) }
                    == .notFound)
        }
    }

    @Test func setAttributesWithoutFollowingLeavesTheTargetAlone() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("target", "t")
            try await storage.setAttributes(at: "/target", AttributeChanges(permissions: 0o644), followingSymlinks: true)
            try sandbox.symlink("link", to: "target")
            // Linux cannot chmod a link: skipped, not an error, and the target keeps its mode.
            try await storage.setAttributes(at: "/link", AttributeChanges(permissions: 0o600), followingSymlinks: false)
            #expect(try await storage.attributes(at: "/target", followingSymlinks: false).permissions == 0o644)
            try await storage.setAttributes(
                at: "/link", AttributeChanges(accessTime: 100, modificationTime: 200), followingSymlinks: false)
            let link = try await storage.attributes(at: "/link", followingSymlinks: false)
            #expect(link.modificationTime == 200)
            #expect(try await storage.attributes(at: "/target", followingSymlinks: false).modificationTime != 200)
        }
    }

    @Test func attributesThroughAnOpenFile() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("f", "hello")
            let file = try await storage.openFile(at: "/f", options: [.read, .write], permissions: nil)
            try await file.setAttributes(AttributeChanges(size: 3))
            try await file.setAttributes(AttributeChanges(permissions: 0o640))
            try await file.setAttributes(AttributeChanges(accessTime: 111, modificationTime: 222))
            let attributes = try await file.attributes()
            #expect(attributes.size == 3)
            #expect(attributes.permissions == 0o640)
            #expect(attributes.accessTime == 111)
            #expect(attributes.modificationTime == 222)
            let statistics = try await file.fileSystemStatistics()
            #expect(statistics.blockSize > 0)
            try await file.close()
            #expect(sandbox.contents("f") == "hel")
        }
    }

    @Test func fileSystemStatistics() async throws {
        try await withJail { storage, _ in
            let statistics = try await storage.fileSystemStatistics(at: "/")
            #expect(statistics.blockSize > 0)
            #expect(statistics.blocks >= statistics.freeBlocks)
            #expect(statistics.maximumNameLength > 0)
        }
    }

    @Test func directoryListingInBatches() async throws {
        try await withJail { storage, sandbox in
            var expected: Set<String> = [".", "..", "sub", "link"]
            for index in 0..<10 {
                try sandbox.write("file\(index)", String(repeating: "x", count: index))
                expected.insert("file\(index)")
            }
            try sandbox.makeDirectory("sub")
            try sandbox.symlink("link", to: "/etc")

            let directory = try await storage.openDirectory(at: "/")
            #expect(directory.path == "/")
            var entries: [DirectoryEntry] = []
            var batches = 0
            while true {
                let batch = try await directory.nextEntries(maximumCount: 3)
                #expect(batch.count <= 3)
                if batch.isEmpty { break }
                batches += 1
                entries += batch
            }
            // The end stays the end.
            #expect(try await directory.nextEntries(maximumCount: 3).isEmpty)
            await directory.close()
            await directory.close()
            #expect(await errorKind { try await directory.nextEntries(maximumCount: 3) } == .invalidHandle)

            #expect(entries.count == expected.count)
            #expect(Set(entries.map(\.name)) == expected)
            #expect(batches == (expected.count + 2) / 3)
            let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.attributes) })
            #expect(byName["sub"]?.type == .directory)
            #expect(byName["."]?.type == .directory)
            #expect(byName["link"]?.type == .symbolicLink)
            for index in 0..<10 { #expect(byName["file\(index)"]?.size == UInt64(index)) }

            #expect(await errorKind { try await storage.openDirectory(at: "/file1") } == .notADirectory)
            #expect(await errorKind { try await storage.openDirectory(at: "/missing") } == .notFound)
            #expect(Set(try await storage.listAll("sub", batch: 1).map(\.name)) == [".", ".."])
        }
    }

    @Test func accountNames() async throws {
        try await withJail { storage, _ in
            let names = await storage.accountNames(userIDs: [getuid(), 4_000_000_000], groupIDs: [getgid()])
            #expect(names.users.count == 2)
            #expect(names.groups.count == 1)
            #expect(names.users[0] != nil)
            #expect(names.users[1] == nil)
        }
    }
}

@Suite("LocalStorage offsets beyond off_t")
struct LocalStorageOffsetTests {
    /// WRITE carries a uint64 offset straight from the client. An offset above Int64.max must be an
    /// error for that request, not a trap that takes the whole server down. Run in a child process,
    /// so that a crash fails this test only.
    @Test func writeAtAnOffsetAboveInt64MaxFailsWithoutCrashing() async throws {
        try await withSandbox { sandbox, _ in
            await #expect(processExitsWith: .success) { [root = sandbox.root as String] in
                let pool = NIOThreadPool(numberOfThreads: 1)
                pool.start()
                let storage = try LocalStorage(jailedAt: root, pool: pool)
                let file = try await storage.openFile(at: "/huge", options: [.write, .create], permissions: nil)
                for offset in [UInt64(Int64.max) + 1, UInt64.max] {
                    do {
                        try await file.write(ByteBuffer(string: "x"), at: offset)
                        exit(2)  // Succeeded: impossible, the offset is not representable.
                    } catch {
                        // An error reply is what we want.
                    }
                }
                try await file.close()
                try await pool.shutdownGracefully()
            }
        }
    }

    @Test func readAtAnOffsetAboveInt64MaxIsEndOfFile() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("f", "abc")
            let file = try await storage.openFile(at: "/f", options: .read, permissions: nil)
            #expect(try await file.read(at: UInt64(Int64.max) + 1, length: 10).readableBytes == 0)
            try await file.close()
        }
    }

    @Test func truncateToAHugeSizeIsAnError() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("f", "abc")
            let kind = await errorKind {
                try await storage.setAttributes(at: "/f", AttributeChanges(size: UInt64.max), followingSymlinks: true)
            }
            #expect(kind != nil)
            #expect(sandbox.contents("f") == "abc")
        }
    }
}
