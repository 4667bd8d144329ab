import SFTPProtocol

/// One entry of a directory tree, local or remote, by its path relative to the tree's root.
public struct TreeEntry: Sendable, Hashable {
    /// "/"-separated, relative to the root, never empty.
    public var relativePath: String
    public var kind: FileKind
    public var size: UInt64?
    /// Seconds since the epoch.
    public var modificationTime: UInt32?
    /// The full mode, type bits included.
    public var permissions: UInt32?

    /// The number of components, for ordering parents before children (or after).
    var depth: Int { self.relativePath.reduce(1) { $1 == "/" ? $0 + 1 : $0 } }
}

/// A walked tree: every entry (symbolic links not followed), sorted by path so that a directory
/// comes before what it holds, and the subdirectories that could not be listed.
struct TreeListing: Sendable {
    var entries: [TreeEntry]
    var failures: [TransferFailure]
}

enum TreePath {
    /// `relative` under `root` ("" meaning the root itself).
    static func join(_ root: String, _ relative: String) -> String {
        if relative.isEmpty { return root }
        if root.isEmpty || root == "." { return relative }
        return root.hasSuffix("/") ? root + relative : root + "/" + relative
    }

    /// Whether a name from a listing can be used as one path component on either side.
    static func isUsableName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }
}

extension RemoteFileSystem {
    /// Walks a remote tree with `listDirectory`, up to `parallel` directories listed at once.
    /// The root must be listable (else this throws); a subdirectory that is not is reported in
    /// `failures` and the rest is walked. Names the server should not send ("..", with a "/") are
    /// reported as failures and left out.
    func walkRemoteTree(_ root: String, parallel: Int = 8) async throws -> TreeListing {
        var entries: [TreeEntry] = []
        var failures: [TransferFailure] = []
        // The children's result is a nominal type, not a tuple: a release build of this group with
        // `(String, Result<([TreeEntry], [TransferFailure]), any Error>)` crashed in the runtime
        // (Swift 6.3: a corrupt result copied in TaskGroup's offer; `get -r` of 1,000 files in 10
        // directories, every time), while the debug build ran.
        try await withThrowingTaskGroup(of: RemoteDirectoryListing.self) { group in
            var queue = [""]
            var running = 0
            while true {
                while running < max(1, parallel), let directory = queue.popLast() {
                    group.addTask {
                        do {
                            return RemoteDirectoryListing(
                                directory: directory,
                                outcome: .success(try await self.listRemoteEntries(root: root, directory: directory)))
                        } catch {
                            return RemoteDirectoryListing(directory: directory, outcome: .failure(error))
                        }
                    }
                    running += 1
                }
                guard let listing = try await group.next() else { break }
                running -= 1
                switch listing.outcome {
                case .success(let listed):
                    entries += listed.entries
                    failures += listed.failures
                    queue += listed.entries.filter { $0.kind == .directory }.map(\.relativePath)
                case .failure(let error):
                    if listing.directory.isEmpty { throw error }
                    failures.append(TransferFailure(path: listing.directory, error: error))
                }
            }
        }
        entries.sort { $0.relativePath < $1.relativePath }
        return TreeListing(entries: entries, failures: failures)
    }

    private func listRemoteEntries(root: String, directory: String) async throws -> TreeListing {
        let path = TreePath.join(root, directory)
        var entries: [TreeEntry] = []
        var failures: [TransferFailure] = []
        for name in try await self.listDirectory(path.isEmpty ? "." : path, includingDotEntries: false) {
            guard TreePath.isUsableName(name.filename) else {
                if name.filename != "." && name.filename != ".." {
                    failures.append(
                        TransferFailure(path: directory, error: FileTransferError.unsafeName(directory: path, name: name.filename)))
                }
                continue
            }
            let relative = directory.isEmpty ? name.filename : directory + "/" + name.filename
            var attributes = name.attributes
            if attributes.permissions == nil {
                // A server that lists no modes: ask for this one.
                attributes = try await self.lstat(TreePath.join(root, relative))
            }
            let kind = attributes.permissions.map { FileKind(mode: $0) } ?? .other
            entries.append(
                TreeEntry(
                    relativePath: relative, kind: kind, size: attributes.size,
                    modificationTime: attributes.accessModificationTime?.mtime, permissions: attributes.permissions))
        }
        return TreeListing(entries: entries, failures: failures)
    }
}

/// One directory's listing in `walkRemoteTree`: its usable entries and unusable names, or why it
/// could not be listed.
struct RemoteDirectoryListing: Sendable {
    var directory: String
    var outcome: Result<TreeListing, any Error>
}

enum LocalTreeWalker {
    /// Walks a local tree (each listing on the thread pool). The root must be listable; a
    /// subdirectory that is not is reported in `failures`.
    static func walk(_ root: String) async throws -> TreeListing {
        var entries: [TreeEntry] = []
        var failures: [TransferFailure] = []
        var queue = [""]
        while let directory = queue.popLast() {
            let listed: [LocalFileSystem.Entry]
            do {
                listed = try await LocalFileSystem.list(TreePath.join(root, directory))
            } catch {
                if directory.isEmpty { throw error }
                failures.append(TransferFailure(path: directory, error: error))
                continue
            }
            for entry in listed {
                let relative = directory.isEmpty ? entry.name : directory + "/" + entry.name
                entries.append(
                    TreeEntry(
                        relativePath: relative, kind: entry.status.kind, size: entry.status.size,
                        modificationTime: UInt32(clamping: entry.status.modificationTime), permissions: entry.status.mode))
                if entry.status.kind == .directory { queue.append(relative) }
            }
        }
        entries.sort { $0.relativePath < $1.relativePath }
        return TreeListing(entries: entries, failures: failures)
    }
}

/// Runs `body` over `items`, at most `limit` at once, and returns the results in completion order.
/// Stops starting new ones when the task is cancelled.
func boundedConcurrentMap<Item: Sendable, Output: Sendable>(
    _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async -> Output
) async -> [Output] {
    await withTaskGroup(of: Output.self) { group in
        var results: [Output] = []
        results.reserveCapacity(items.count)
        var iterator = items.makeIterator()
        for _ in 0..<max(1, limit) {
            guard let item = iterator.next() else { break }
            group.addTask { await body(item) }
        }
        while let result = await group.next() {
            results.append(result)
            if !Task.isCancelled, let item = iterator.next() {
                group.addTask { await body(item) }
            }
        }
        return results
    }
}
