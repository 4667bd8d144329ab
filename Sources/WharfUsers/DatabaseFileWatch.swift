import CSystemShims
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells whether the user database may have changed since a moment, without reading it: an
/// inotify watch on the database file and on its directory (for the journal, the WAL and a file
/// renamed over it). `UserRecordCache` keeps what it read only while the generation it read under
/// is still the current one.
///
/// Exact, not eventual: the kernel queues an event inside the writer's own write, rename or
/// unlink, so once `wharf user passwd` has returned, the next `generation()` call takes that
/// event in (it reads the queue, non-blocking, under the lock) and the generation has moved on.
///
/// No watch (not Linux, inotify limits reached, a network or FUSE file system whose changes from
/// other machines inotify does not see) means no cache: `make` returns nil. A watch that stops
/// being trustworthy (queue overflow, the directory or file moved away, an unmount) turns the
/// cache off for good: `generation()` returns nil from then on.
final class DatabaseFileWatch: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var alive = true
    }

    private let descriptor: Int32
    private let directoryWatch: Int32
    private let fileWatch: Int32
    /// Entries of the directory that are the database or SQLite's files beside it.
    private let namePrefix: [UInt8]
    private let state = Mutex(State())

    #if os(Linux)
    private static let directoryEvents = UInt32(
        IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO
            | IN_DELETE_SELF | IN_MOVE_SELF)
    private static let fileEvents = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)
    /// After these the watch no longer sees every change.
    private static let untrustworthy = UInt32(IN_Q_OVERFLOW | IN_IGNORED | IN_UNMOUNT)
    private static let movedAway = UInt32(IN_DELETE_SELF | IN_MOVE_SELF)

    /// File systems whose files other machines change without inotify hearing of it (statfs
    /// magics): NFS, SMB, CIFS, SMB2, FUSE, 9p, Ceph, AFS, Coda.
    private static let remoteFileSystems: Set<Int> = [
        0x6969, 0x517B, 0xFF53_4D42, 0xFE53_4D42, 0x6573_5546, 0x0102_1997, 0x00C3_6400, 0x5346_414F, 0x7375_7245,
    ]
    #endif

    /// A watch on `databasePath` (whose file exists) and its directory; nil where there cannot be one.
    static func make(databasePath: String, directory: String, fileName: String) -> DatabaseFileWatch? {
        #if os(Linux)
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { return nil }
        let type = wharf_file_system_type(directoryDescriptor)
        close(directoryDescriptor)
        guard type != -1, !Self.remoteFileSystems.contains(Int(type)) else { return nil }
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        let directoryWatch = inotify_add_watch(descriptor, directory, Self.directoryEvents)
        let fileWatch = inotify_add_watch(descriptor, databasePath, Self.fileEvents)
        guard directoryWatch >= 0, fileWatch >= 0 else {
            close(descriptor)
            return nil
        }
        return DatabaseFileWatch(
            descriptor: descriptor, directoryWatch: directoryWatch, fileWatch: fileWatch, namePrefix: Array(fileName.utf8))
        #else
        return nil
        #endif
    }

    private init(descriptor: Int32, directoryWatch: Int32, fileWatch: Int32, namePrefix: [UInt8]) {
        self.descriptor = descriptor
        self.directoryWatch = directoryWatch
        self.fileWatch = fileWatch
        self.namePrefix = namePrefix
    }

    deinit {
        close(self.descriptor)
    }

    /// The current generation, once every event already queued is taken in; nil once the watch
    /// cannot be trusted. A read of the database made after this call and stored under its result
    /// is current for as long as later calls return the same number.
    func generation() -> UInt64? {
        self.state.withLock { state -> UInt64? in
            guard state.alive else { return nil }
            #if os(Linux)
            var changed = false
            // Every login comes here, and the queue is almost always empty: a stack buffer, not a
            // heap array per call.
            withUnsafeTemporaryAllocation(byteCount: 4096, alignment: MemoryLayout<inotify_event>.alignment) { buffer in
                while state.alive {
                    let count = read(self.descriptor, buffer.baseAddress, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    // EAGAIN: the queue is empty. Any other failure: the watch cannot be relied on.
                    guard count > 0 else {
                        if count == 0 || errno != EAGAIN { state.alive = false }
                        break
                    }
                    self.takeIn(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), changed: &changed, alive: &state.alive)
                }
            }
            if changed { state.generation &+= 1 }
            return state.alive ? state.generation : nil
            #else
            return nil
            #endif
        }
    }

    #if os(Linux)
    /// Walks the `inotify_event` records of one read.
    private func takeIn(_ events: UnsafeRawBufferPointer, changed: inout Bool, alive: inout Bool) {
        let header = MemoryLayout<inotify_event>.size
        var offset = 0
        while offset + header <= events.count {
            let watch = events.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = events.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let nameLength = Int(events.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let name = UnsafeRawBufferPointer(
                rebasing: events[(offset + header)..<min(events.count, offset + header + nameLength)])
            offset += header + nameLength
            if mask & Self.untrustworthy != 0 || (watch == self.directoryWatch && mask & Self.movedAway != 0) {
                alive = false
                return
            }
            if watch == self.fileWatch {
                changed = true
                // The file was replaced or removed: this watch follows the old inode from now on.
                if mask & Self.movedAway != 0 { alive = false }
            } else if watch == self.directoryWatch && name.starts(with: self.namePrefix) {
                changed = true
            }
        }
    }
    #endif
}
