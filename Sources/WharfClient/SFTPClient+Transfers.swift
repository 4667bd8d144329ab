import NIOCore
import SFTPProtocol

/// Pipelined transfers: many READ or WRITE requests outstanding at once, as OpenSSH's `sftp` does,
/// so that throughput is not bound by the round-trip time.
extension SFTPClient {
    /// Called with the bytes transferred so far.
    public typealias Progress = @Sendable (UInt64) -> Void

    /// Downloads a remote file into `sink`, from `offset` on (to resume, pass the size already
    /// there: bytes land at the same offsets in the sink). Returns the bytes transferred.
    ///
    /// Up to `requestsInFlight` READs are outstanding; replies may come in any order; a short read is
    /// re-asked for the missing range. Reading goes on past the size the file had when opened, until
    /// the server says end of file. When the task is cancelled the transfer stops asking, waits for
    /// the replies it is owed, closes the file and throws `CancellationError`.
    @discardableResult
    public func download(
        _ remotePath: String,
        to sink: some LocalSink,
        from offset: UInt64 = 0,
        requestsInFlight: Int = SFTPClient.defaultRequestsInFlight,
        progress: Progress? = nil
    ) async throws -> UInt64 {
        let file = try await self.open(remotePath, flags: .read)
        let transferred: UInt64
        do {
            transferred = try await self.download(file, to: sink, from: offset, requestsInFlight: requestsInFlight, progress: progress)
        } catch {
            try? await file.close()
            throw error
        }
        try await file.close()
        return transferred
    }

    /// Uploads `source` (read from `offset` on) to a remote file at the same offset; the file is created
    /// when missing (with `permissions` when given) and emptied first when `truncate`. To resume, pass the
    /// remote size as `offset` and `truncate: false`. Returns the bytes transferred.
    ///
    /// Up to `requestsInFlight` WRITEs are outstanding. The remote file is closed at the end and an
    /// error the server reports on close is thrown. Cancellation as for `download`.
    @discardableResult
    public func upload(
        from source: some LocalSource,
        to remotePath: String,
        at offset: UInt64 = 0,
        truncate: Bool,
        permissions: UInt32? = nil,
        requestsInFlight: Int = SFTPClient.defaultRequestsInFlight,
        progress: Progress? = nil
    ) async throws -> UInt64 {
        var flags: SFTPOpenFlags = [.write, .create]
        if truncate { flags.insert(.truncate) }
        let file = try await self.open(remotePath, flags: flags, attributes: SFTPFileAttributes(permissions: permissions))
        let transferred: UInt64
        do {
            transferred = try await self.upload(from: source, to: file, at: offset, requestsInFlight: requestsInFlight, progress: progress)
        } catch {
            try? await file.close()
            throw error
        }
        try await file.close()
        return transferred
    }

    // MARK: Pipelines over an open file

    private struct ReadRequest {
        var id: UInt32
        var offset: UInt64
        var length: UInt32
    }

    /// Downloads from an open file; see `download(_:to:from:requestsInFlight:progress:)`.
    public func download(
        _ file: RemoteFile,
        to sink: some LocalSink,
        from offset: UInt64 = 0,
        requestsInFlight: Int = SFTPClient.defaultRequestsInFlight,
        progress: Progress? = nil
    ) async throws -> UInt64 {
        try await withTaskExecutorPreference(self.transferExecutor) {
            try await self.downloadLoop(file, to: sink, from: offset, requestsInFlight: requestsInFlight, progress: progress)
        }
    }

    private func downloadLoop(
        _ file: RemoteFile, to sink: some LocalSink, from offset: UInt64, requestsInFlight: Int, progress: Progress?
    ) async throws -> UInt64 {
        let block = UInt32(self.readBlockSize)
        let window = max(1, requestsInFlight)
        // The size when opened bounds the sequential reads sent ahead: one read at or past it finds
        // the end. Data past it (the file grew) raises the bound.
        var sequentialLimit: UInt64? = nil
        if let size = try? await file.stat().size { sequentialLimit = max(size, offset) }
        var nextOffset = offset
        var endOfFile: UInt64? = nil
        var missing: [(offset: UInt64, length: UInt32)] = []
        var inFlight: [ReadRequest] = []
        inFlight.reserveCapacity(window)
        var transferred: UInt64 = 0
        var failure: (any Error)? = nil

        while true {
            // Ask for more while there is room: re-asks for short reads first, then the next block.
            while failure == nil, inFlight.count < window {
                if Task.isCancelled {
                    failure = CancellationError()
                    break
                }
                let range: (offset: UInt64, length: UInt32)
                if let gap = missing.popLast() {
                    if let end = endOfFile, gap.offset >= end { continue }
                    range = gap
                } else if endOfFile == nil, sequentialLimit.map({ nextOffset <= $0 }) ?? true,
                    nextOffset <= UInt64(Int64.max)
                {
                    range = (nextOffset, block)
                    nextOffset += UInt64(block)
                } else {
                    break
                }
                do {
                    let id = try await self.dispatcher.send {
                        .read(id: $0, handle: file.handle, offset: range.offset, length: range.length)
                    }
                    inFlight.append(ReadRequest(id: id, offset: range.offset, length: range.length))
                } catch {
                    failure = error
                }
            }
            guard !inFlight.isEmpty else { break }

            // The oldest request's reply; later ones that arrive first wait in the dispatcher.
            let request = inFlight.removeFirst()
            let response: SFTPResponse
            do {
                response = try await self.dispatcher.reply(to: request.id)
            } catch {
                if failure == nil { failure = error }
                continue
            }
            guard failure == nil else { continue }  // draining: the reply is owed, its data unwanted
            switch response {
            case .data(_, let data):
                let count = UInt64(data.readableBytes)
                guard count > 0 else {
                    // An empty DATA says no more than EOF would; taking it as the end cannot loop forever.
                    endOfFile = min(endOfFile ?? .max, request.offset)
                    continue
                }
                guard count <= UInt64(request.length) else {
                    failure = SFTPClientError.unexpectedReply("DATA of \(count) bytes for a READ of \(request.length)")
                    continue
                }
                do {
                    try await sink.write(contentsOf: data.pieces, at: request.offset)
                } catch {
                    failure = error
                    continue
                }
                transferred += count
                progress?(transferred)
                let end = request.offset + count
                if let limit = sequentialLimit, end > limit { sequentialLimit = end }
                if count < UInt64(request.length) {
                    missing.append((end, request.length - UInt32(count)))
                }
            case .status(_, .eof, _):
                endOfFile = min(endOfFile ?? .max, request.offset)
            default:
                failure = response.unexpected(expecting: "DATA", path: file.path)
            }
        }
        if let failure { throw failure }
        return transferred
    }

    /// How much of the source one read takes, at most, when it is more than one block.
    static let uploadReadLength = 1024 * 1024

    /// Uploads into an open file; see `upload(from:to:at:truncate:permissions:requestsInFlight:progress:)`.
    public func upload(
        from source: some LocalSource,
        to file: RemoteFile,
        at offset: UInt64 = 0,
        requestsInFlight: Int = SFTPClient.defaultRequestsInFlight,
        progress: Progress? = nil
    ) async throws -> UInt64 {
        try await withTaskExecutorPreference(self.transferExecutor) {
            try await self.uploadLoop(from: source, to: file, at: offset, requestsInFlight: requestsInFlight, progress: progress)
        }
    }

    private func uploadLoop(
        from source: some LocalSource, to file: RemoteFile, at offset: UInt64, requestsInFlight: Int, progress: Progress?
    ) async throws -> UInt64 {
        let block = self.writeBlockSize
        let window = max(1, requestsInFlight)
        // The file is read a few blocks at a time and sliced (no copy): each read is a trip to
        // the thread pool and back, which cost more than the copy itself at 32 KiB blocks (the
        // size used with servers that do not state limits).
        let readLength = max(block, min(block * 8, Self.uploadReadLength))
        var readAhead = ByteBuffer()
        var readOffset = offset
        var nextOffset = offset
        var sourceEnded = false
        var inFlight: [(id: UInt32, length: UInt64)] = []
        inFlight.reserveCapacity(window)
        var transferred: UInt64 = 0
        var failure: (any Error)? = nil

        while true {
            while failure == nil, !sourceEnded, inFlight.count < window {
                if Task.isCancelled {
                    failure = CancellationError()
                    break
                }
                do {
                    if readAhead.readableBytes == 0 {
                        readAhead = try await source.read(at: readOffset, length: readLength)
                        readOffset += UInt64(readAhead.readableBytes)
                    }
                    guard let data = readAhead.readSlice(length: min(block, readAhead.readableBytes)),
                        data.readableBytes > 0
                    else {
                        sourceEnded = true
                        break
                    }
                    let at = nextOffset
                    let id = try await self.dispatcher.send { .write(id: $0, handle: file.handle, offset: at, data: SFTPPayload(data)) }
                    inFlight.append((id, UInt64(data.readableBytes)))
                    nextOffset += UInt64(data.readableBytes)
                } catch {
                    failure = error
                }
            }
            guard !inFlight.isEmpty else { break }
            let request = inFlight.removeFirst()
            do {
                try await self.dispatcher.reply(to: request.id).expectOK(path: file.path)
                guard failure == nil else { continue }
                transferred += request.length
                progress?(transferred)
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
        return transferred
    }
}
