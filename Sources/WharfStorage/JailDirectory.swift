#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSystemShims
import Synchronization
import WharfCore

/// A jailed storage's root held open (O_PATH), so that files below it can be opened and looked at
/// without a trip to the thread pool (`NonBlockingFileAccess`), and what file system it lies on.
///
/// Opened by the first open or status that goes to the pool, not when the session starts: an idle
/// session holds no descriptor for it. Closed when the last copy of the storage goes.
final class JailDirectory: Sendable {
    private enum State {
        case unopened
        case open(descriptor: CInt, device: UInt64, inode: UInt64, fileSystem: NonBlockingFileAccess.FileSystem)
        /// Not a local file system, or it could not be opened: every call goes to the pool.
        case unusable
    }

    private let root: String
    private let state = Mutex(State.unopened)

    init(root: String) {
        self.root = root
    }

    /// The descriptor and file system, once opened, when opens below it may be tried inline.
    var descriptor: (descriptor: CInt, fileSystem: NonBlockingFileAccess.FileSystem)? {
        self.state.withLock { state in
            if case .open(let descriptor, _, _, let fileSystem) = state { return (descriptor, fileSystem) }
            return nil
        }
    }

    /// A client's path as a path relative to the root, for the *at system calls ("." for the root).
    static func relativePath(_ path: String) -> String {
        let virtual = VirtualPath(path)
        return virtual.isRoot ? "." : virtual.components.joined(separator: "/")
    }

    /// Opens the root if no one has yet. Blocking: call it on the pool.
    func openIfNeeded() {
        let unopened = self.state.withLock { state in
            if case .unopened = state { return true }
            return false
        }
        guard unopened else { return }
        var opened = State.unusable
        let descriptor = wharf_open_directory_handle(self.root)
        if descriptor >= 0 {
            var info = stat()
            let fileSystem = NonBlockingFileAccess.FileSystem(descriptor: descriptor)
            if fileSystem != NonBlockingFileAccess.FileSystem.other, fstat(descriptor, &info) == 0 {
                opened = .open(
                    descriptor: descriptor, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), fileSystem: fileSystem)
            } else {
                _ = close(descriptor)
            }
        }
        let lost = self.state.withLock { state -> CInt? in
            guard case .unopened = state else {
                // Another open got there first: keep its descriptor.
                if case .open(let descriptor, _, _, _) = opened { return descriptor }
                return nil
            }
            state = opened
            return nil
        }
        if let lost { _ = close(lost) }
    }

    /// The file system a file opened the ordinary way lies on, as far as inline calls go: the
    /// root's when the file is on the root's device (`device` from its fstat), else `.other`.
    func fileSystem(ofFileOnDevice device: UInt64) -> NonBlockingFileAccess.FileSystem {
        self.state.withLock { state in
            if case .open(_, let rootDevice, _, let fileSystem) = state, rootDevice == device { return fileSystem }
            return .other
        }
    }

    /// Whether the root path still names the directory held open (true while none is open): a
    /// home removed and made again leaves an opened jail on the old, deleted directory. Blocking
    /// (stat): call it on the pool.
    func stillNamesOpenedDirectory() -> Bool {
        guard let opened = self.descriptor else { return true }
        var heldInfo = stat()
        var namedInfo = stat()
        guard fstat(opened.descriptor, &heldInfo) == 0, stat(self.root, &namedInfo) == 0 else { return false }
        return heldInfo.st_dev == namedInfo.st_dev && heldInfo.st_ino == namedInfo.st_ino
    }

    /// `stillNamesOpenedDirectory` for a root path whose directory is known (device and inode,
    /// looked up without blocking): no system call.
    func stillNamesOpenedDirectory(device: UInt64, inode: UInt64) -> Bool {
        self.state.withLock { state in
            if case .open(_, let heldDevice, let heldInode, _) = state { return heldDevice == device && heldInode == inode }
            return true
        }
    }

    deinit {
        if case .open(let descriptor, _, _, _) = self.state.withLock({ $0 }) {
            _ = close(descriptor)
        }
    }
}
