import Foundation
import NIOCore
import NIOPosix
import Testing
import WharfCore
import WharfStorage

@Suite("LocalStorage read-only and unrestricted modes")
struct LocalStorageModeTests {
    @Test func readOnlyRefusesWrites() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.write("f", "keep")
            try sandbox.makeDirectory("d")
            try sandbox.symlink("l", to: "f")
            let storage = try LocalStorage(jailedAt: sandbox.root, pool: pool, readOnly: true)
            #expect(storage.isReadOnly)
            let denied: StorageError.Kind? = .permissionDenied

            for options: OpenOptions in [.write, [.read, .write], .append, [.read, .create], .truncate, [.write, .create, .exclusive]] {
                #expect(await errorKind { try await storage.openFile(at: "/f", options: options, permissions: nil) } == denied, "\(options)")
                #expect(await errorKind { try await storage.openFile(at: "/new", options: options, permissions: nil) } == denied, "\(options)")
            }
            #expect(await errorKind { try await storage.removeFile(at: "/f") } == denied)
            #expect(await errorKind { try await storage.makeDirectory(at: "/d2", permissions: nil) } == denied)
            #expect(await errorKind { try await storage.removeDirectory(at: "/d") } == denied)
            #expect(await errorKind { try await storage.rename(from: "/f", to: "/g", replacing: false) } == denied)
            #expect(await errorKind { try await storage.rename(from: "/f", to: "/g", replacing: true) } == denied)
            #expect(await errorKind { try await storage.createSymbolicLink(at: "/s", pointingTo: "/f") } == denied)
            #expect(await errorKind { try await storage.createHardLink(at: "/h", to: "/f") } == denied)
            #expect(
                await errorKind { try await storage.setAttributes(at: "/f", AttributeChanges(permissions: 0o600), followingSymlinks: true) }
                    == denied)
            #expect(
                await errorKind { try await storage.setAttributes(at: "/l", AttributeChanges(modificationTime: 1), followingSymlinks: false) }
                    == denied)

            // Reading still works.
            #expect(try await storage.readWholeFile("/f") == "keep")
            #expect(try await storage.readWholeFile("/l") == "keep")
            #expect(try await storage.attributes(at: "/f", followingSymlinks: true).size == 4)
            #expect(try await storage.readSymbolicLink(at: "/l") == "f")
            #expect(Set(try await storage.listAll("/").map(\.name)) == [".", "..", "f", "d", "l"])
            #expect(try await storage.canonicalPath("/d/..") == "/")

            // Nothing changed on disk.
            #expect(sandbox.contents("f") == "keep")
            #expect(sandbox.exists("d"))
            #expect(!sandbox.exists("new"))
            #expect(!sandbox.exists("d2"))
            #expect(!sandbox.exists("g"))
            #expect(!sandbox.exists("s"))
            #expect(!sandbox.exists("h"))
        }
    }

    /// A read-only session may open files for reading; FSETSTAT on that handle must not change the file.
    @Test func readOnlyRefusesAttributeChangesThroughAnOpenFile() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.write("f", "keep")
            let before = try #require(sandbox.mode(atReal: sandbox.real("f")))
            let storage = try LocalStorage(jailedAt: sandbox.root, pool: pool, readOnly: true)
            let file = try await storage.openFile(at: "/f", options: .read, permissions: nil)
            let permissions = await errorKind { try await file.setAttributes(AttributeChanges(permissions: 0o777)) }
            let times = await errorKind { try await file.setAttributes(AttributeChanges(accessTime: 1, modificationTime: 1)) }
            try await file.close()
            #expect(permissions == .permissionDenied)
            #expect(times == .permissionDenied)
            #expect(sandbox.mode(atReal: sandbox.real("f")) == before)
        }
    }

    @Test func unrestrictedResolvesRelativePathsAgainstTheStartDirectory() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.write("inside", "in")
            let storage = try LocalStorage(unrestrictedStartingAt: sandbox.base, pool: pool)
            #expect(storage.startDirectory == sandbox.base)
            #expect(!storage.isReadOnly)

            // Relative paths start at the start directory.
            #expect(try await storage.readWholeFile("root/inside") == "in")
            #expect(try await storage.readWholeFile("outside/secret") == "secret")
            #expect(try await storage.attributes(at: "root", followingSymlinks: true).type == .directory)
            #expect(try await storage.attributes(at: ".", followingSymlinks: true).type == .directory)
            #expect(try await storage.attributes(at: "", followingSymlinks: true).type == .directory)
            #expect(Set(try await storage.listAll(".").map(\.name)) == [".", "..", "root", "outside"])

            // Absolute paths are the real file system's, no jail.
            #expect(try await storage.readWholeFile(sandbox.outside + "/secret") == "secret")
            try await storage.writeWholeFile("made.txt", "m")
            #expect(sandbox.contents(atReal: sandbox.base + "/made.txt") == "m")

            // REALPATH answers real absolute paths; missing paths are normalized.
            #expect(try await storage.canonicalPath("root/../outside") == sandbox.outside)
            #expect(try await storage.canonicalPath(".") == sandbox.base)
            #expect(try await storage.canonicalPath("") == sandbox.base)
            #expect(try await storage.canonicalPath("missing/../x") == sandbox.base + "/x")
            #expect(try await storage.canonicalPath(sandbox.root + "/./inside") == sandbox.root + "/inside")

            // Links are stored as given, ".." included.
            try await storage.createSymbolicLink(at: "root/up", pointingTo: "../outside/secret")
            #expect(try await storage.readSymbolicLink(at: "root/up") == "../outside/secret")
            #expect(try await storage.readWholeFile("root/up") == "secret")

            // The full mode, special bits included, as OpenSSH's sftp-server allows.
            try await storage.setAttributes(at: "made.txt", AttributeChanges(permissions: 0o4755), followingSymlinks: true)
            #expect(try await storage.attributes(at: "made.txt", followingSymlinks: true).permissions == 0o4755)

            try await storage.makeDirectory(at: "newdir", permissions: 0o755)
            #expect(sandbox.exists(atReal: sandbox.base + "/newdir"))
            try await storage.removeDirectory(at: "newdir")
            #expect(!sandbox.exists(atReal: sandbox.base + "/newdir"))
            try await storage.rename(from: "made.txt", to: "root/moved.txt", replacing: false)
            #expect(sandbox.contents("moved.txt") == "m")
        }
    }

    @Test func unrestrictedStartAndHome() async throws {
        try await withSandbox { sandbox, pool in
            // A start directory given through a symlink is resolved.
            try FileManager.default.createSymbolicLink(atPath: sandbox.base + "/via", withDestinationPath: sandbox.root)
            let storage = try LocalStorage(unrestrictedStartingAt: sandbox.base + "/via", pool: pool)
            #expect(storage.startDirectory == sandbox.root)
            #expect(storage.homeDirectory.hasPrefix("/"))
            #expect(throws: StorageError.self) {
                try LocalStorage(unrestrictedStartingAt: sandbox.base + "/missing", pool: pool)
            }
            #expect(throws: StorageError.self) {
                try LocalStorage(jailedAt: sandbox.base + "/missing", pool: pool)
            }
        }
    }
}
