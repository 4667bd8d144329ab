import Foundation
import NIOCore
import NIOPosix
import Testing
import WharfCore
@testable import WharfStorage

#if canImport(Glibc)
import Glibc
#endif

/// Opens and reads tried where the caller is, an event loop included: they succeed only from the
/// kernel's caches, and refuse (for the pool to do it) whatever would wait or leave the jail.
@Suite("Non-blocking file access")
struct NonBlockingFileAccessTests {
    /// What `PageCacheTests.withFile` writes.
    static let contents = (0..<(48 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    /// The sandbox's directories hold a local file system (ext4, XFS, btrfs or tmpfs) in CI.
    static func fileSystem(of path: String) throws -> NonBlockingFileAccess.FileSystem {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        return NonBlockingFileAccess.FileSystem(descriptor: descriptor)
    }

    /// The kernel's lookup cache refuses a walk that a rename anywhere on the system overlapped
    /// (the tests beside this one rename files): such an attempt goes to the pool in the server,
    /// and is tried again here.
    static func retried<T>(_ attempt: () -> T?) -> T? {
        for _ in 0..<50 {
            if let result = attempt() { return result }
            usleep(2_000)
        }
        return nil
    }

    static func retried<T>(_ attempt: () async -> T?) async -> T? {
        for _ in 0..<50 {
            if let result = await attempt() { return result }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    @Test func aReadFromDiskIsMadeWhenThePagesAreCachedAndNeverWaitsForTheDisk() throws {
        try PageCacheTests.withFile(size: Self.contents.count) { descriptor in
            // The helper's file lies under /tmp, a disk here (PageCacheTests says why).
            try #require(
                NonBlockingFileAccess.FileSystem(descriptor: descriptor) == .pageCached,
                "/tmp is expected on ext4, XFS or btrfs")
            // Pages not in the cache: RWF_NOWAIT starts the disk's read-ahead without waiting for
            // it; on a fast disk the data may be there by the time the kernel looks again, so
            // either answer is right, but never an error or other bytes.
            let dropped = Self.retried { () -> Bool? in
                _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
                return PageCacheTests.cachedPages(descriptor, length: PageCacheTests.pageSize) == 0 ? true : nil
            }
            try #require(dropped == true, "the first page stayed in the page cache")
            switch NonBlockingFileAccess.read(descriptor, at: 0, capacity: 4096, fileSystem: .pageCached) {
            case .wouldBlock: break
            case .done(let buffer): #expect(buffer.readableBytesView.elementsEqual(Self.contents[0..<4096]))
            case .failed(let failure): Issue.record("a read of pages not in the cache failed: \(failure)")
            }
            var warm = [UInt8](repeating: 0, count: Self.contents.count)
            #expect(pread(descriptor, &warm, warm.count, 0) == warm.count)
            guard case .done(let buffer) = NonBlockingFileAccess.read(
                descriptor, at: 4096, capacity: 8192, fileSystem: .pageCached)
            else {
                Issue.record("a read of cached pages went to the pool")
                return
            }
            #expect(buffer.readableBytesView.elementsEqual(Self.contents[4096..<12288]))
            // At the end: an empty buffer, the caller's end of file.
            guard case .done(let end) = NonBlockingFileAccess.read(
                descriptor, at: UInt64(Self.contents.count), capacity: 4096, fileSystem: .pageCached)
            else {
                Issue.record("the read at the end went to the pool")
                return
            }
            #expect(end.readableBytes == 0)
        }
    }

    @Test func cachedRangesAreToldWithoutMappingTheFile() throws {
        let size = 64 * 1024
        try PageCacheTests.withFile(size: size) { descriptor in
            var warm = [UInt8](repeating: 0, count: size)
            #expect(pread(descriptor, &warm, size, 0) == size)
            #expect(NonBlockingFileAccess.isCached(descriptor, at: 0, length: size))
            #expect(NonBlockingFileAccess.isCached(descriptor, at: 100, length: 5000))
            #expect(NonBlockingFileAccess.isCached(descriptor, at: 0, length: 0))
            let dropped = Self.retried { () -> Bool? in
                _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
                return PageCacheTests.cachedPages(descriptor, length: PageCacheTests.pageSize) == 0 ? true : nil
            }
            try #require(dropped == true, "the first page stayed in the page cache")
            #expect(!NonBlockingFileAccess.isCached(descriptor, at: 0, length: size))
            // Past the end there are no pages: "not cached", and the pool's way decides.
            #expect(!NonBlockingFileAccess.isCached(descriptor, at: UInt64(size) * 4, length: 4096))
        }
    }

    @Test func largeReadsAndUnknownFileSystemsGoToThePool() throws {
        try PageCacheTests.withFile(size: 256 * 1024) { descriptor in
            var warm = [UInt8](repeating: 0, count: 256 * 1024)
            #expect(pread(descriptor, &warm, warm.count, 0) == warm.count)
            let large = NonBlockingFileAccess.read(
                descriptor, at: 0, capacity: NonBlockingFileAccess.largestInlineRead + 1, fileSystem: .pageCached)
            let unknown = NonBlockingFileAccess.read(descriptor, at: 0, capacity: 4096, fileSystem: .other)
            for attempt in [large, unknown] {
                guard case .wouldBlock = attempt else {
                    Issue.record("read inline: \(attempt)")
                    continue
                }
            }
        }
    }

    @Test func theFileSystemsAreKnownByType() {
        #expect(NonBlockingFileAccess.FileSystem(type: 0xEF53) == .pageCached)
        #expect(NonBlockingFileAccess.FileSystem(type: 0x5846_5342) == .pageCached)
        #expect(NonBlockingFileAccess.FileSystem(type: 0x9123_683E) == .pageCached)
        #expect(NonBlockingFileAccess.FileSystem(type: 0x0102_1994) == .memory)
        #expect(NonBlockingFileAccess.FileSystem(type: 0x6969) == .other)  // NFS
        #expect(NonBlockingFileAccess.FileSystem(type: 0x6573_5546) == .other)  // FUSE
        #expect(NonBlockingFileAccess.FileSystem(type: 0x794C_7630) == .other)  // overlayfs
        #expect(NonBlockingFileAccess.FileSystem(type: -1) == .other)
    }

    @Test func openingBelowADirectoryRefusesWhatLeavesItOrIsNoRegularFile() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try sandbox.write("file", "inside")
        try sandbox.makeDirectory("dir/sub")
        try sandbox.write("dir/sub/deep", "deep")
        try sandbox.symlink("relative", to: "dir/sub/deep")
        try sandbox.symlink("absolute-inside", to: sandbox.real("file"))
        try sandbox.symlink("etc", to: "/etc")
        try sandbox.symlink("up", to: "..")
        try sandbox.symlink("dangling", to: "nowhere")
        #expect(mkfifo(sandbox.real("fifo"), 0o600) == 0)
        // With relatime, following a link whose access time is not after its change time updates
        // it, which a cached lookup refuses: let the clock move on before the look-ups below.
        usleep(20_000)
        let root = open(sandbox.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(root >= 0)
        defer { close(root) }
        // Look every name up once, as the ordinary open before the first inline one does.
        for name in ["file", "dir/sub/deep", "relative", "absolute-inside", "fifo", "etc/passwd", "up/outside/secret"] {
            var info = stat()
            _ = stat(sandbox.real(name), &info)
        }

        for (path, expected) in [("file", "inside"), ("dir/sub/deep", "deep"), ("relative", "deep")] {
            let opened = try #require(
                Self.retried { NonBlockingFileAccess.openForReading(below: root, relativePath: path) },
                "\(path) was not opened")
            defer { close(opened.descriptor) }
            #expect(opened.size == UInt64(expected.utf8.count))
            #expect(fcntl(opened.descriptor, F_GETFL) & O_NONBLOCK == 0, "\(path) kept O_NONBLOCK")
            #expect(fcntl(opened.descriptor, F_GETFD) & FD_CLOEXEC != 0, "\(path) lacks FD_CLOEXEC")
            var bytes = [UInt8](repeating: 0, count: 64)
            let count = read(opened.descriptor, &bytes, bytes.count)
            #expect(String(decoding: bytes.prefix(max(0, count)), as: UTF8.self) == expected)
        }
        // An absolute symlink (even one that stays inside), "..", a directory, a FIFO (whose open would
        // wait for a writer), a missing or dangling name, "/etc": all for the ordinary path.
        for path in [
            "absolute-inside", "etc/passwd", "up/outside/secret", "../outside/secret", "/etc/passwd", "dir", "fifo",
            "missing", "dangling", "",
        ] {
            if let opened = NonBlockingFileAccess.openForReading(below: root, relativePath: path) {
                close(opened.descriptor)
                Issue.record("\(path) was opened inline")
            }
        }
    }

    @Test func aJailedStorageOpensReadsClosesAndStatsACachedFileWithoutItsPool() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let storage = try LocalStorage(jailedAt: sandbox.root, pool: pool)
        try await storage.writeWholeFile("/first", "first")
        try await storage.writeWholeFile("/dir/../second", "second")
        try sandbox.symlink("link", to: "second")
        usleep(20_000)  // see openingBelowADirectoryRefusesWhatLeavesItOrIsNoRegularFile
        _ = try await storage.attributes(at: "/link", followingSymlinks: true)
        let fileSystem = try Self.fileSystem(of: sandbox.root)
        // The first open goes to the pool (it also opens the jail's root for the inline ones), and
        // so does the first status (it looks the owner's names up).
        #expect(try await storage.readWholeFile("/first") == "first")
        let owner = try await storage.attributes(at: "/first", followingSymlinks: true)
        try await pool.shutdownGracefully()

        try #require(
            fileSystem == .pageCached || (fileSystem == .memory && swapIsOff()),
            "the temporary directory is expected on ext4, XFS, btrfs, or tmpfs without swap")
        for (path, expected) in [("/second", "second"), ("/link", "second"), ("../first", "first")] {
            let contents = await Self.retried { try? await storage.readWholeFile(path) }
            #expect(contents == expected, "\(path)")
        }
        let statuses: [(path: String, follow: Bool, type: FileType, size: UInt64?)] = [
            ("/second", true, .regular, 6), ("/link", true, .regular, 6), ("/link", false, .symbolicLink, nil),
            ("/", true, .directory, nil), ("../dir/../first", false, .regular, 5),
        ]
        for expected in statuses {
            let attributes = await Self.retried {
                try? await storage.attributes(at: expected.path, followingSymlinks: expected.follow)
            }
            #expect(attributes?.type == expected.type, "\(expected.path)")
            if let size = expected.size { #expect(attributes?.size == size, "\(expected.path)") }
            #expect(attributes?.userName == owner.userName, "\(expected.path)")
            #expect(attributes?.groupName == owner.groupName, "\(expected.path)")
        }
        // An open file's status, and the page-cache check before sendfile, need no pool either.
        let opened = await Self.retried { try? await storage.openFile(at: "/second", options: .read, permissions: nil) }
        let file = try #require(opened as? any DescriptorBackedFile)
        #expect(try await file.attributes().size == 6)
        try await file.cacheRange(at: 0, length: 6)
        try await file.close()
        // Whatever needs the pool now fails instead: a write, and a name the jail must check.
        #expect(await errorKind { try await storage.writeWholeFile("/third", "x") } == .failure)
        #expect(await errorKind { try await storage.openFile(at: "/missing", options: .read, permissions: nil) } == .failure)
        #expect(await errorKind { try await storage.attributes(at: "/missing", followingSymlinks: true) } == .failure)
        #expect(await errorKind { try await storage.openFile(at: "/first", options: [.read, .write], permissions: nil) } == .failure)
    }

    @Test func escapesAreRefusedAfterTheJailRootIsOpen() async throws {
        try await withJail { storage, sandbox in
            try sandbox.write("file", "inside")
            try sandbox.symlink("etc_link", to: "/etc")
            try sandbox.symlink("up", to: "..")
            try sandbox.symlink("abs_out", to: sandbox.outside + "/secret")
            try sandbox.symlink("abs_in", to: sandbox.real("file"))
            #expect(try await storage.readWholeFile("/file") == "inside")
            let denied: StorageError.Kind? = .permissionDenied
            for path in ["/etc_link/passwd", "/up/outside/secret", "/abs_out"] {
                #expect(await errorKind { try await storage.openFile(at: path, options: .read, permissions: nil) } == denied, "\(path)")
                #expect(await errorKind { try await storage.attributes(at: path, followingSymlinks: true) } == denied, "\(path)")
            }
            #expect(await errorKind { try await storage.attributes(at: "/etc_link/passwd", followingSymlinks: false) } == denied)
            #expect(try await storage.attributes(at: "/etc_link", followingSymlinks: false).type == .symbolicLink)
            for path in ["/../outside/secret", "../../outside/secret", "/etc/passwd"] {
                #expect(await errorKind { try await storage.openFile(at: path, options: .read, permissions: nil) } == .notFound, "\(path)")
            }
            // An absolute link that stays inside still works (the ordinary path resolves it).
            #expect(try await storage.readWholeFile("/abs_in") == "inside")
            #expect(sandbox.contents(atReal: sandbox.outside + "/secret") == "secret")
        }
    }
}

/// Whether a tmpfs file may be read inline here: no swap (/proc/swaps lists none under its header).
private func swapIsOff() -> Bool {
    guard let swaps = try? String(contentsOfFile: "/proc/swaps", encoding: .utf8) else { return false }
    return swaps.split(separator: "\n").count <= 1
}
