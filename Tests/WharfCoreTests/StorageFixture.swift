import Foundation
import NIOCore
import NIOPosix
import Testing
import WharfCore
import WharfStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary tree: `base/root` is the jail, `base/outside` lies next to it and must stay unreachable.
struct Sandbox: Sendable {
    let base: String
    let root: String
    let outside: String

    init() throws {
        var template = Array("\(NSTemporaryDirectory())/wharf-core-tests.XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let result = mkdtemp(buffer.baseAddress!) else { return nil }
            return String(cString: result)
        }
        let created = try #require(made, "mkdtemp failed: \(errno)")
        // The jail compares real paths, so work with the real path of the temp dir.
        let real = try #require(realpath(created, nil))
        defer { free(real) }
        self.base = String(cString: real)
        self.root = self.base + "/root"
        self.outside = self.base + "/outside"
        try FileManager.default.createDirectory(atPath: self.root, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: self.outside, withIntermediateDirectories: false)
        try "secret".write(toFile: self.outside + "/secret", atomically: false, encoding: .utf8)
    }

    /// The real path of a path inside the jail.
    func real(_ path: String) -> String { self.root + "/" + path }

    func write(_ path: String, _ contents: String) throws {
        try contents.write(toFile: self.real(path), atomically: false, encoding: .utf8)
    }

    func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: self.real(path), withIntermediateDirectories: true)
    }

    /// Creates a symlink on disk, bypassing the storage, as a local user or another process could.
    func symlink(_ path: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: self.real(path), withDestinationPath: destination)
    }

    func contents(atReal path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func contents(_ path: String) -> String? { self.contents(atReal: self.real(path)) }

    /// Whether anything, a dangling symlink included, exists at a real path.
    func exists(atReal path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    func exists(_ path: String) -> Bool { self.exists(atReal: self.real(path)) }

    func mode(atReal path: String) -> UInt32? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.base)
    }
}

/// Runs `body` with a started two-thread pool and a fresh sandbox, and shuts both down afterwards.
func withSandbox(_ body: (Sandbox, NIOThreadPool) async throws -> Void) async throws {
    let sandbox = try Sandbox()
    let pool = NIOThreadPool(numberOfThreads: 2)
    pool.start()
    var failure: (any Error)?
    do {
        try await body(sandbox, pool)
    } catch {
        failure = error
    }
    try await pool.shutdownGracefully()
    sandbox.remove()
    if let failure { throw failure }
}

/// A jailed storage rooted at `sandbox.root`.
func withJail(readOnly: Bool = false, _ body: (LocalStorage, Sandbox) async throws -> Void) async throws {
    try await withSandbox { sandbox, pool in
        let storage = try LocalStorage(jailedAt: sandbox.root, pool: pool, readOnly: readOnly)
        try await body(storage, sandbox)
    }
}

/// The kind of the `StorageError` that `body` throws, nil when it succeeds.
func errorKind<T>(
    _ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation
) async -> StorageError.Kind? {
    do {
        _ = try await body()
        return nil
    } catch let error as StorageError {
        return error.kind
    } catch {
        Issue.record("not a StorageError: \(error)", sourceLocation: sourceLocation)
        return .failure
    }
}

extension LocalStorage {
    func readWholeFile(_ path: String) async throws -> String {
        let file = try await self.openFile(at: path, options: .read, permissions: nil)
        var result = ByteBuffer()
        while true {
            var chunk = try await file.read(at: UInt64(result.readableBytes), length: 7)
            if chunk.readableBytes == 0 { break }
            result.writeBuffer(&chunk)
        }
        try await file.close()
        return String(buffer: result)
    }

    func writeWholeFile(_ path: String, _ contents: String) async throws {
        let file = try await self.openFile(at: path, options: [.write, .create, .truncate], permissions: nil)
        try await file.write(ByteBuffer(string: contents), at: 0)
        try await file.close()
    }

    func listAll(_ path: String, batch: Int = 100) async throws -> [DirectoryEntry] {
        let directory = try await self.openDirectory(at: path)
        var entries: [DirectoryEntry] = []
        while true {
            let next = try await directory.nextEntries(maximumCount: batch)
            if next.isEmpty { break }
            entries += next
        }
        await directory.close()
        return entries
    }
}
