import Logging
import NIOCore
import SFTPProtocol

/// An SFTP version 3 client over any transport: it is given the server's packets and a function
/// that sends one, as `SFTPSession` is on the server side.
///
/// Every call may run concurrently with others; requests are pipelined and replies matched by id.
/// Calls wait for the server's reply and are not cancellable one by one (the server owes the
/// reply; the end of the connection fails it) — transfers are, see `download` and `upload`.
/// Call `close()` when done: it waits for requests in flight and ends the reader task.
public final class SFTPClient: RemoteFileSystem {
    /// The version the server answered with (3 for every server in use).
    public let serverVersion: UInt32
    /// The extensions the server advertised in VERSION, by name (the first pair wins on duplicates).
    public let extensions: [String: String]
    /// The server's limits, from `limits@openssh.com` when offered.
    public let limits: SFTPLimits?
    /// Bytes asked for in each READ of a transfer.
    public let readBlockSize: Int
    /// Bytes sent in each WRITE of a transfer.
    public let writeBlockSize: Int

    /// Requests a transfer keeps outstanding, unless told otherwise.
    public static let defaultRequestsInFlight = 64
    /// Block size when the server does not state its limits (what every SFTP server accepts).
    public static let defaultBlockSize = 32 * 1024
    /// The largest block used whatever the server's limits say, so that a DATA reply and its header
    /// stay under the 256 KiB packet size OpenSSH's client and server insist on.
    public static let maximumBlockSize = 255 * 1024

    let dispatcher: SFTPRequestDispatcher
    /// Where transfer loops run (see `connect`); nil for the default executor.
    let transferExecutor: (any TaskExecutor)?
    public let logger: Logger

    private init(
        serverVersion: UInt32, extensions: [String: String], limits: SFTPLimits?, dispatcher: SFTPRequestDispatcher,
        transferExecutor: (any TaskExecutor)?, logger: Logger
    ) {
        self.serverVersion = serverVersion
        self.extensions = extensions
        self.limits = limits
        self.dispatcher = dispatcher
        self.transferExecutor = transferExecutor
        self.logger = logger
        self.readBlockSize = Self.blockSize(limit: limits?.maximumReadLength, packetLimit: limits?.maximumPacketLength)
        self.writeBlockSize = Self.blockSize(limit: limits?.maximumWriteLength, packetLimit: limits?.maximumPacketLength)
    }

    /// Runs the INIT/VERSION handshake and, when the server offers `limits@openssh.com`, asks for its limits.
    ///
    /// - Parameters:
    ///   - packets: the server's packets, each the type byte and payload without the uint32 length
    ///     (split the byte stream with `SFTPFrameHandler` upstream, which may deliver a DATA's data
    ///     in pieces; an overload takes whole buffers). The sequence must end when the
    ///     task iterating it is cancelled (`AsyncStream` and NIO's inbound streams do), which is how
    ///     `close()` stops reading.
    ///   - send: writes one whole framed packet (length included). It may be called concurrently.
    ///   - executor: where the reader task and the transfer loops run: the channel's event loop
    ///     (`EventLoopTaskExecutor`), so that a request is written and a reply taken without a hop
    ///     to the cooperative pool and back. Nil: the default executor.
    public static func connect<Packets: AsyncSequence & Sendable>(
        packets: Packets,
        send: @escaping @Sendable (ByteBuffer) async throws -> Void,
        executor: (any TaskExecutor)? = nil,
        logger: Logger
    ) async throws -> SFTPClient where Packets.Element == SFTPPacket {
        let dispatcher = SFTPRequestDispatcher(send: send, logger: logger)
        dispatcher.start(reading: packets, executor: executor)
        do {
            let reply = try await dispatcher.handshake(version: 3)
            guard case .version(let version, let pairs) = reply else {
                throw SFTPClientError.unexpectedReply("\(reply.packetType) where VERSION was expected")
            }
            guard version >= 3 else { throw SFTPClientError.unsupportedVersion(version) }
            let extensions = Dictionary(pairs.map { ($0.name, $0.data) }, uniquingKeysWith: { first, _ in first })
            logger.debug("SFTP version \(version), extensions: \(pairs.map(\.name).joined(separator: ", "))")

            var limits: SFTPLimits? = nil
            if extensions[SFTPExtendedRequest.Name.limits] != nil {
                do {
                    let response = try await dispatcher.request { SFTPExtendedRequest.limits.request(id: $0) }
                    let payload = try response.expectExtendedReply(path: nil)
                    limits = try SFTPLimits(payload: payload)
                } catch let error as SFTPClientError where error.statusCode != nil {
                    logger.debug("limits@openssh.com refused: \(error)")
                } catch let error as SFTPProtocolError {
                    logger.debug("limits@openssh.com reply unreadable: \(error)")
                }
            }
            let client = SFTPClient(
                serverVersion: version, extensions: extensions, limits: limits, dispatcher: dispatcher,
                transferExecutor: executor, logger: logger)
            logger.debug("SFTP blocks: read \(client.readBlockSize), write \(client.writeBlockSize)")
            return client
        } catch {
            await dispatcher.close()
            throw error
        }
    }

    /// `connect` for packets framed elsewhere, each one whole buffer (type byte and payload).
    public static func connect<Packets: AsyncSequence & Sendable>(
        packets: Packets,
        send: @escaping @Sendable (ByteBuffer) async throws -> Void,
        executor: (any TaskExecutor)? = nil,
        logger: Logger
    ) async throws -> SFTPClient where Packets.Element == ByteBuffer {
        try await Self.connect(
            packets: packets.map { SFTPPacket(bytes: $0) }, send: send, executor: executor, logger: logger)
    }

    /// Block size for transfers from a server limit (0 meaning none), capped at `maximumBlockSize`.
    static func blockSize(limit: UInt64?, packetLimit: UInt64?) -> Int {
        guard let limit else { return Self.defaultBlockSize }
        var size = limit == 0 ? UInt64(Self.maximumBlockSize) : min(limit, UInt64(Self.maximumBlockSize))
        // Room for the WRITE header (type, id, handle of up to 256 bytes, offset, length) in a packet.
        if let packetLimit, packetLimit > 1024 {
            size = min(size, packetLimit - 1024)
        }
        return Int(max(size, 512))
    }

    /// SFTP carries times in seconds.
    public var listingTimeResolution: UInt32 { 1 }

    /// Whether the server advertised an extension.
    public func supports(_ extensionName: String) -> Bool {
        self.extensions[extensionName] != nil
    }

    /// Refuses new requests, waits for the replies to those in flight (or, if the calling task is
    /// cancelled, fails them with `.closed`), then stops reading. Afterwards every call throws
    /// `SFTPClientError.closed`. The transport may be closed once this returns.
    public func close() async {
        await self.dispatcher.close()
    }

    // MARK: Paths

    /// The canonical absolute form of a path (`"."` gives the login directory).
    public func realPath(_ path: String) async throws -> String {
        try await self.dispatcher.request { .realpath(id: $0, path: path) }.expectSingleName(path: path)
    }

    /// Attributes of a path, following symbolic links.
    public func stat(_ path: String) async throws -> SFTPFileAttributes {
        try await self.dispatcher.request { .stat(id: $0, path: path) }.expectAttributes(path: path)
    }

    /// Attributes of a path itself, not following a symbolic link.
    public func lstat(_ path: String) async throws -> SFTPFileAttributes {
        try await self.dispatcher.request { .lstat(id: $0, path: path) }.expectAttributes(path: path)
    }

    /// Changes the attributes present in `attributes` (size truncates, permissions chmod, uid/gid
    /// chown, times utimes), following symbolic links.
    public func setAttributes(_ path: String, _ attributes: SFTPFileAttributes) async throws {
        try await self.dispatcher.request { .setstat(id: $0, path: path, attributes: attributes) }.expectOK(path: path)
    }

    /// The entries of a directory, in the server's order; `.` and `..` are left out unless asked for.
    public func listDirectory(_ path: String, includingDotEntries: Bool = false) async throws -> [SFTPName] {
        let handle = try await self.dispatcher.request { .opendir(id: $0, path: path) }.expectHandle(path: path)
        var entries: [SFTPName] = []
        var failure: (any Error)? = nil
        reading: while true {
            do {
                let response = try await self.dispatcher.request { .readdir(id: $0, handle: handle) }
                if case .status(_, .eof, _) = response { break reading }
                let names = try response.expectNames(path: path)
                entries += includingDotEntries ? names : names.filter { $0.filename != "." && $0.filename != ".." }
            } catch {
                failure = error
                break reading
            }
        }
        do {
            try await self.closeHandle(handle, path: path)
        } catch {
            if failure == nil { failure = error }
        }
        if let failure { throw failure }
        return entries
    }

    /// Creates a directory; `permissions` (e.g. `0o755`) are left to the server's default when nil.
    public func makeDirectory(_ path: String, permissions: UInt32? = nil) async throws {
        let attributes = SFTPFileAttributes(permissions: permissions)
        try await self.dispatcher.request { .mkdir(id: $0, path: path, attributes: attributes) }.expectOK(path: path)
    }

    public func removeDirectory(_ path: String) async throws {
        try await self.dispatcher.request { .rmdir(id: $0, path: path) }.expectOK(path: path)
    }

    public func removeFile(_ path: String) async throws {
        try await self.dispatcher.request { .remove(id: $0, path: path) }.expectOK(path: path)
    }

    /// Renames a file or directory. With `overwriting`, an existing destination is replaced
    /// atomically through `posix-rename@openssh.com` when the server offers it; otherwise plain
    /// RENAME is sent, which most servers refuse when the destination exists.
    public func rename(from source: String, to destination: String, overwriting: Bool = false) async throws {
        if overwriting, self.supports(SFTPExtendedRequest.Name.posixRename) {
            let request = SFTPExtendedRequest.posixRename(oldPath: source, newPath: destination)
            try await self.dispatcher.request { request.request(id: $0) }.expectOK(path: source)
        } else {
            try await self.dispatcher.request { .rename(id: $0, oldPath: source, newPath: destination) }
                .expectOK(path: source)
        }
    }

    /// Creates a symbolic link at `linkPath` pointing to `target` (sent in OpenSSH's order).
    public func symlink(target: String, linkPath: String) async throws {
        try await self.dispatcher.request { .symlink(id: $0, targetPath: target, linkPath: linkPath) }
            .expectOK(path: linkPath)
    }

    /// The target of a symbolic link.
    public func readLink(_ path: String) async throws -> String {
        try await self.dispatcher.request { .readlink(id: $0, path: path) }.expectSingleName(path: path)
    }

    /// Creates a hard link (`hardlink@openssh.com`).
    public func hardLink(from existingPath: String, to newPath: String) async throws {
        let request = SFTPExtendedRequest.hardlink(oldPath: existingPath, newPath: newPath)
        try await self.extended(request, path: newPath).expectOK(path: newPath)
    }

    /// File-system statistics of the file system holding `path` (`statvfs@openssh.com`).
    public func statVFS(_ path: String) async throws -> SFTPStatVFS {
        let payload = try await self.extended(.statvfs(path: path), path: path).expectExtendedReply(path: path)
        do {
            return try SFTPStatVFS(payload: payload)
        } catch {
            throw SFTPClientError.malformedReply(error)
        }
    }

    /// A hash of a file (or of `length` bytes from `startOffset`, 0 meaning to the end) computed by
    /// the server (`check-file-name`), with the first algorithm of `algorithms` it supports.
    /// Returns the algorithm chosen and the digest (one per `blockSize` block when that is non-zero).
    public func checkFile(
        path: String, algorithms: [String], startOffset: UInt64 = 0, length: UInt64 = 0, blockSize: UInt32 = 0
    ) async throws -> (algorithm: String, hash: [UInt8]) {
        let request = SFTPExtendedRequest.checkFile(
            target: .path(path), algorithms: algorithms, startOffset: startOffset, length: length, blockSize: blockSize)
        let payload = try await self.extended(request, path: path).expectExtendedReply(path: path)
        do {
            let reply = try SFTPCheckFileReply(payload: payload)
            return (reply.algorithm, reply.hashes)
        } catch {
            throw SFTPClientError.malformedReply(error)
        }
    }

    /// Sends an extended request the server advertised; throws `.unsupportedExtension` otherwise.
    func extended(_ request: SFTPExtendedRequest, path: String?) async throws -> SFTPResponse {
        guard self.supports(request.name) else { throw SFTPClientError.unsupportedExtension(request.name) }
        return try await self.dispatcher.request { request.request(id: $0) }
    }

    // MARK: Files

    /// Opens a file. `attributes` apply when the file is created (e.g. its permissions).
    public func open(
        _ path: String, flags: SFTPOpenFlags, attributes: SFTPFileAttributes = .empty
    ) async throws -> RemoteFile {
        let handle = try await self.dispatcher.request { .open(id: $0, path: path, flags: flags, attributes: attributes) }
            .expectHandle(path: path)
        return RemoteFile(client: self, path: path, handle: handle)
    }

    func closeHandle(_ handle: ByteBuffer, path: String) async throws {
        try await self.dispatcher.request { .close(id: $0, handle: handle) }.expectOK(path: path)
    }
}
