import FTPProtocol
import NIOCore
import WharfTLS

/// RETR, STOR/APPE and listings over a data connection. Any failure after the transfer command was
/// accepted leaves the conversation out of step (a 426 or 226 may still come): the connection is
/// marked broken and the pool drops it.
extension FTPControlConnection {
    /// Bytes read from a local source per write to the data connection.
    static let uploadBlockSize = 1024 * 1024
    /// Writes queued on the data connection before waiting for the oldest.
    static let uploadWritesInFlight = 4
    /// The largest directory listing accepted.
    static let maximumListingSize = 256 * 1024 * 1024

    /// Downloads `path` from `offset` on (REST when non-zero) into `sink` at the same offsets.
    func retrieve(
        _ path: String, from offset: UInt64, to sink: some LocalSink, progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> UInt64 {
        let argument = try Self.checkedPath(path)
        let data = try await FTPDataConnection.open(on: self, direction: .receiving)
        var received: UInt64 = 0
        do {
            if offset > 0 { try await self.require("REST", String(offset), path: path, intermediate: true) }
            try await self.startTransfer("RETR", argument, path: path)
            do {
                let (_, reader) = try await data.channel(timeout: self.options.dataTimeout)
                try await self.receive(from: reader) { batch in
                    try await sink.write(batch, at: offset + received)
                    received += UInt64(batch.readableBytes)
                    progress?(received)
                }
                try await self.finishTransfer("RETR", path: path)
            } catch {
                self.markBroken()
                throw error
            }
        } catch {
            data.close()
            throw error
        }
        data.close()
        return received
    }

    /// Uploads `source` from `offset` on: STOR from 0, else REST+STOR (or APPE with `append`,
    /// which continues at the server's end of file).
    func store(
        _ path: String, from source: some LocalSource, at offset: UInt64, append: Bool,
        progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> UInt64 {
        let argument = try Self.checkedPath(path)
        let data = try await FTPDataConnection.open(on: self, direction: .sending)
        var sent: UInt64 = 0
        do {
            var verb = "STOR"
            if offset > 0 {
                if append {
                    verb = "APPE"
                } else {
                    try await self.require("REST", String(offset), path: path, intermediate: true)
                }
            }
            try await self.startTransfer(verb, argument, path: path)
            do {
                let (channel, reader) = try await data.channel(timeout: self.options.dataTimeout)
                var writes: [(EventLoopFuture<Void>, UInt64)] = []
                var position = offset
                while true {
                    try Task.checkCancellation()
                    let block = try await source.read(at: position, length: Self.uploadBlockSize)
                    guard block.readableBytes > 0 else { break }
                    position += UInt64(block.readableBytes)
                    writes.append((channel.writeAndFlush(block), UInt64(block.readableBytes)))
                    if writes.count >= Self.uploadWritesInFlight {
                        let (write, count) = writes.removeFirst()
                        try await self.awaitWrite(write, reader: reader)
                        sent += count
                        progress?(sent)
                    }
                }
                for (write, count) in writes {
                    try await self.awaitWrite(write, reader: reader)
                    sent += count
                    progress?(sent)
                }
                // End of data: close_notify (TLS) and a half-close, then the server's verdict.
                try? await channel.close(mode: .output)
                try await self.finishTransfer(verb, path: path)
            } catch {
                self.markBroken()
                throw error
            }
        } catch {
            data.close()
            throw error
        }
        data.close()
        return sent
    }

    /// The text of an MLSD or LIST of `path`.
    func listing(_ verb: String, _ path: String) async throws -> String {
        let argument = try Self.checkedPath(path)
        let data = try await FTPDataConnection.open(on: self, direction: .receiving)
        var text = ByteBuffer()
        do {
            try await self.startTransfer(verb, argument, path: path)
            do {
                let (_, reader) = try await data.channel(timeout: self.options.dataTimeout)
                try await self.receive(from: reader) { batch in
                    var batch = batch
                    guard text.readableBytes + batch.readableBytes <= Self.maximumListingSize else {
                        throw FTPClientError.transferAborted("\(path): listing larger than \(Self.maximumListingSize / (1024 * 1024)) MiB")
                    }
                    text.writeBuffer(&batch)
                }
                try await self.finishTransfer(verb, path: path)
            } catch {
                self.markBroken()
                throw error
            }
        } catch {
            data.close()
            throw error
        }
        data.close()
        return String(buffer: text)
    }

    // MARK: Steps

    /// Sends the transfer command and waits for its 125/150. A refusal leaves the connection usable.
    private func startTransfer(_ verb: String, _ argument: String, path: String) async throws {
        try await self.send("\(verb) \(argument)")
        let reply = try await self.reply(to: "the reply to \(verb)")
        guard reply.isPreliminary else {
            if reply.code == 421 { self.markBroken() }
            if reply.code == 425 || reply.code == 426 {
                throw FTPClientError.transferAborted("\(path): \(Self.text(reply)) (\(verb): \(reply.code))")
            }
            throw FTPClientError.refused(command: verb, path: path, code: reply.code, text: Self.text(reply))
        }
    }

    /// The transfer's final reply: 2yz is success; 425/426/451 (the connection or the server broke
    /// off) are `transferAborted`, worth a retry.
    private func finishTransfer(_ verb: String, path: String) async throws {
        let reply = try await self.reply(to: "the end of \(verb) \(path)")
        switch reply.code {
        case 200..<300:
            return
        case 421, 425, 426, 451:
            throw FTPClientError.transferAborted("\(path): \(Self.text(reply)) (\(verb): \(reply.code))")
        default:
            throw FTPClientError.refused(command: verb, path: path, code: reply.code, text: Self.text(reply))
        }
    }

    /// Feeds what the data connection brings to `consume`, merged into one buffer per batch, until
    /// it ends. A TLS connection cut without close_notify counts as an end here: the server's
    /// final reply and the size check after the transfer decide whether anything was lost.
    private func receive(
        from reader: NIOLoopBound<FTPDataReader>, _ consume: (ByteBuffer) async throws -> Void
    ) async throws {
        let eventLoop = reader.eventLoop
        while true {
            let batch: [ByteBuffer]?
            do {
                batch = try await eventLoop.flatSubmit { reader.value.take(eventLoop: eventLoop) }.get()
            } catch TLSClientError.uncleanShutdown {
                self.logger.debug("data connection closed without TLS close_notify")
                return
            }
            guard let batch else { return }
            try await consume(Self.merged(batch))
        }
    }

    /// One buffer holding a batch (no copy for a batch of one).
    private static func merged(_ batch: [ByteBuffer]) -> ByteBuffer {
        guard batch.count > 1 else { return batch.first ?? ByteBuffer() }
        var merged = ByteBuffer()
        merged.reserveCapacity(batch.reduce(0) { $0 + $1.readableBytes })
        for var buffer in batch { merged.writeBuffer(&buffer) }
        return merged
    }

    /// Waits for a write; when it fails, the reader's reason (a stall, a TLS error) is the better one.
    private func awaitWrite(_ write: EventLoopFuture<Void>, reader: NIOLoopBound<FTPDataReader>) async throws {
        do {
            try await write.get()
        } catch {
            let eventLoop = reader.eventLoop
            if let reason = try? await eventLoop.flatSubmit({ reader.value.failureFuture(eventLoop: eventLoop) }).get() {
                throw reason
            }
            throw FTPClientError.transferAborted("the data connection failed: \(error)")
        }
    }
}
