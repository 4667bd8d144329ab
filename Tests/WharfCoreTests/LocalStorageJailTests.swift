import Foundation
import NIOCore
import Testing
import WharfCore
import WharfStorage

@Suite("LocalStorage jail")
struct LocalStorageJailTests {
    @Test func dotDotIsClampedAtTheRoot() async throws {
        try await withJail { storage, sandbox in
            #expect(storage.startDirectory == "/")
            #expect(storage.homeDirectory == "/")
            #expect(!storage.isReadOnly)
            // base/outside/secret exists, but "/.." is "/" in the jail, so these name root/outside/secret.
            for path in ["/../outside/secret", "../outside/secret", "../../../outside/secret", "/a/../../outside/secret"] {
                #expect(await errorKind { try await storage.attributes(at: path, followingSymlinks: true) } == .notFound, "\(path)")
                #expect(await errorKind { try await storage.openFile(at: path, options: .read, permissions: nil) } == .notFound, "\(path)")
            }
            // Creating through ".." lands inside the root.
            try await storage.writeWholeFile("../../escaped.txt", "x")
            #expect(sandbox.contents("escaped.txt") == "x")
            #expect(!sandbox.exists(atReal: sandbox.base + "/escaped.txt"))
            try await storage.makeDirectory(at: "/../newdir", permissions: nil)
            #expect(sandbox.exists("newdir"))
            #expect(!sandbox.exists(atReal: sandbox.base + "/newdir"))
            #expect(try await storage.canonicalPath("/../../a/./b/..") == "/a")
            #expect(try await storage.canonicalPath("..") == "/")
            #expect(try await storage.canonicalPath("") == "/")
            #expect(sandbox.contents(atReal: sandbox.outside + "/secret") == "secret")
        }
    }

    @Test func absolutePathsAreInsideTheRoot() async throws {
        try await withJail { storage, sandbox in
            #expect(await errorKind { try await storage.attributes(at: "/etc/passwd", followingSymlinks: true) } == .notFound)
            #expect(await errorKind { try await storage.openFile(at: "/etc/passwd", options: .read, permissions: nil) } == .notFound)
            #expect(await errorKind { try await storage.openDirectory(at: "/etc") } == .notFound)
            #expect(await errorKind { try await storage.attributes(at: sandbox.outside + "/secret", followingSymlinks: true) } == .notFound)
            try await storage.writeWholeFile("/abs.txt", "abs")
            #expect(sandbox.contents("abs.txt") == "abs")
            let root = try await storage.attributes(at: "/", followingSymlinks: true)
            #expect(root.type == .directory)
            let names = Set(try await storage.listAll("/").map(\.name))
            #expect(names == [".", "..", "abs.txt"])
        }
    }

    @Test func symlinkToEtcCannotBeFollowed() async throws {
        try await withJail { storage, sandbox in
            try sandbox.symlink("etc_link", to: "/etc")
            let denied: StorageError.Kind? = .permissionDenied
            #expect(await errorKind { try await storage.attributes(at: "/etc_link", followingSymlinks: true) } == denied)
            #expect(await errorKind { try await storage.attributes(at: "/etc_link/passwd", followingSymlinks: true) } == denied)
            #expect(await errorKind { try await storage.attributes(at: "/etc_link/passwd", followingSymlinks: false) } == denied)
            #expect(await errorKind { try await storage.openFile(at: "/etc_link/passwd", options: .read, permissions: nil) } == denied)
            #expect(await errorKind { try await storage.openFile(at: "/etc_link", options: .read, permissions: nil) } == denied)
            #expect(await errorKind { try await storage.openDirectory(at: "/etc_link") } == denied)
            #expect(await errorKind { try await storage.openDirectory(at: "etc_link/") } == denied)
            #expect(await errorKind { try await storage.fileSystemStatistics(at: "/etc_link") } == denied)
            #expect(
                await errorKind {
                    try await storage.setAttributes(at: "/etc_link", AttributeChanges(permissions: 0o700), followingSymlinks: true)
                } == denied)
            // The link itself is visible.
            let link = try await storage.attributes(at: "/etc_link", followingSymlinks: false)
            #expect(link.type == .symbolicLink)
            let entry = try #require(try await storage.listAll("/").first { $0.name == "etc_link" })
            #expect(entry.attributes.type == .symbolicLink)
        }
    }

    @Test func symlinkToDotDotCannotBeFollowed() async throws {
        try await withJail { storage, sandbox in
            try sandbox.symlink("up", to: "..")
            let denied: StorageError.Kind? = .permissionDenied
            #expect(await errorKind { try await storage.attributes(at: "/up", followingSymlinks: true) } == denied)
            #expect(await errorKind { try await storage.openDirectory(at: "/up") } == denied)
            #expect(await errorKind { try await storage.openDirectory(at: "/up/outside") } == denied)
            #expect(await errorKind { try await storage.openFile(at: "/up/outside/secret", options: .read, permissions: nil) } == denied)
            #expect(await errorKind { try await storage.attributes(at: "/up/outside/secret", followingSymlinks: false) } == denied)
            #expect(
                await errorKind { try await storage.openFile(at: "/up/outside/new", options: [.write, .create], permissions: nil) }
                    == denied)
            #expect(await errorKind { try await storage.makeDirectory(at: "/up/outside/newdir", permissions: nil) } == denied)
            #expect(await errorKind { try await storage.removeFile(at: "/up/outside/secret") } == denied)
            #expect(await errorKind { try await storage.rename(from: "/up/outside/secret", to: "/stolen", replacing: true) } == denied)
            #expect(await errorKind { try await storage.createHardLink(at: "/hard", to: "/up/outside/secret") } == denied)
            #expect(await errorKind { try await storage.createSymbolicLink(at: "/up/outside/l", pointingTo: "/") } == denied)
            #expect(await errorKind { try await storage.readSymbolicLink(at: "/up/outside/secret") } == denied)

            let link = try await storage.attributes(at: "/up", followingSymlinks: false)
            #expect(link.type == .symbolicLink)
            #expect(try await storage.readSymbolicLink(at: "/up") == "..")

            #expect(!sandbox.exists(atReal: sandbox.outside + "/new"))
            #expect(!sandbox.exists(atReal: sandbox.outside + "/newdir"))
            #expect(!sandbox.exists(atReal: sandbox.outside + "/l"))
            #expect(!sandbox.exists("hard"))
            #expect(!sandbox.exists("stolen"))
            #expect(sandbox.contents(atReal: sandbox.outside + "/secret") == "secret")
        }
    }

    @Test func symlinkToASiblingSharingTheRootsPrefixIsOutside() async throws {
        try await withJail { storage, sandbox in
            // base/root2 starts with base/root but is not inside it.
            let sibling = sandbox.base + "/root2"
            try FileManager.default.createDirectory(atPath: sibling, withIntermediateDirectories: false)
            try "two".write(toFile: sibling + "/f", atomically: false, encoding: .utf8)
            try sandbox.symlink("sib", to: sibling)
            try sandbox.symlink("sibrel", to: "../root2/f")
            #expect(await errorKind { try await storage.openDirectory(at: "/sib") } == .permissionDenied)
            #expect(await errorKind { try await storage.openFile(at: "/sib/f", options: .read, permissions: nil) } == .permissionDenied)
            #expect(await errorKind { try await storage.openFile(at: "/sibrel", options: .read, permissions: nil) } == .permissionDenied)
        }
    }

    @Test func symlinksInsideTheRootWork() async throws {
        try await withJail { storage, sandbox in
            try sandbox.makeDirectory("dir")
            try sandbox.write("dir/f", "inside")
            try sandbox.symlink("absolute", to: sandbox.real("dir"))
            try sandbox.symlink("relative", to: "dir/f")
            try sandbox.symlink("dir/back", to: "../dir/f")
            #expect(try await storage.readWholeFile("/absolute/f") == "inside")
            #expect(try await storage.readWholeFile("/relative") == "inside")
            #expect(try await storage.readWholeFile("/dir/back") == "inside")
            #expect(try await storage.attributes(at: "/absolute", followingSymlinks: true).type == .directory)
            #expect(try await storage.attributes(at: "/relative", followingSymlinks: true).size == 6)
            #expect(Set(try await storage.listAll("/absolute").map(\.name)) == [".", "..", "f", "back"])
        }
    }

    @Test func createSymbolicLinkRefusesTargetsAboveTheRoot() async throws {
        try await withJail { storage, sandbox in
            try sandbox.makeDirectory("d")
            let cases: [(link: String, target: String)] = [
                ("/l1", ".."),
                ("/l2", "../outside/secret"),
                ("/l3", "/../outside"),
                ("/d/l4", "../.."),
                ("/d/l5", "../../outside/secret"),
                ("/d/l6", "x/../../../y"),
            ]
            for (link, target) in cases {
                #expect(
                    await errorKind { try await storage.createSymbolicLink(at: link, pointingTo: target) } == .permissionDenied,
                    "\(link) -> \(target)")
                #expect(!sandbox.exists(String(link.dropFirst())), "\(link) was created")
            }
        }
    }

    @Test func createSymbolicLinkStoresSafeTargets() async throws {
        try await withJail { storage, sandbox in
            try sandbox.makeDirectory("a")
            try sandbox.write("a/b", "bee")
            try sandbox.makeDirectory("d")

            try await storage.createSymbolicLink(at: "/lnk", pointingTo: "/a/b")
            // On disk: the real absolute path, so the kernel cannot climb out following it.
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: sandbox.real("lnk")) == sandbox.real("a/b"))
            // The client sees its own view.
            #expect(try await storage.readSymbolicLink(at: "/lnk") == "/a/b")
            #expect(try await storage.readWholeFile("/lnk") == "bee")
            #expect(try await storage.attributes(at: "/lnk", followingSymlinks: true).size == 3)
            #expect(try await storage.attributes(at: "/lnk", followingSymlinks: false).type == .symbolicLink)

            // Relative targets stay relative (readlink shows what was made), normalized so that
            // ".." only leads the path: "x/../../a/b" from /d is stored as "../a/b".
            try await storage.createSymbolicLink(at: "/d/rel", pointingTo: "../a/b")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: sandbox.real("d/rel")) == "../a/b")
            #expect(try await storage.readSymbolicLink(at: "/d/rel") == "../a/b")
            #expect(try await storage.readWholeFile("d/rel") == "bee")
            try await storage.createSymbolicLink(at: "/d/rel2", pointingTo: "x/../../a/b")
            #expect(try await storage.readSymbolicLink(at: "/d/rel2") == "../a/b")
            #expect(try await storage.readWholeFile("d/rel2") == "bee")

            // A link to the root itself.
            try await storage.createSymbolicLink(at: "/top", pointingTo: "/")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: sandbox.real("top")) == sandbox.root)
            #expect(try await storage.readSymbolicLink(at: "/top") == "/")
            #expect(try await storage.attributes(at: "/top/a/b", followingSymlinks: true).size == 3)

            // A dangling in-root target is allowed (ln -s does the same).
            try await storage.createSymbolicLink(at: "/later", pointingTo: "/not/yet")
            #expect(try await storage.readSymbolicLink(at: "/later") == "/not/yet")

            // The link path must not exist yet.
            #expect(await errorKind { try await storage.createSymbolicLink(at: "/lnk", pointingTo: "/a") } == .alreadyExists)
        }
    }

    @Test func createThroughADanglingSymlinkPointingOutsideFails() async throws {
        try await withJail { storage, sandbox in
            try sandbox.symlink("dangle", to: sandbox.outside + "/ghost")
            try sandbox.symlink("dangle2", to: "../outside/ghost2")
            for (path, ghost) in [("/dangle", "ghost"), ("/dangle2", "ghost2")] {
                for options: OpenOptions in [[.write, .create], [.write, .create, .truncate], [.write, .create, .exclusive], [.read, .append, .create]] {
                    let kind = await errorKind { try await storage.openFile(at: path, options: options, permissions: 0o644) }
                    #expect(kind != nil, "\(path) \(options) was opened")
                    #expect(!sandbox.exists(atReal: sandbox.outside + "/" + ghost), "\(path) \(options) created \(ghost)")
                }
                #expect(await errorKind { try await storage.makeDirectory(at: path, permissions: nil) } == .alreadyExists)
                #expect(try await storage.attributes(at: path, followingSymlinks: false).type == .symbolicLink)
            }
            #expect(!sandbox.exists(atReal: sandbox.outside + "/ghost"))
            #expect(!sandbox.exists(atReal: sandbox.outside + "/ghost2"))
        }
    }

    @Test func renameWithoutReplacingRefusesAnExistingTarget() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("a", "A")
            try sandbox.write("b", "B")
            try sandbox.makeDirectory("d1/inner")
            try sandbox.makeDirectory("d2")
            try sandbox.symlink("s", to: "a")

            #expect(await errorKind { try await storage.rename(from: "/a", to: "/b", replacing: false) } == .alreadyExists)
            #expect(await errorKind { try await storage.rename(from: "/d1", to: "/d2", replacing: false) } == .alreadyExists)
            #expect(await errorKind { try await storage.rename(from: "/a", to: "/d2", replacing: false) } == .alreadyExists)
            #expect(await errorKind { try await storage.rename(from: "/d2", to: "/a", replacing: false) } == .alreadyExists)
            #expect(await errorKind { try await storage.rename(from: "/s", to: "/b", replacing: false) } == .alreadyExists)
            #expect(await errorKind { try await storage.rename(from: "/missing", to: "/c", replacing: false) } == .notFound)
            #expect(sandbox.contents("a") == "A")
            #expect(sandbox.contents("b") == "B")
            #expect(sandbox.exists("d1/inner"))
            #expect(sandbox.exists("d2"))

            // To a free name: moved, not copied.
            try await storage.rename(from: "/a", to: "/c", replacing: false)
            #expect(!sandbox.exists("a"))
            #expect(sandbox.contents("c") == "A")
            try await storage.rename(from: "/d1", to: "/d3", replacing: false)
            #expect(!sandbox.exists("d1"))
            #expect(sandbox.exists("d3/inner"))
        }
    }

    @Test func renameWithReplacingReplaces() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("a", "A")
            try sandbox.write("b", "B")
            try sandbox.makeDirectory("d1/inner")
            try sandbox.makeDirectory("d2")
            try await storage.rename(from: "/a", to: "/b", replacing: true)
            #expect(!sandbox.exists("a"))
            #expect(sandbox.contents("b") == "A")
            // A directory replaces an empty directory.
            try await storage.rename(from: "/d1", to: "/d2", replacing: true)
            #expect(!sandbox.exists("d1"))
            #expect(sandbox.exists("d2/inner"))
        }
    }

    @Test func closeAndRenameCommitsAnUploadInsideTheJail() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("target", "old")
            let file = try await storage.openFile(at: "/.part", options: [.write, .create, .exclusive], permissions: nil)
            try await file.write(ByteBuffer(string: "new"), at: 0)
            try await storage.closeAndRename(file, from: "/.part", to: "/target")
            #expect(sandbox.contents("target") == "new")
            #expect(!sandbox.exists(".part"))
            try await file.close()  // Already closed: nothing happens.
            #expect(await errorKind { try await file.write(ByteBuffer(string: "x"), at: 0) } == .invalidHandle)

            // The target is resolved in the jail like any path: "/../x" is the root's x.
            let second = try await storage.openFile(at: "/.part2", options: [.write, .create], permissions: nil)
            try await storage.closeAndRename(second, from: "/.part2", to: "/../escaped")
            #expect(sandbox.exists("escaped"))
            #expect(!sandbox.exists(atReal: sandbox.base + "/escaped"))

            // A missing source: the file is closed all the same, and the error is the rename's.
            let third = try await storage.openFile(at: "/.part3", options: [.write, .create], permissions: nil)
            try FileManager.default.removeItem(atPath: sandbox.real(".part3"))
            #expect(await errorKind { try await storage.closeAndRename(third, from: "/.part3", to: "/t3") } == .notFound)
            #expect(await errorKind { try await third.write(ByteBuffer(string: "x"), at: 0) } == .invalidHandle)
        }
    }

    @Test func removeDirectoryRefusesTheRoot() async throws {
        try await withJail { storage, sandbox in
            for path in ["/", "", ".", "/..", "../..", "/a/..", "//"] {
                #expect(await errorKind { try await storage.removeDirectory(at: path) } == .permissionDenied, "\(path)")
            }
            #expect(sandbox.exists(atReal: sandbox.root))
            // Ordinary directories can go, when empty.
            try sandbox.makeDirectory("full/inner")
            #expect(await errorKind { try await storage.removeDirectory(at: "/full") } == .directoryNotEmpty)
            try await storage.removeDirectory(at: "/full/inner")
            try await storage.removeDirectory(at: "full")
            #expect(!sandbox.exists("full"))
            #expect(await errorKind { try await storage.removeDirectory(at: "/full") } == .notFound)
        }
    }

    @Test func removeFileRemovesTheLinkNotItsTarget() async throws {
        try await withJail { storage, sandbox in
            try sandbox.symlink("etc_link", to: "/etc")
            try sandbox.symlink("secret_link", to: sandbox.outside + "/secret")
            try await storage.removeFile(at: "/etc_link")
            try await storage.removeFile(at: "/secret_link")
            #expect(!sandbox.exists("etc_link"))
            #expect(!sandbox.exists("secret_link"))
            #expect(sandbox.contents(atReal: sandbox.outside + "/secret") == "secret")
            #expect(await errorKind { try await storage.removeFile(at: "/nothing") } == .notFound)
        }
    }

    @Test func hardLinksStayInside() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("a", "A")
            try await storage.createHardLink(at: "/h", to: "/a")
            #expect(sandbox.contents("h") == "A")
            #expect(try await storage.attributes(at: "/a", followingSymlinks: false).linkCount == 2)
            #expect(await errorKind { try await storage.createHardLink(at: "/h", to: "/a") } == .alreadyExists)
        }
    }

    @Test func jailedPermissionsDropSpecialBits() async throws {
        try await withJail { storage, sandbox in
            try await storage.makeDirectory(at: "/sticky", permissions: 0o1777)
            let directory = try #require(sandbox.mode(atReal: sandbox.real("sticky")))
            #expect(directory & 0o7000 == 0)
            let file = try await storage.openFile(at: "/suid", options: [.write, .create], permissions: 0o4755)
            try await file.close()
            let mode = try #require(sandbox.mode(atReal: sandbox.real("suid")))
            #expect(mode & 0o7000 == 0)
            try await storage.setAttributes(at: "/suid", AttributeChanges(permissions: 0o6755), followingSymlinks: true)
            #expect(try await storage.attributes(at: "/suid", followingSymlinks: true).permissions == 0o755)
        }
    }

    /// FSETSTAT goes through the open file, not the storage; the jail must mask the mode there too.
    @Test func jailedPermissionsDropSpecialBitsThroughAnOpenFile() async throws {
        try await withJail { storage, sandbox in
            let file = try await storage.openFile(at: "/f", options: [.read, .write, .create], permissions: 0o644)
            try await file.setAttributes(AttributeChanges(permissions: 0o4755))
            let permissions = try await file.attributes().permissions
            try await file.close()
            #expect(permissions == 0o755, "setuid set through a file handle in the jail: 0\(String(permissions, radix: 8))")
        }
    }
}
