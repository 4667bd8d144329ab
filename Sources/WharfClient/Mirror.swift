import SFTPProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One side of a mirror.
public enum MirrorLocation: Sendable, Hashable, CustomStringConvertible {
    case local(String)
    case remote(String)

    public var path: String {
        switch self {
        case .local(let path), .remote(let path): return path
        }
    }

    public var description: String {
        switch self {
        case .local(let path): return path
        case .remote(let path): return "remote:" + path
        }
    }
}

/// How `mirror` synchronizes.
public struct MirrorOptions: Sendable {
    /// Remove what the destination has and the source has not (files, then directories deepest first).
    public var delete: Bool
    /// Only plan: `mirror` returns the plan and changes nothing.
    public var dryRun: Bool
    /// Compare files of equal size by content (check-file on the server where offered, else
    /// reading the remote file back) instead of by modification time.
    public var checksum: Bool
    /// Files copied (or deleted) at once over the one connection.
    public var parallel: Int
    /// How each file is copied. `resume` is ignored: a file that differs is copied whole.
    public var transfer: TransferOptions
    /// Progress of the copies, for the whole tree.
    public var progress: TreeTransferOptions.Progress?

    public init(
        delete: Bool = false, dryRun: Bool = false, checksum: Bool = false, parallel: Int = 4,
        transfer: TransferOptions = TransferOptions(), progress: TreeTransferOptions.Progress? = nil
    ) {
        self.delete = delete
        self.dryRun = dryRun
        self.checksum = checksum
        self.parallel = parallel
        self.transfer = transfer
        self.progress = progress
    }
}

/// One step of a mirror, by path relative to the roots ("" is the destination root itself).
public enum MirrorAction: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        case new = "new"
        case sizeDiffers = "size differs"
        case modificationTimeDiffers = "mtime differs"
        case contentDiffers = "content differs"
        /// The destination had something else than a file there (removed first; needs `delete`).
        case kindDiffers = "type differs"
    }

    case makeDirectory(path: String)
    case copy(path: String, reason: Reason, size: UInt64)
    case delete(path: String)
    case removeDirectory(path: String)

    public var path: String {
        switch self {
        case .makeDirectory(let path), .copy(let path, _, _), .delete(let path), .removeDirectory(let path): return path
        }
    }

    public var description: String {
        let shown = self.path.isEmpty ? "." : self.path
        switch self {
        case .makeDirectory: return "mkdir \(shown)"
        case .copy(_, let reason, _): return "copy \(shown) (\(reason.rawValue))"
        case .delete: return "delete \(shown)"
        case .removeDirectory: return "rmdir \(shown)"
        }
    }
}

/// What a mirror will do, in the order it does it: deletions (files, then directories deepest
/// first), directories to create (parents first), then copies.
public struct MirrorPlan: Sendable, CustomStringConvertible {
    public var source: MirrorLocation
    public var destination: MirrorLocation
    public var actions: [MirrorAction]
    /// Source entries left alone: symbolic links (not followed, not recreated) and special files.
    public var skipped: [String]
    /// What could not be planned: unreadable directories, and entries of a different kind on the
    /// two sides when not deleting.
    public var failures: [TransferFailure]

    /// Nothing to do.
    public var isEmpty: Bool { self.actions.isEmpty }

    public var bytesToCopy: UInt64 {
        self.actions.reduce(0) { total, action in
            if case .copy(_, _, let size) = action { return total + size }
            return total
        }
    }

    /// One line per action.
    public var description: String { self.actions.map(\.description).joined(separator: "\n") }
}

/// What `mirror` did.
public struct MirrorReport: Sendable, CustomStringConvertible {
    public var plan: MirrorPlan
    /// False for a dry run: nothing was changed.
    public var executed: Bool
    public var filesCopied = 0
    public var bytesTransferred: UInt64 = 0
    public var directoriesCreated = 0
    public var filesDeleted = 0
    public var directoriesRemoved = 0
    /// The plan's failures and those of the actions that failed; the others were carried out.
    public var failures: [TransferFailure] = []

    public var succeeded: Bool { self.failures.isEmpty }

    public var description: String {
        guard self.executed else { return "dry run: \(self.plan.actions.count) actions planned" }
        var text = "\(self.filesCopied) files copied (\(self.bytesTransferred) bytes), \(self.directoriesCreated) directories created"
        if self.filesDeleted + self.directoriesRemoved > 0 {
            text += ", \(self.filesDeleted) files and \(self.directoriesRemoved) directories deleted"
        }
        if !self.failures.isEmpty { text += ", \(self.failures.count) failed" }
        return text
    }
}

extension RemoteFileSystem {
    /// One-way synchronization of a directory tree, upload (`.local` to `.remote`) or download
    /// (`.remote` to `.local`): plans (see `planMirror`), then, unless `dryRun`, carries the plan
    /// out, `parallel` files at once. Copies go through `uploadFile`/`downloadFile`, which give the
    /// destination the source's modification time, so a second run finds nothing to do.
    /// A failed action is reported and the rest goes on.
    public func mirror(
        from source: MirrorLocation, to destination: MirrorLocation, options: MirrorOptions = MirrorOptions()
    ) async throws -> MirrorReport {
        let plan = try await self.planMirror(from: source, to: destination, options: options)
        var report = MirrorReport(plan: plan, executed: !options.dryRun)
        report.failures = plan.failures
        guard !options.dryRun else { return report }

        let destinationIsLocal: Bool
        if case .local = destination { destinationIsLocal = true } else { destinationIsLocal = false }
        let destinationRoot = destination.path

        // Deletions: files (in parallel), then directories deepest first.
        let deletions = plan.actions.compactMap { action -> String? in
            if case .delete(let path) = action { return path }
            return nil
        }
        let deleted = await boundedConcurrentMap(deletions, limit: options.parallel) { path -> TransferFailure? in
            do {
                let full = TreePath.join(destinationRoot, path)
                if destinationIsLocal {
                    try await LocalFileSystem.removeFile(full)
                } else {
                    try await self.removeFile(full)
                }
                return nil
            } catch {
                return TransferFailure(path: path, error: error)
            }
        }
        let deleteFailures = deleted.compactMap { $0 }.sorted { $0.path < $1.path }
        report.filesDeleted = deletions.count - deleteFailures.count
        report.failures += deleteFailures

        for action in plan.actions {
            try Task.checkCancellation()
            let full = TreePath.join(destinationRoot, action.path)
            do {
                switch action {
                case .removeDirectory:
                    if destinationIsLocal {
                        try await LocalFileSystem.removeDirectory(full)
                    } else {
                        try await self.removeDirectory(full)
                    }
                    report.directoriesRemoved += 1
                case .makeDirectory(let path):
                    if destinationIsLocal {
                        if path.isEmpty {
                            try await LocalFileSystem.makeDirectories(full)
                        } else {
                            try await LocalFileSystem.makeDirectory(full)
                        }
                    } else if path.isEmpty {
                        _ = try await self.makeRemoteDirectories(full)
                    } else {
                        _ = try await self.makeRemoteDirectory(full)
                    }
                    report.directoriesCreated += 1
                case .copy, .delete:
                    continue
                }
            } catch {
                report.failures.append(TransferFailure(path: action.path, error: error))
            }
        }

        let copies = plan.actions.compactMap { action -> TreeEntry? in
            guard case .copy(let path, _, let size) = action else { return nil }
            return TreeEntry(relativePath: path, kind: .file, size: size)
        }
        var fileOptions = options.transfer
        fileOptions.resume = false
        let treeOptions = TreeTransferOptions(file: fileOptions, parallel: options.parallel, progress: options.progress)
        var copied = TreeTransferReport()
        let sourceRoot = source.path
        if destinationIsLocal {
            await self.transferFiles(copies, options: treeOptions, into: &copied) { entry, fileOptions in
                try await self.downloadFile(
                    remotePath: TreePath.join(sourceRoot, entry.relativePath),
                    localPath: TreePath.join(destinationRoot, entry.relativePath), options: fileOptions)
            }
        } else {
            await self.transferFiles(copies, options: treeOptions, into: &copied) { entry, fileOptions in
                try await self.uploadFile(
                    localPath: TreePath.join(sourceRoot, entry.relativePath),
                    remotePath: TreePath.join(destinationRoot, entry.relativePath), options: fileOptions)
            }
        }
        try Task.checkCancellation()
        report.filesCopied = copied.filesTransferred
        report.bytesTransferred = copied.bytesTransferred
        report.failures += copied.failures
        return report
    }

    /// The plan of a mirror, without changing anything: a file is copied when the destination
    /// lacks it or its size or modification time differ (or, with `checksum`, its size or content);
    /// missing directories are created; with `delete`, what only the destination has is removed.
    /// Symbolic links are neither followed nor copied. Temporary `.wharf-part` files in the
    /// destination are ignored.
    public func planMirror(
        from source: MirrorLocation, to destination: MirrorLocation, options: MirrorOptions = MirrorOptions()
    ) async throws -> MirrorPlan {
        let destinationIsLocal: Bool
        switch (source, destination) {
        case (.local, .remote): destinationIsLocal = false
        case (.remote, .local): destinationIsLocal = true
        default: throw FileTransferError.unsupportedDirection
        }
        let sourceListing = try await self.walkTree(source, parallel: max(options.parallel, 4))
        guard let sourceListing else {
            throw destinationIsLocal
                ? SFTPClientError.status(code: .noSuchFile, message: "No such file or directory", path: source.path)
                : LocalFileError(path: source.path, operation: "stat", errno: ENOENT)
        }
        var actions: [MirrorAction] = []
        var failures = sourceListing.failures
        let destinationListing = try await self.walkTree(destination, parallel: max(options.parallel, 4))
        if destinationListing == nil { actions.append(.makeDirectory(path: "")) }
        failures += destinationListing?.failures ?? []

        let sourceEntries = Dictionary(sourceListing.entries.map { ($0.relativePath, $0) }, uniquingKeysWith: { first, _ in first })
        var destinationEntries = Dictionary(
            (destinationListing?.entries ?? []).map { ($0.relativePath, $0) }, uniquingKeysWith: { first, _ in first })
        // Our own temporary files from an interrupted transfer are not the destination's content.
        destinationEntries = destinationEntries.filter { path, entry in
            !(entry.kind == .file && path.hasSuffix(Self.partialDownloadSuffix) && sourceEntries[path] == nil)
        }
        // Times from a listing of minutes (FTP LIST) match a time of seconds within that minute.
        let timeTolerance = self.listingTimeResolution

        var deletions: [TreeEntry] = []
        var directories: [String] = []
        var copies: [MirrorAction] = []
        var compareByContent: [TreeEntry] = []
        var skipped: [String] = []
        var blocked: [String] = []  // source directories whose destination is something else, left alone
        for entry in sourceListing.entries {
            let path = entry.relativePath
            if blocked.contains(where: { path.hasPrefix($0 + "/") }) { continue }
            let existing = destinationEntries[path]
            switch entry.kind {
            case .symbolicLink, .other:
                skipped.append(path)
            case .directory:
                guard let existing else {
                    directories.append(path)
                    continue
                }
                guard existing.kind != .directory else { continue }
                if options.delete {
                    deletions.append(existing)
                    directories.append(path)
                } else {
                    failures.append(
                        TransferFailure(
                            path: path, error: FileTransferError.kindConflict(path: path, source: .directory, destination: existing.kind)))
                    blocked.append(path)
                }
            case .file:
                let size = entry.size ?? 0
                guard let existing else {
                    copies.append(.copy(path: path, reason: .new, size: size))
                    continue
                }
                guard existing.kind == .file else {
                    if options.delete {
                        deletions.append(existing)
                        copies.append(.copy(path: path, reason: .kindDiffers, size: size))
                    } else {
                        failures.append(
                            TransferFailure(
                                path: path, error: FileTransferError.kindConflict(path: path, source: .file, destination: existing.kind)))
                    }
                    continue
                }
                if let sourceSize = entry.size, let destinationSize = existing.size, sourceSize != destinationSize {
                    copies.append(.copy(path: path, reason: .sizeDiffers, size: size))
                } else if options.checksum {
                    compareByContent.append(entry)
                } else if let sourceTime = entry.modificationTime, let destinationTime = existing.modificationTime,
                    max(sourceTime, destinationTime) - min(sourceTime, destinationTime) >= timeTolerance
                {
                    copies.append(.copy(path: path, reason: .modificationTimeDiffers, size: size))
                }
            }
        }

        if !compareByContent.isEmpty {
            let requestsInFlight = options.transfer.requestsInFlight
            let sourceRoot = source.path
            let destinationRoot = destination.path
            let outcomes = await boundedConcurrentMap(compareByContent, limit: options.parallel) {
                entry -> (TreeEntry, Result<Bool, any Error>) in
                let (localRoot, remoteRoot) = destinationIsLocal ? (destinationRoot, sourceRoot) : (sourceRoot, destinationRoot)
                do {
                    let same = try await self.contentsMatch(
                        localPath: TreePath.join(localRoot, entry.relativePath),
                        remotePath: TreePath.join(remoteRoot, entry.relativePath), requestsInFlight: requestsInFlight)
                    return (entry, .success(same))
                } catch {
                    return (entry, .failure(error))
                }
            }
            try Task.checkCancellation()
            for (entry, outcome) in outcomes {
                switch outcome {
                case .success(true): continue
                case .success(false): copies.append(.copy(path: entry.relativePath, reason: .contentDiffers, size: entry.size ?? 0))
                case .failure(let error): failures.append(TransferFailure(path: entry.relativePath, error: error))
                }
            }
            copies.sort { $0.path < $1.path }
        }

        if options.delete {
            for (path, entry) in destinationEntries where sourceEntries[path] == nil {
                deletions.append(entry)
            }
        }
        let fileDeletions = deletions.filter { $0.kind != .directory }.map(\.relativePath).sorted()
        let directoryDeletions = deletions.filter { $0.kind == .directory }.sorted {
            $0.depth != $1.depth ? $0.depth > $1.depth : $0.relativePath < $1.relativePath
        }
        actions += fileDeletions.map { MirrorAction.delete(path: $0) }
        actions += directoryDeletions.map { MirrorAction.removeDirectory(path: $0.relativePath) }
        actions += directories.map { MirrorAction.makeDirectory(path: $0) }
        actions += copies
        return MirrorPlan(
            source: source, destination: destination, actions: actions, skipped: skipped,
            failures: failures.sorted { $0.path < $1.path })
    }

    /// The tree at `location`, or nil when nothing is there. Throws when it is not a directory.
    private func walkTree(_ location: MirrorLocation, parallel: Int) async throws -> TreeListing? {
        switch location {
        case .local(let path):
            guard let status = try await LocalFileSystem.status(path) else { return nil }
            guard status.kind == .directory else { throw FileTransferError.notADirectory(path: path) }
            return try await LocalTreeWalker.walk(path)
        case .remote(let path):
            do {
                let attributes = try await self.stat(path)
                if let mode = attributes.permissions, FileKind(mode: mode) != .directory {
                    throw FileTransferError.notADirectory(path: path)
                }
            } catch where RemoteFailure.isNoSuchFile(error) {
                return nil
            }
            return try await self.walkRemoteTree(path, parallel: parallel)
        }
    }
}
