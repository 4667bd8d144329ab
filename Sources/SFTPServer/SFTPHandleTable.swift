import NIOCore
import Synchronization
import WharfCore

/// An open file with its transfer counters, for the close log line.
final class OpenFile: Sendable {
    let file: any StorageFile
    let options: OpenOptions
    let openedAt: ContinuousClock.Instant
    let bytesRead = Atomic<UInt64>(0)
    let bytesWritten = Atomic<UInt64>(0)

    init(file: any StorageFile, options: OpenOptions) {
        self.file = file
        self.options = options
        self.openedAt = .now
    }
}

enum OpenHandle: Sendable {
    case file(OpenFile)
    case directory(any StorageDirectory)
}

/// The handles of one session. The session owns every handle in here and closes what is left
/// when it ends, so a dropped connection leaks no descriptor.
final class SFTPHandleTable: Sendable {
    private struct State {
        var next: UInt64 = 0
        var handles: [String: OpenHandle] = [:]
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    var count: Int { self.state.withLock { $0.handles.count } }

    /// Registers a handle; nil when the session already holds `limit` handles.
    func insert(_ handle: OpenHandle) -> String? {
        self.state.withLock { state in
            guard state.handles.count < self.limit else { return nil }
            state.next += 1
            let name = String(state.next)
            state.handles[name] = handle
            return name
        }
    }

    func lookup(_ handle: ByteBuffer) -> OpenHandle? {
        guard let name = handle.getString(at: handle.readerIndex, length: handle.readableBytes) else { return nil }
        return self.state.withLock { $0.handles[name] }
    }

    func file(_ handle: ByteBuffer) throws(SFTPFailure) -> OpenFile {
        guard case .file(let file) = self.lookup(handle) else { throw .invalidHandle }
        return file
    }

    func directory(_ handle: ByteBuffer) throws(SFTPFailure) -> any StorageDirectory {
        guard case .directory(let directory) = self.lookup(handle) else { throw .invalidHandle }
        return directory
    }

    func remove(_ handle: ByteBuffer) -> OpenHandle? {
        guard let name = handle.getString(at: handle.readerIndex, length: handle.readableBytes) else { return nil }
        return self.state.withLock { $0.handles.removeValue(forKey: name) }
    }

    func removeAll() -> [OpenHandle] {
        self.state.withLock { state in
            defer { state.handles.removeAll() }
            return Array(state.handles.values)
        }
    }
}
