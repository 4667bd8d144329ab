import Foundation
import NIOPosix
import Testing
import WharfCore
@testable import WharfStorage

/// Sessions of one home share one storage root while any of them is open, and never a root whose
/// jail holds a directory the home path no longer names.
@Suite("LocalStorage cache")
struct LocalStorageCacheTests {
    @Test func sessionsOfTheSameHomeAndModeShareOneRoot() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.makeDirectory("alice")
            try sandbox.makeDirectory("bob")
            let cache = LocalStorageCache(pool: pool)
            let first = try cache.storage(jailedAt: sandbox.real("alice"), readOnly: false)
            // The same directory spelt another way is the same home.
            let second = try cache.storage(jailedAt: sandbox.root + "/bob/../alice/", readOnly: false)
            let readOnly = try cache.storage(jailedAt: sandbox.real("alice"), readOnly: true)
            let other = try cache.storage(jailedAt: sandbox.real("bob"), readOnly: false)
            #expect(first.sharesRoot(with: second))
            #expect(!first.sharesRoot(with: readOnly))
            #expect(readOnly.isReadOnly && !first.isReadOnly)
            #expect(!first.sharesRoot(with: other))
            #expect(cache.sharedRootCount == 3)

            // What one session writes, the other sees, through the shared jail.
            try await first.writeWholeFile("/f", "shared")
            #expect(try await second.readWholeFile("/f") == "shared")
            #expect(sandbox.contents("alice/f") == "shared")
        }
    }

    @Test func aRootIsKeptOnlyWhileAStorageUsesIt() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.makeDirectory("home")
            let cache = LocalStorageCache(pool: pool)
            do {
                let storage = try cache.storage(jailedAt: sandbox.real("home"), readOnly: false)
                #expect(cache.sharedRootCount == 1)
                _ = try await storage.attributes(at: "/", followingSymlinks: true)
            }
            #expect(cache.sharedRootCount == 0)
            // Many homes come and go: the table is pruned, and a new login works.
            for index in 0..<100 {
                try sandbox.makeDirectory("h\(index)")
                _ = try cache.storage(jailedAt: sandbox.real("h\(index)"), readOnly: false)
            }
            #expect(cache.sharedRootCount == 0)
        }
    }

    @Test func aHomeMadeAgainGetsANewRoot() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.makeDirectory("home")
            try sandbox.write("home/old", "old")
            let cache = LocalStorageCache(pool: pool)
            let before = try cache.storage(jailedAt: sandbox.real("home"), readOnly: false)
            // The first status goes to the pool and opens the jail's root.
            _ = try await before.attributes(at: "/old", followingSymlinks: true)
            try FileManager.default.moveItem(atPath: sandbox.real("home"), toPath: sandbox.real("home-was"))
            try sandbox.makeDirectory("home")
            try sandbox.write("home/new", "new")

            // At a login on an event loop too (the new home's lookup is cached by the writes above).
            let quick = try #require(
                NonBlockingFileAccessTests.retried { cache.storageWithoutBlocking(jailedAt: sandbox.real("home"), readOnly: false) })
            #expect(!quick.sharesRoot(with: before))
            #expect(try await quick.readWholeFile("/new") == "new")
            // Its jail is open now: the next quick login checks it (device and inode) and shares it.
            let again = try #require(
                NonBlockingFileAccessTests.retried { cache.storageWithoutBlocking(jailedAt: sandbox.real("home"), readOnly: false) })
            #expect(again.sharesRoot(with: quick))

            let after = try cache.storage(jailedAt: sandbox.real("home"), readOnly: false)
            #expect(!after.sharesRoot(with: before))
            #expect(try await after.readWholeFile("/new") == "new")
            #expect(await errorKind { try await after.attributes(at: "/old", followingSymlinks: true) } == .notFound)
            // Logins from now on share the new one.
            let next = try cache.storage(jailedAt: sandbox.real("home"), readOnly: false)
            #expect(next.sharesRoot(with: after))
        }
    }

    /// At a login on an event loop: the same root as the blocking way, or nil for the pool.
    @Test func aCachedHomeIsFoundWithoutBlockingAndSharesTheRoot() async throws {
        try await withSandbox { sandbox, pool in
            try sandbox.makeDirectory("home")
            try FileManager.default.createSymbolicLink(atPath: sandbox.real("link"), withDestinationPath: sandbox.real("home"))
            let cache = LocalStorageCache(pool: pool)
            let blocking = try cache.storage(jailedAt: sandbox.real("home"), readOnly: false)
            // The blocking call walked the path: its lookup is cached (a rename elsewhere may
            // make one walk fall back, hence the retries).
            let quick = try #require(NonBlockingFileAccessTests.retried { cache.storageWithoutBlocking(jailedAt: sandbox.real("home"), readOnly: false) })
            #expect(quick.sharesRoot(with: blocking))
            _ = try cache.storage(jailedAt: sandbox.real("link"), readOnly: false)
            let throughLink = try #require(NonBlockingFileAccessTests.retried { cache.storageWithoutBlocking(jailedAt: sandbox.real("link"), readOnly: false) })
            #expect(throughLink.sharesRoot(with: blocking), "a symlinked home resolves to the same root")
            for spelling in [sandbox.real("home") + "/", sandbox.real("home") + "/.", sandbox.root + "//home"] {
                let respelt = try #require(NonBlockingFileAccessTests.retried { cache.storageWithoutBlocking(jailedAt: spelling, readOnly: false) })
                #expect(respelt.sharesRoot(with: blocking), "\(spelling) is the same home")
            }
            let readOnly = try #require(NonBlockingFileAccessTests.retried { cache.storageWithoutBlocking(jailedAt: sandbox.real("home"), readOnly: true) })
            #expect(!readOnly.sharesRoot(with: blocking) && readOnly.isReadOnly)

            // Missing, not a directory, not absolute: for the pool, which makes it or says why.
            #expect(cache.storageWithoutBlocking(jailedAt: sandbox.real("nobody"), readOnly: false) == nil)
            try sandbox.write("file", "x")
            _ = try? cache.storage(jailedAt: sandbox.real("file"), readOnly: false)
            #expect(cache.storageWithoutBlocking(jailedAt: sandbox.real("file"), readOnly: false) == nil)
            #expect(cache.storageWithoutBlocking(jailedAt: "relative/home", readOnly: false) == nil)
        }
    }

    @Test func aMissingHomeIsAnError() async throws {
        try await withSandbox { sandbox, pool in
            let cache = LocalStorageCache(pool: pool)
            #expect(throws: StorageError.self) { try cache.storage(jailedAt: sandbox.real("nobody"), readOnly: false) }
        }
    }
}
