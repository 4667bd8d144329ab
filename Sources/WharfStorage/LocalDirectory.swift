#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix
import Synchronization
import WharfCore

/// An open directory stream. READDIR requests on one handle are answered in order by the session,
/// but the stream is still guarded, because closing may race a late read when a client misbehaves.
final class LocalDirectory: StorageDirectory {
    let path: String
    private let stream: Mutex<StreamPointer?>
    private let pool: NIOThreadPool
    private let names: AccountNameCache

    init(path: String, stream: StreamPointer, pool: NIOThreadPool, names: AccountNameCache) {
        self.path = path
        self.stream = Mutex(stream)
        self.pool = pool
        self.names = names
    }

    func nextEntries(maximumCount: Int) async throws(StorageError) -> [DirectoryEntry] {
        try await Blocking.run(on: self.pool) { () throws(StorageError) in
            try self.stream.withLock { stream throws(StorageError) -> [DirectoryEntry] in
                guard let directory = stream?.pointer else { throw StorageError(.invalidHandle, "Directory is closed") }
                let descriptor = dirfd(directory)
                var entries: [DirectoryEntry] = []
                while entries.count < maximumCount {
                    errno = 0
                    guard let entry = readdir(directory) else {
                        if errno != 0 { throw POSIX.fail() }
                        break
                    }
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    var info = stat()
                    // An entry removed since readdir saw it is skipped, as ls does.
                    guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                    var attributes = POSIX.attributes(info)
                    attributes.userName = self.names.userName(attributes.userID)
                    attributes.groupName = self.names.groupName(attributes.groupID)
                    entries.append(DirectoryEntry(name: name, attributes: attributes))
                }
                return entries
            }
        }
    }

    func close() async {
        let pool = self.pool
        let stream = self.stream.withLock { stream -> StreamPointer? in
            defer { stream = nil }
            return stream
        }
        guard let handle = stream else { return }
        _ = try? await Blocking.run(on: pool) { () throws(StorageError) in
            _ = closedir(handle.pointer)
        }
    }

    deinit {
        if let stream = self.stream.withLock({ $0 }) { _ = closedir(stream.pointer) }
    }
}

/// A DIR* handed to the thread pool for closing; only one thread touches it at a time.
struct StreamPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
