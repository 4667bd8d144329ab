import Logging
import NIOCore
import NIOSSL
import Synchronization
import WharfCore

/// Where a transfer's data connection comes from.
enum FTPDataSource: Sendable {
    case passive(FTPPassiveListener)
    case active(SocketAddress)
}

/// What a transfer does once its data connection is up.
enum FTPTransferJob: Sendable {
    /// RETR: the file from `offset` (REST) on.
    case download(file: any StorageFile, offset: UInt64)
    /// STOR, APPE, STOU: the data connection's bytes into the file from `offset` on.
    case upload(file: any StorageFile, offset: UInt64)
    /// LIST, NLST, MLSD: a listing made before the 150 reply.
    case listing(ByteBuffer)
}

/// Shared by the session and its running transfer: progress for STAT, and ABOR's switch.
final class FTPTransferControl: Sendable {
    let stall = FTPDataStallFlag()
    private let transferred = Atomic<UInt64>(0)
    private let aborted = Atomic<Bool>(false)
    private let resources = Mutex<(listener: FTPPassiveListener?, channel: (any Channel)?)>((nil, nil))

    var bytesTransferred: UInt64 { self.transferred.load(ordering: .relaxed) }
    var isAborted: Bool { self.aborted.load(ordering: .acquiring) }

    func count(_ bytes: Int) {
        self.transferred.add(UInt64(bytes), ordering: .relaxed)
    }

    /// Remembers what ABOR must close; closes it at once if ABOR came first.
    func attach(listener: FTPPassiveListener) {
        self.resources.withLock { $0.listener = listener }
        if self.isAborted { listener.close() }
    }

    func attach(channel: any Channel) {
        self.resources.withLock { $0.channel = channel }
        if self.isAborted { FTPDataChannel.closeAbruptly(channel) }
    }

    /// ABOR: closes the data connection (or the listener still waiting for it).
    func abort() {
        self.aborted.store(true, ordering: .releasing)
        let (listener, channel) = self.resources.withLock { ($0.listener, $0.channel) }
        listener?.close()
        if let channel { FTPDataChannel.closeAbruptly(channel) }
    }
}

/// How a transfer ended; the session turns it into the final reply and the transfer log line.
enum FTPTransferResult: Sendable {
    case completed
    case aborted
    case stalled
    case noDataConnection(String)
    case connectionLost(String)
    case storageFailed(StorageError)
    /// TLS was required on the data connection and the handshake failed.
    case tlsFailed(String)
}

/// Moves the bytes of one transfer over its data connection.
struct FTPTransferRunner: Sendable {
    let job: FTPTransferJob
    let source: FTPDataSource
    let tls: NIOSSLContext?
    let ascii: Bool
    let control: FTPTransferControl
    let eventLoop: any EventLoop
    let dataTimeout: TimeAmount
    let chunkSize: Int

    /// Writes queued on the data channel before the next storage read waits for the oldest.
    private static let writesInFlight = 4
    /// Bytes of a plain RETR brought into the page cache per trip to the thread pool.
    private static let cachedWindow: UInt64 = 8 * 1024 * 1024

    func run() async -> FTPTransferResult {
        // The listener serves one connection; it closes when the transfer ends, not at accept,
        // because closing a server channel can drop a child whose registration is still under way.
        defer {
            if case .passive(let listener) = self.source { listener.close() }
        }
        let raw: any Channel
        do {
            switch self.source {
            case .passive(let listener):
                self.control.attach(listener: listener)
                // The client has the data timeout to connect; then the listener closes and accept ends.
                let timer = self.eventLoop.scheduleTask(in: self.dataTimeout) { listener.close() }
                defer { timer.cancel() }
                raw = try await listener.accept()
            case .active(let address):
                raw = try await FTPDataChannel.connect(
                    to: address, on: self.eventLoop, timeout: min(self.dataTimeout, .seconds(30)))
            }
        } catch {
            return self.control.isAborted ? .aborted : .noDataConnection("\(error)")
        }
        self.control.attach(channel: raw)
        switch self.job {
        case .download(let file, let offset):
            let channel: NIOAsyncChannel<ByteBuffer, Never>
            do { channel = try await self.prepare(raw) } catch { return self.preparationFailed(raw, error) }
            if self.tls == nil, !self.ascii, let backed = file as? any DescriptorBackedFile {
                return await self.sendWithoutCopy(file: backed, from: offset, on: channel)
            }
            return await self.send(file: file, from: offset, on: channel)
        case .upload(let file, let offset):
            let control = self.control
            let channel: NIOAsyncChannel<FTPUploadBatch, Never>
            do {
                channel = try await FTPDataChannel.prepareForUpload(
                    raw, tls: self.tls, stallTimeout: self.dataTimeout, flag: control.stall,
                    chunkSize: self.chunkSize, count: { control.count($0) })
            } catch {
                return self.preparationFailed(raw, error)
            }
            // On the data connection's own event loop: each batch then reaches the task on the
            // thread that read it, not through a wake-up of the cooperative pool. The task only
            // hands batches to the thread pool (and translates ASCII), so it never blocks the loop.
            return await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: raw.eventLoop)) {
                await self.receive(into: file, at: offset, on: channel)
            }
        case .listing(let listing):
            let channel: NIOAsyncChannel<ByteBuffer, Never>
            do { channel = try await self.prepare(raw) } catch { return self.preparationFailed(raw, error) }
            return await self.send(listing: listing, on: channel)
        }
    }

    private func prepare(_ raw: any Channel) async throws -> NIOAsyncChannel<ByteBuffer, Never> {
        try await FTPDataChannel.prepare(raw, tls: self.tls, stallTimeout: self.dataTimeout, flag: self.control.stall)
    }

    private func preparationFailed(_ raw: any Channel, _ error: any Error) -> FTPTransferResult {
        FTPDataChannel.closeAbruptly(raw)
        return self.control.isAborted ? .aborted : .noDataConnection("\(error)")
    }

    private func send(file: any StorageFile, from start: UInt64, on channel: NIOAsyncChannel<ByteBuffer, Never>)
        async -> FTPTransferResult
    {
        var offset = start
        var translator = ASCIITranslator()
        var inFlight: [EventLoopFuture<Void>] = []
        do {
            while !self.control.isAborted {
                let chunk = try await file.read(at: offset, length: self.chunkSize)
                if chunk.readableBytes == 0 { break }
                offset += UInt64(chunk.readableBytes)
                let wire = self.ascii ? translator.toNetwork(chunk) : chunk
                inFlight.append(channel.channel.writeAndFlush(wire))
                self.control.count(chunk.readableBytes)
                if inFlight.count >= Self.writesInFlight {
                    try await inFlight.removeFirst().get()
                }
            }
            for write in inFlight { try await write.get() }
        } catch let error as StorageError {
            FTPDataChannel.closeAbruptly(channel.channel)
            return .storageFailed(error)
        } catch {
            FTPDataChannel.closeAbruptly(channel.channel)
            return self.failure(error)
        }
        if self.control.isAborted {
            FTPDataChannel.closeAbruptly(channel.channel)
            return .aborted
        }
        return await self.finishSending(channel)
    }

    /// Plain binary RETR: sendfile(2) through NIO's FileRegion, as vsftpd does; the bytes never
    /// enter user space. Regions are bounded so ABOR and STAT see progress.
    private func sendWithoutCopy(
        file: any DescriptorBackedFile, from start: UInt64, on channel: NIOAsyncChannel<ByteBuffer, Never>
    ) async -> FTPTransferResult {
        let handle: NIOFileHandle
        let size: UInt64
        do {
            size = try await file.attributes().size
            handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: try file.duplicateDescriptor())
        } catch {
            FTPDataChannel.closeAbruptly(channel.channel)
            return .storageFailed(error)
        }
        defer { try? handle.close() }
        let regionSize: UInt64 = 1024 * 1024
        var offset = start
        var inFlight: [EventLoopFuture<Void>] = []
        do {
            var cachedEnd = offset
            while offset < size, !self.control.isAborted {
                let length = min(regionSize, size - offset)
                if offset >= cachedEnd {
                    // Into the page cache on the thread pool, while earlier regions are still
                    // sending: sendfile on the event loop then copies from memory instead of waiting
                    // on the disk. A window of regions per trip keeps the trips rare.
                    let window = min(Self.cachedWindow, size - offset)
                    do {
                        try await file.cacheRange(at: offset, length: Int(window))
                    } catch {
                        FTPDataChannel.closeAbruptly(channel.channel)
                        return .storageFailed(error)
                    }
                    cachedEnd = offset + window
                }
                let region = FileRegion(fileHandle: handle, readerIndex: Int(offset), endIndex: Int(offset + length))
                let counted = Int(length)
                let control = self.control
                inFlight.append(
                    channel.channel.writeAndFlush(region).map { control.count(counted) })
                offset += length
                if inFlight.count >= Self.writesInFlight { try await inFlight.removeFirst().get() }
            }
            for write in inFlight { try await write.get() }
        } catch {
            FTPDataChannel.closeAbruptly(channel.channel)
            return self.failure(error)
        }
        if self.control.isAborted {
            FTPDataChannel.closeAbruptly(channel.channel)
            return .aborted
        }
        return await self.finishSending(channel)
    }

    private func send(listing: ByteBuffer, on channel: NIOAsyncChannel<ByteBuffer, Never>) async
        -> FTPTransferResult
    {
        do {
            try await channel.channel.writeAndFlush(listing).get()
            self.control.count(listing.readableBytes)
        } catch {
            FTPDataChannel.closeAbruptly(channel.channel)
            return self.failure(error)
        }
        return await self.finishSending(channel)
    }

    /// End of file: TLS close_notify (when PROT P) and FIN once every byte is handed to the kernel.
    /// The full close does not wait for the client's close_notify: the 226 must not wait on it.
    private func finishSending(_ channel: NIOAsyncChannel<ByteBuffer, Never>) async -> FTPTransferResult {
        do {
            try await channel.channel.close(mode: .output).get()
        } catch {
            FTPDataChannel.closeAbruptly(channel.channel)
            return self.failure(error)
        }
        FTPDataChannel.closeAbruptly(channel.channel)
        return .completed
    }

    private func receive(
        into file: any StorageFile, at start: UInt64, on channel: NIOAsyncChannel<FTPUploadBatch, Never>
    ) async -> FTPTransferResult {
        var offset = start
        var translator = ASCIITranslator()
        let ascii = self.ascii
        let control = self.control
        do {
            // The batches come as they were read (FTPUploadBatcher counted them), several buffers
            // per vectored write instead of a copy into one staging buffer first.
            // executeThenClose closes the data connection once the client's end of file is read.
            try await channel.executeThenClose { inbound in
                for try await var batch in inbound {
                    if ascii {
                        batch.buffers = batch.buffers.map { translator.fromNetwork($0) }
                        batch.byteCount = batch.buffers.reduce(0) { $0 + $1.readableBytes }
                    }
                    try await file.write(contentsOf: batch.buffers, at: offset)
                    offset += UInt64(batch.byteCount)
                }
            }
            // The stream also ends when ABOR or the stall timer closed the connection: that is
            // no end of file.
            if control.stall.isSet { return .stalled }
            if control.isAborted { return .aborted }
            if ascii, let last = translator.finishFromNetwork() {
                try await file.write(contentsOf: [last], at: offset)
            }
        } catch let error as StorageError {
            FTPDataChannel.closeAbruptly(channel.channel)
            return .storageFailed(error)
        } catch {
            FTPDataChannel.closeAbruptly(channel.channel)
            return self.failure(error)
        }
        return .completed
    }

    private func failure(_ error: any Error) -> FTPTransferResult {
        if self.control.stall.isSet { return .stalled }
        if self.control.isAborted { return .aborted }
        if let tlsError = error as? NIOSSLError {
            switch tlsError {
            case .handshakeFailed: return .tlsFailed("\(tlsError)")
            default: break
            }
        }
        return .connectionLost("\(error)")
    }
}
