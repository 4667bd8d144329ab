import SFTPProtocol
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How `downloadTree` and `uploadTree` transfer a directory tree.
public struct TreeTransferOptions: Sendable {
    /// Called with the progress of the whole tree, one call at a time (keep it quick).
    public typealias Progress = @Sendable (TreeTransferProgress) -> Void

    /// How each file is transferred (resume, verify, attributes, requests in flight); its
    /// `progress` is not called: the tree's is.
    public var file: TransferOptions
    /// Files transferred at once over the one connection.
    public var parallel: Int
    public var progress: Progress?

    public init(file: TransferOptions = TransferOptions(), parallel: Int = 4, progress: Progress? = nil) {
        self.file = file
        self.parallel = parallel
        self.progress = progress
    }
}

/// Where a tree transfer stands.
public struct TreeTransferProgress: Sendable, Hashable {
    public var bytesDone: UInt64
    public var bytesTotal: UInt64
    public var filesDone: Int
    public var filesTotal: Int
}

/// What a tree transfer did. Files that failed did not stop the others.
public struct TreeTransferReport: Sendable, CustomStringConvertible {
    /// Files transferred (or found complete when resuming).
    public var filesTransferred = 0
    /// Of those, files a resume found already complete.
    public var filesAlreadyComplete = 0
    public var directoriesCreated = 0
    public var bytesTransferred: UInt64 = 0
    /// Entries left alone, by relative path: symbolic links (not followed, not recreated) and
    /// special files.
    public var skipped: [String] = []
    /// One per failed entry, by relative path.
    public var failures: [TransferFailure] = []

    public var succeeded: Bool { self.failures.isEmpty }

    public var description: String {
        var text = "\(self.filesTransferred) files, \(self.bytesTransferred) bytes, \(self.directoriesCreated) directories created"
        if !self.skipped.isEmpty { text += ", \(self.skipped.count) skipped" }
        if !self.failures.isEmpty { text += ", \(self.failures.count) failed" }
        return text
    }
}

extension RemoteFileSystem {
    /// Downloads a remote directory tree into `localDirectory` (created with its parents when
    /// missing): directories are created, regular files downloaded with `downloadFile` (so each is
    /// written to a temporary name first), `parallel` at once. Symbolic links and special files are
    /// skipped and listed in the report. A file or directory that fails is reported and the rest
    /// goes on; only a root that cannot be read throws.
    public func downloadTree(
        remoteDirectory: String, localDirectory: String, options: TreeTransferOptions = TreeTransferOptions()
    ) async throws -> TreeTransferReport {
        let rootAttributes = try await self.stat(remoteDirectory)
        if let mode = rootAttributes.permissions, FileKind(mode: mode) != .directory {
            throw FileTransferError.notADirectory(path: remoteDirectory)
        }
        let listing = try await self.walkRemoteTree(remoteDirectory, parallel: max(options.parallel, 4))
        var report = TreeTransferReport()
        report.failures = listing.failures
        if try await LocalFileSystem.status(localDirectory) == nil {
            try await LocalFileSystem.makeDirectories(localDirectory)
            report.directoriesCreated += 1
        }
        let files = await Self.makeDirectories(of: listing.entries, into: &report) { relativePath in
            try await LocalFileSystem.makeDirectory(TreePath.join(localDirectory, relativePath))
        }
        await self.transferFiles(files, options: options, into: &report) { entry, fileOptions in
            try await self.downloadFile(
                remotePath: TreePath.join(remoteDirectory, entry.relativePath),
                localPath: TreePath.join(localDirectory, entry.relativePath), options: fileOptions)
        }
        try Task.checkCancellation()
        return report
    }

    /// Uploads a local directory tree into `remoteDirectory` (created with its parents when
    /// missing); the counterpart of `downloadTree`, each file with `uploadFile`.
    public func uploadTree(
        localDirectory: String, remoteDirectory: String, options: TreeTransferOptions = TreeTransferOptions()
    ) async throws -> TreeTransferReport {
        guard let rootStatus = try await LocalFileSystem.status(localDirectory) else {
            throw LocalFileError(path: localDirectory, operation: "stat", errno: ENOENT)
        }
        guard rootStatus.kind == .directory else { throw FileTransferError.notADirectory(path: localDirectory) }
        let listing = try await LocalTreeWalker.walk(localDirectory)
        var report = TreeTransferReport()
        report.failures = listing.failures
        report.directoriesCreated += try await self.makeRemoteDirectories(remoteDirectory)
        let files = await Self.makeDirectories(of: listing.entries, into: &report) { relativePath in
            try await self.makeRemoteDirectory(TreePath.join(remoteDirectory, relativePath))
        }
        await self.transferFiles(files, options: options, into: &report) { entry, fileOptions in
            try await self.uploadFile(
                localPath: TreePath.join(localDirectory, entry.relativePath),
                remotePath: TreePath.join(remoteDirectory, entry.relativePath), options: fileOptions)
        }
        try Task.checkCancellation()
        return report
    }

    /// Creates the destination's directories in walk order (parents first) with `makeDirectory`
    /// (true when it made one), lists links and special files as skipped, and returns the regular
    /// files to transfer. A directory that cannot be made is a failure; the rest goes on.
    static func makeDirectories(
        of entries: [TreeEntry], into report: inout TreeTransferReport,
        _ makeDirectory: (String) async throws -> Bool
    ) async -> [TreeEntry] {
        var files: [TreeEntry] = []
        for entry in entries {
            switch entry.kind {
            case .directory:
                do {
                    if try await makeDirectory(entry.relativePath) { report.directoriesCreated += 1 }
                } catch {
                    report.failures.append(TransferFailure(path: entry.relativePath, error: error))
                }
            case .file:
                files.append(entry)
            case .symbolicLink, .other:
                report.skipped.append(entry.relativePath)
            }
        }
        return files
    }

    /// Transfers `files`, `options.parallel` at once, adding their outcome to `report`.
    func transferFiles(
        _ files: [TreeEntry], options: TreeTransferOptions, into report: inout TreeTransferReport,
        transfer: @escaping @Sendable (TreeEntry, TransferOptions) async throws -> FileTransferResult
    ) async {
        let bytesTotal = files.reduce(UInt64(0)) { $0 + ($1.size ?? 0) }
        let tracker = TreeProgressTracker(bytesTotal: bytesTotal, filesTotal: files.count, report: options.progress)
        let indexed: [IndexedEntry] = files.enumerated().map { IndexedEntry(index: $0.offset, entry: $0.element) }
        let fileOptions = options.file
        let reportsProgress = options.progress != nil
        let outcomes = await boundedConcurrentMap(indexed, limit: options.parallel) { item in
            await Self.transferOne(
                item, options: fileOptions, reportsProgress: reportsProgress, tracker: tracker, transfer: transfer)
        }
        var failures: [TransferFailure] = []
        for (path, outcome) in outcomes {
            switch outcome {
            case .success(let result):
                report.filesTransferred += 1
                if result.alreadyComplete { report.filesAlreadyComplete += 1 }
                report.bytesTransferred += result.bytesTransferred
            case .failure(let error):
                failures.append(TransferFailure(path: path, error: error))
            }
        }
        report.failures += failures.sorted { $0.path < $1.path }
    }

    private static func transferOne(
        _ item: IndexedEntry, options: TransferOptions, reportsProgress: Bool, tracker: TreeProgressTracker,
        transfer: @Sendable (TreeEntry, TransferOptions) async throws -> FileTransferResult
    ) async -> (String, Result<FileTransferResult, any Error>) {
        var fileOptions = options
        let index = item.index
        fileOptions.progress = nil
        if reportsProgress {
            fileOptions.progress = { done, _ in tracker.update(file: index, bytes: done) }
        }
        do {
            let result = try await transfer(item.entry, fileOptions)
            tracker.finish(file: index, bytes: result.size)
            return (item.entry.relativePath, .success(result))
        } catch {
            tracker.finish(file: index, bytes: nil)
            return (item.entry.relativePath, .failure(error))
        }
    }

    /// `mkdir -p` on the server; returns how many directories it created.
    func makeRemoteDirectories(_ path: String) async throws -> Int {
        if path.isEmpty || path == "." || path == "/" { return 0 }
        do {
            let attributes = try await self.stat(path)
            if let mode = attributes.permissions, FileKind(mode: mode) != .directory {
                throw FileTransferError.notADirectory(path: path)
            }
            return 0
        } catch where RemoteFailure.isNoSuchFile(error) {
            var created = 0
            if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                created += try await self.makeRemoteDirectories(String(path[..<slash]))
            }
            if try await self.makeRemoteDirectory(path) { created += 1 }
            return created
        }
    }

    /// Creates a remote directory; one that exists already is fine. Returns whether it was created.
    func makeRemoteDirectory(_ path: String) async throws -> Bool {
        do {
            try await self.makeDirectory(path, permissions: nil)
            return true
        } catch where RemoteFailure.isRefusal(error) {
            // Servers answer FAILURE for an existing name: fine when it is a directory.
            guard let attributes = try? await self.stat(path), let mode = attributes.permissions,
                FileKind(mode: mode) == .directory
            else { throw error }
            return false
        }
    }
}

/// A file of a tree transfer with its place in the list, for progress.
struct IndexedEntry: Sendable {
    var index: Int
    var entry: TreeEntry
}

/// Sums the progress of files transferred in parallel into one figure for the tree.
final class TreeProgressTracker: Sendable {
    private struct State {
        var perFile: [Int: UInt64] = [:]
        var bytesDone: UInt64 = 0
        var bytesTotal: UInt64
        var filesDone = 0
    }

    private let state: Mutex<State>
    private let filesTotal: Int
    private let report: TreeTransferOptions.Progress?

    init(bytesTotal: UInt64, filesTotal: Int, report: TreeTransferOptions.Progress?) {
        self.state = Mutex(State(bytesTotal: bytesTotal))
        self.filesTotal = filesTotal
        self.report = report
    }

    // The callback is called under the lock so that figures never go backwards; it must be quick.

    func update(file: Int, bytes: UInt64) {
        guard let report = self.report else { return }
        self.state.withLock { state in report(self.record(&state, file: file, bytes: bytes)) }
    }

    /// A file is done (`bytes` nil when it failed: what it got so far stays counted).
    func finish(file: Int, bytes: UInt64?) {
        guard let report = self.report else { return }
        self.state.withLock { state in
            state.filesDone += 1
            report(self.record(&state, file: file, bytes: bytes ?? state.perFile[file] ?? 0))
        }
    }

    private func record(_ state: inout State, file: Int, bytes: UInt64) -> TreeTransferProgress {
        let before = state.perFile[file] ?? 0
        state.perFile[file] = bytes
        state.bytesDone = state.bytesDone - min(before, state.bytesDone) + bytes
        state.bytesTotal = max(state.bytesTotal, state.bytesDone)
        return TreeTransferProgress(
            bytesDone: state.bytesDone, bytesTotal: state.bytesTotal, filesDone: state.filesDone, filesTotal: self.filesTotal)
    }
}
