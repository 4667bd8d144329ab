import NIOPosix
import Synchronization
import WharfCore

/// Gives the sessions of the same home, in the same mode, one `LocalStorageRoot` while any of
/// them is open: 300 sessions of one account then hold one jail, one account-name cache and one
/// canonical path between them instead of one each (about 270 bytes a session, with the box an
/// `any Storage` of the old, larger value needed).
///
/// Entries are weak: a root lives as long as a session's storage uses it, so nothing is kept for
/// homes nobody is logged in to, and a user's next login after a quiet spell starts afresh. A
/// cached root is not handed out when its home path now names another directory than the one
/// its jail holds open (the home removed and made again while a session was on it).
public final class LocalStorageCache: Sendable {
    private struct Key: Hashable {
        let canonicalRoot: String
        let readOnly: Bool
    }

    private struct WeakRoot: Sendable {
        weak var root: LocalStorageRoot?
    }

    private struct State {
        var entries: [Key: WeakRoot] = [:]
        /// Dead entries are dropped when the table reaches this size, which then doubles what is
        /// left: amortised constant work per login.
        var pruneAt = 64
    }

    private let pool: NIOThreadPool
    private let state = Mutex(State())

    public init(pool: NIOThreadPool) {
        self.pool = pool
    }

    /// A storage jailed in `root`, sharing its root with the open sessions of the same home.
    /// Blocking (realpath, stat): call it on the pool.
    public func storage(jailedAt root: String, readOnly: Bool) throws(StorageError) -> LocalStorage {
        let key = Key(canonicalRoot: try POSIX.realPath(root), readOnly: readOnly)
        return self.storage(for: key) { shared in shared.jail?.stillNamesOpenedDirectory() ?? true }
    }

    /// `storage(jailedAt:readOnly:)` where it can be had without blocking: when `root` is an
    /// existing directory whose lookup the kernel has cached (see `NonBlockingFileAccess`), as it
    /// has for a home someone logged in to a moment ago. Nil otherwise: then call the blocking one
    /// on the pool, which also makes the home if it is missing and gives the error.
    public func storageWithoutBlocking(jailedAt root: String, readOnly: Bool) -> LocalStorage? {
        guard let directory = NonBlockingFileAccess.cachedDirectory(atAbsolutePath: root) else { return nil }
        let key = Key(canonicalRoot: directory.canonicalPath, readOnly: readOnly)
        return self.storage(for: key) { shared in
            shared.jail?.stillNamesOpenedDirectory(device: directory.device, inode: directory.inode) ?? true
        }
    }

    private func storage(for key: Key, isCurrent: (LocalStorageRoot) -> Bool) -> LocalStorage {
        if let shared = self.state.withLock({ $0.entries[key]?.root }), isCurrent(shared) {
            return LocalStorage(sharing: shared)
        }
        let fresh = LocalStorageRoot(jailedAt: key.canonicalRoot, pool: self.pool, readOnly: key.readOnly)
        self.state.withLock { state in
            state.entries[key] = WeakRoot(root: fresh)
            if state.entries.count >= state.pruneAt {
                state.entries = state.entries.filter { $0.value.root != nil }
                state.pruneAt = max(64, state.entries.count * 2)
            }
        }
        return LocalStorage(sharing: fresh)
    }

    /// How many homes have a root in use (for tests).
    var sharedRootCount: Int {
        self.state.withLock { state in state.entries.values.count { $0.root != nil } }
    }
}
