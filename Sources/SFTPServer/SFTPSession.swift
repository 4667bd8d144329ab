import Logging
import NIOCore
import SFTPProtocol
import WharfCore

/// One SFTP session: decodes requests, serves them against a `Storage`, encodes replies.
///
/// Transport-free: the SSH channel and the stdio `sftp-server` both feed it packets and give it
/// a function to send replies. READ and WRITE requests run concurrently (up to
/// `maximumConcurrentRequests`), but their replies leave in request order (see `ReplyTurnstile`);
/// requests on overlapping ranges of one file, and every other request, are also executed in
/// order, as draft-ietf-secsh-filexfer-02 section 6.1 requires.
public final class SFTPSession: Sendable {
    /// Writes one reply to the client's stream: `reply`, then, for a large DATA reply, the file's
    /// bytes as they were read (`payload`), which the transport should send in the same write.
    /// Calls come one at a time, in order.
    public typealias Send = @Sendable (_ reply: ByteBuffer, _ payload: ByteBuffer?) async throws -> Void

    let storage: any Storage
    let configuration: SFTPSessionConfiguration
    let logger: Logger
    let handles: SFTPHandleTable
    private let exitHook: (@Sendable () async -> Void)?

    /// `exitHook` runs after the session has closed every handle and before `run` returns,
    /// so the transport releases the channel only once it is done.
    public init(
        storage: any Storage,
        configuration: SFTPSessionConfiguration = .init(),
        logger: Logger,
        exitHook: (@Sendable () async -> Void)? = nil
    ) {
        self.storage = storage
        self.configuration = configuration
        self.logger = logger
        self.handles = SFTPHandleTable(limit: configuration.maximumOpenHandles)
        self.exitHook = exitHook
    }

    /// Serves packets (type byte and payload, already framed) until the sequence ends or a send fails.
    /// In every case, in-flight requests finish, all handles are closed and the exit hook is awaited
    /// before this returns or rethrows.
    public func run<Packets: AsyncSequence>(packets: Packets, send: @escaping Send) async throws
    where Packets.Element == SFTPPacket {
        var failure: (any Error)? = nil
        do {
            try await self.serve(packets: packets, send: send)
        } catch {
            failure = error
        }
        await self.closeAllHandles()
        if let exitHook { await exitHook() }
        if let failure { throw failure }
    }

    /// `run` for packets framed elsewhere, each one whole buffer (type byte and payload).
    public func run<Packets: AsyncSequence>(packets: Packets, send: @escaping Send) async throws
    where Packets.Element == ByteBuffer {
        try await self.run(packets: packets.map { SFTPPacket(bytes: $0) }, send: send)
    }

    private struct InFlightRequest {
        var handle: ByteBuffer
        var range: Range<UInt64>
        var writes: Bool

        /// The bytes a READ will hold until its reply leaves; 0 for a WRITE (its data is already here).
        var readLength: Int { self.writes ? 0 : Int(clamping: self.range.upperBound - self.range.lowerBound) }

        func conflicts(with other: InFlightRequest) -> Bool {
            (self.writes || other.writes) && self.handle == other.handle && self.range.overlaps(other.range)
        }
    }

    /// Every request runs in a child task, the ones that run alone too: Swift's task allocator
    /// keeps, until a task ends, the slabs of the deepest chain of async frames it ever ran, and
    /// `perform`'s frame holds room for every kind of request. In the session's own task those
    /// kilobytes would stay with every idle session for good; a child task gives them back.
    private func serve<Packets: AsyncSequence>(packets: Packets, send: @escaping Send) async throws
    where Packets.Element == SFTPPacket {
        var initialized = false
        let turnstile = ReplyTurnstile()
        /// Sends a reply when its turn comes, and always passes the turn on, even when sending fails.
        @Sendable func reply(_ response: SFTPResponse, turn: Int) async throws {
            await turnstile.wait(for: turn)
            do {
                if case .data(let id, let payload) = response {
                    let data = payload.joined  // the one buffer the storage read
                    let fill = self.configuration.dataHeaderFillLength
                    var header = Self.dataHeader(id: id, length: data.readableBytes, fill: fill)
                    if data.readableBytes <= Self.copiedDataLength {
                        // Small reads (small files): one buffer, so one SSH packet.
                        header.writeImmutableBuffer(data)
                        try await send(header, nil)
                    } else {
                        // The file's bytes go out as they were read, behind their header and the
                        // first `fill` of them, instead of being copied into one buffer.
                        var rest = data
                        if fill > 0, let first = rest.readSlice(length: min(fill, rest.readableBytes)) {
                            header.writeImmutableBuffer(first)
                        }
                        try await send(header, rest)
                    }
                } else {
                    try await send(Self.encode(response), nil)
                }
            } catch {
                turnstile.finish(turn)
                throw error
            }
            turnstile.finish(turn)
        }
        try await withThrowingTaskGroup(of: Int.self) { group in
            var inFlight: [Int: InFlightRequest] = [:]
            var nextToken = 0

            for try await packet in packets {
                let request: SFTPRequest
                do {
                    request = try SFTPRequest(packet: packet)
                } catch {
                    let status = try self.status(forUndecodable: packet.bytes, error: error)
                    let token = nextToken
                    nextToken += 1
                    try await reply(status, turn: token)
                    continue
                }

                if case .initialize(let version) = request {
                    self.logger.debug("client requested SFTP version \(version)")
                    initialized = true
                    let token = nextToken
                    nextToken += 1
                    try await reply(.version(version: 3, extensions: SFTPOperation.advertisedExtensions), turn: token)
                    continue
                }
                guard initialized else {
                    throw SFTPFailure.badMessage("the first SFTP packet must be INIT")
                }

                if let concurrent = self.concurrentRange(of: request) {
                    // Wait while the request would overtake a conflicting one, or too many are running.
                    while inFlight.count >= self.configuration.maximumConcurrentRequests
                        || inFlight.values.contains(where: { $0.conflicts(with: concurrent) })
                        || (!concurrent.writes && !inFlight.isEmpty
                            && inFlight.values.reduce(concurrent.readLength, { $0 + $1.readLength })
                                > self.configuration.maximumReadAheadBytes)
                    {
                        guard let done = try await group.next() else {
                            inFlight.removeAll()
                            break
                        }
                        inFlight[done] = nil
                    }
                    let token = nextToken
                    nextToken += 1
                    inFlight[token] = concurrent
                    group.addTask {
                        try await reply(await self.respond(to: request), turn: token)
                        return token
                    }
                } else {
                    while let done = try await group.next() { inFlight[done] = nil }
                    inFlight.removeAll()
                    let token = nextToken
                    nextToken += 1
                    if let (id, handle) = self.takeHandleClosableAfterReply(request) {
                        // The descriptor closes on the thread pool while the reply goes out; the
                        // next request that is not a READ or WRITE waits for it, and so does the
                        // session's end.
                        group.addTask {
                            if let failure = await self.close(handle) {
                                self.logger.notice("closing a handle after its reply failed: \(failure)")
                            }
                            return token
                        }
                        try await reply(.status(id: id, code: .ok, message: "Success"), turn: token)
                    } else {
                        // In a child task, alone: see `serve`'s comment on memory.
                        group.addTask {
                            try await reply(await self.respond(to: request), turn: token)
                            return token
                        }
                        _ = try await group.next()
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The byte range of a READ or WRITE that may run alongside others; nil for everything else.
    private func concurrentRange(of request: SFTPRequest) -> InFlightRequest? {
        switch request {
        case .read(_, let handle, let offset, let length):
            let length = UInt64(min(Int(length), self.configuration.maximumReadLength))
            let end = offset.addingReportingOverflow(length)
            return InFlightRequest(handle: handle, range: offset..<(end.overflow ? .max : end.partialValue), writes: false)
        case .write(_, let handle, let offset, let data):
            // Appends ignore offsets: their order is the file's content.
            if case .file(let file) = self.handles.lookup(handle), file.options.contains(.append) { return nil }
            let end = offset.addingReportingOverflow(UInt64(data.readableBytes))
            return InFlightRequest(handle: handle, range: offset..<(end.overflow ? .max : end.partialValue), writes: true)
        default:
            return nil
        }
    }

    /// For a CLOSE of a directory, of a file opened only for reading, or of a written file whose
    /// storage says closing it reports nothing (a local file system), takes the handle out of the
    /// table: closing it cannot fail in a way the client needs to hear about, so its OK need not
    /// wait for the trip to the thread pool (a transfer of many small files makes one such trip
    /// per file fewer). Any other written file closes before the reply: there close(2) may report
    /// deferred write errors (NFS), and its status must carry them. Nil for everything else.
    private func takeHandleClosableAfterReply(_ request: SFTPRequest) -> (id: UInt32, handle: OpenHandle)? {
        guard case .close(let id, let name) = request,
            let operation = SFTPOperation.operation(for: request), self.configuration.permits(operation)
        else { return nil }
        switch self.handles.lookup(name) {
        case .directory?: break
        case .file(let file)? where !file.options.writes || !file.file.closeMayReportErrors: break
        default: return nil
        }
        guard let handle = self.handles.remove(name) else { return nil }
        return (id, handle)
    }

    /// The status answering a packet that could not be decoded; throws (ending the session) when
    /// the packet has no request id to answer, as the stream can no longer be trusted.
    private func status(forUndecodable packet: ByteBuffer, error: any Error) throws -> SFTPResponse {
        self.logger.notice("bad SFTP request: \(error)")
        guard let id = SFTPRequest.peekID(packet: packet) else {
            throw SFTPFailure.badMessage("undecodable SFTP packet without a request id")
        }
        if case SFTPProtocolError.unknownPacketType = error {
            return .status(id: id, code: .operationUnsupported, message: "\(error)")
        }
        return .status(id: id, code: .badMessage, message: "\(error)")
    }

    /// Applies the table's gates, runs the request, and maps any error to a status, in one place.
    func respond(to request: SFTPRequest) async -> SFTPResponse {
        let id = request.id ?? 0
        guard let operation = SFTPOperation.operation(for: request) else {
            var name = "\(request.packetType)"
            if case .extended(_, let extensionName, _) = request { name = extensionName }
            self.logger.debug("unsupported SFTP request \(name)")
            return .status(id: id, code: .operationUnsupported, message: "Unsupported request \(name)")
        }
        guard self.configuration.permits(operation) else {
            self.logger.info("refusing \(operation.name) request: not permitted by configuration")
            return .status(id: id, code: .permissionDenied, message: "Request \(operation.name) not permitted")
        }
        if operation.writes, self.configuration.readOnly || self.storage.isReadOnly {
            return .status(id: id, code: .permissionDenied, message: "Read-only session")
        }
        do {
            return try await self.perform(request)
        } catch {
            let status = SFTPStatusMapping.status(for: error)
            if status.code != .eof {
                self.logger.debug("\(operation.name) failed: \(status.message)")
            }
            return .status(id: id, code: status.code, message: status.message)
        }
    }

    static func encode(_ response: SFTPResponse) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeSFTPResponse(response)
        return buffer
    }

    /// DATA payloads up to this size are copied behind their header: a copy of a few KiB costs
    /// less than a second SSH packet (and a second write to the socket) for the header alone.
    static let copiedDataLength = 32 * 1024

    /// The framing of a DATA reply up to its payload: length, type, id, and the payload's length.
    static func dataHeader(id: UInt32, length: Int, fill: Int = 0) -> ByteBuffer {
        var header = ByteBuffer()
        header.reserveCapacity(13 + (length <= copiedDataLength ? length : min(fill, length)))
        header.writeInteger(UInt32(1 + 4 + 4 + length))
        header.writeInteger(SFTPPacketType.data.rawValue)
        header.writeInteger(id)
        header.writeInteger(UInt32(length))
        return header
    }

    private func closeAllHandles() async {
        let remaining = self.handles.removeAll()
        if !remaining.isEmpty {
            self.logger.info("closing \(remaining.count) handle(s) left open by the client")
        }
        for handle in remaining {
            await self.close(handle)
        }
    }

    /// Closes a handle and logs its transfer line, as OpenSSH's sftp-server does at INFO.
    @discardableResult
    func close(_ handle: OpenHandle) async -> (any Error)? {
        switch handle {
        case .directory(let directory):
            await directory.close()
            self.logger.debug("closedir \"\(directory.path)\"")
            return nil
        case .file(let file):
            var failure: (any Error)? = nil
            do { try await file.file.close() } catch { failure = error }
            let duration = ContinuousClock.now - file.openedAt
            self.logger.info(
                "close \"\(file.file.path)\" bytes read \(file.bytesRead.load(ordering: .relaxed)) written \(file.bytesWritten.load(ordering: .relaxed)) in \(duration.logDescription)"
            )
            return failure
        }
    }
}
