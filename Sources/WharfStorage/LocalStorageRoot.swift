import NIOPosix

/// What a `LocalStorage` is made of: where it is confined, its pool, and the caches it fills as
/// it goes (account names, the jail's open root). Immutable apart from those caches, which are
/// safe to share, so every session of the same home and mode may use the same one.
final class LocalStorageRoot: Sendable {
    let resolver: PathResolver
    let pool: NIOThreadPool
    let names = AccountNameCache()
    let jail: JailDirectory?
    let startDirectory: String
    let homeDirectory: String
    let isReadOnly: Bool

    /// Jailed in `canonicalRoot`, which must already be a real path (no symlink, no "..").
    init(jailedAt canonicalRoot: String, pool: NIOThreadPool, readOnly: Bool) {
        self.resolver = PathResolver(confinement: .jailed(root: canonicalRoot))
        self.jail = JailDirectory(root: canonicalRoot)
        self.pool = pool
        self.startDirectory = "/"
        self.homeDirectory = "/"
        self.isReadOnly = readOnly
    }

    init(unrestrictedStartingAt directory: String, home: String, pool: NIOThreadPool, readOnly: Bool) {
        self.resolver = PathResolver(confinement: .unrestricted(startDirectory: directory))
        self.jail = nil
        self.pool = pool
        self.startDirectory = directory
        self.homeDirectory = home
        self.isReadOnly = readOnly
    }
}
