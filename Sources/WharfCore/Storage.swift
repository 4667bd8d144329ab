import NIOCore

/// How a file is opened. Mirrors the SFTP and FTP needs, not a particular protocol's flags.
public struct OpenOptions: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = OpenOptions(rawValue: 1 << 0)
    public static let write = OpenOptions(rawValue: 1 << 1)
    public static let append = OpenOptions(rawValue: 1 << 2)
    public static let create = OpenOptions(rawValue: 1 << 3)
    public static let truncate = OpenOptions(rawValue: 1 << 4)
    public static let exclusive = OpenOptions(rawValue: 1 << 5)

    public var writes: Bool { !self.isDisjoint(with: [.write, .append, .create, .truncate]) }
}

/// A file a storage opened. Reads and writes at explicit offsets, so several may run at once.
///
/// The owner (a protocol session) must `close()` it; it is not closed on deinit, because closing is
/// async and may fail, and a failure there must reach the client.
public protocol StorageFile: AnyObject, Sendable {
    /// The path the client named, as the client sees it.
    var path: String { get }
    /// Reads up to `length` bytes; an empty buffer means end of file.
    func read(at offset: UInt64, length: Int) async throws(StorageError) -> ByteBuffer
    func write(_ data: ByteBuffer, at offset: UInt64) async throws(StorageError)
    /// Writes the buffers one after another from `offset`, as one write where the storage can.
    func write(contentsOf buffers: [ByteBuffer], at offset: UInt64) async throws(StorageError)
    func attributes() async throws(StorageError) -> FileAttributes
    func setAttributes(_ changes: AttributeChanges) async throws(StorageError)
    func synchronize() async throws(StorageError)
    func fileSystemStatistics() async throws(StorageError) -> FileSystemStatistics
    func close() async throws(StorageError)
    /// Whether `close()` can fail with an error the client must hear of, such as a network file
    /// system's deferred write error. When false, a session may answer the client's close first.
    var closeMayReportErrors: Bool { get }
}

extension StorageFile {
    public var closeMayReportErrors: Bool { true }

    /// Joins the buffers and writes them in one call: for storages without a vectored write.
    public func write(contentsOf buffers: [ByteBuffer], at offset: UInt64) async throws(StorageError) {
        guard buffers.count > 1 else {
            if let only = buffers.first { try await self.write(only, at: offset) }
            return
        }
        var joined = ByteBuffer()
        joined.reserveCapacity(buffers.reduce(0) { $0 + $1.readableBytes })
        for buffer in buffers { joined.writeImmutableBuffer(buffer) }
        try await self.write(joined, at: offset)
    }
}

/// An open directory listing, read in batches.
public protocol StorageDirectory: AnyObject, Sendable {
    var path: String { get }
    /// Up to `maximumCount` entries (attributes from lstat); an empty array means the end.
    func nextEntries(maximumCount: Int) async throws(StorageError) -> [DirectoryEntry]
    func close() async
}

/// A user's view of a file tree. Every path is the client's: relative paths are relative to the
/// start directory, and a jailed storage resolves all of them inside its root.
///
/// The SFTP session and (later) the FTP session are written against this protocol only, so that
/// other back ends (memory, S3) and policy layers (permissions, quotas) plug in underneath.
public protocol Storage: Sendable {
    /// The directory a session starts in, as the client sees it ("/" for a jailed user).
    var startDirectory: String { get }
    /// True when writes of any kind are refused.
    var isReadOnly: Bool { get }

    func attributes(at path: String, followingSymlinks: Bool) async throws(StorageError) -> FileAttributes
    func setAttributes(at path: String, _ changes: AttributeChanges, followingSymlinks: Bool) async throws(StorageError)
    func openFile(at path: String, options: OpenOptions, permissions: UInt32?) async throws(StorageError) -> any StorageFile
    func openDirectory(at path: String) async throws(StorageError) -> any StorageDirectory
    func removeFile(at path: String) async throws(StorageError)
    func makeDirectory(at path: String, permissions: UInt32?) async throws(StorageError)
    func removeDirectory(at path: String) async throws(StorageError)
    /// Renames; with `replacing == false` an existing target is an error (SFTP v3 RENAME).
    func rename(from source: String, to destination: String, replacing: Bool) async throws(StorageError)
    /// An upload's commit: closes `file`, written at `source`, then renames it to `destination`,
    /// replacing what is there. Nothing is renamed when the close fails.
    func closeAndRename(_ file: any StorageFile, from source: String, to destination: String) async throws(StorageError)
    func readSymbolicLink(at path: String) async throws(StorageError) -> String
    func createSymbolicLink(at linkPath: String, pointingTo target: String) async throws(StorageError)
    func createHardLink(at newPath: String, to existingPath: String) async throws(StorageError)
    /// The absolute, normalized path the client should see for `path` (REALPATH).
    func canonicalPath(_ path: String) async throws(StorageError) -> String
    func fileSystemStatistics(at path: String) async throws(StorageError) -> FileSystemStatistics
    /// Account names for ids, for listings and users-groups-by-id; nil where unknown.
    func accountNames(userIDs: [UInt32], groupIDs: [UInt32]) async -> (users: [String?], groups: [String?])
    /// The home directory as the client sees it.
    var homeDirectory: String { get }
}

extension Storage {
    /// The two steps one after the other; a storage that can take both in one trip overrides it.
    public func closeAndRename(_ file: any StorageFile, from source: String, to destination: String)
        async throws(StorageError)
    {
        try await file.close()
        try await self.rename(from: source, to: destination, replacing: true)
    }
}

/// A storage file backed by a kernel file descriptor: a plain (unencrypted, binary) data
/// connection can then send it with sendfile(2) instead of copying it through user space.
public protocol DescriptorBackedFile: StorageFile {
    /// A duplicate of the file's descriptor; the caller owns it and must close it.
    func duplicateDescriptor() throws(StorageError) -> Int32
    /// Waits, off the event loop, until `length` bytes from `offset` are in the page cache, so that
    /// sendfile(2) from an event loop does not wait on the disk (see `PageCache`).
    func cacheRange(at offset: UInt64, length: Int) async throws(StorageError)
}
