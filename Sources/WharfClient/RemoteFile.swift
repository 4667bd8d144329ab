import NIOCore
import SFTPProtocol
import Synchronization

/// A file opened on the server. Close it with `close()`: the server keeps the handle until then
/// (or until the session ends).
public final class RemoteFile: Sendable {
    /// The path it was opened with.
    public let path: String
    /// The server's handle, opaque bytes.
    public let handle: ByteBuffer
    let client: SFTPClient
    private let closed = Mutex(false)

    init(client: SFTPClient, path: String, handle: ByteBuffer) {
        self.client = client
        self.path = path
        self.handle = handle
    }

    /// Reads up to `length` bytes at `offset` with one READ; the server may return fewer.
    /// An empty buffer means the end of the file.
    public func read(at offset: UInt64, length: UInt32) async throws -> ByteBuffer {
        try self.checkOpen()
        let response = try await self.client.dispatcher.request {
            .read(id: $0, handle: self.handle, offset: offset, length: length)
        }
        switch response {
        case .data(_, let data):
            guard data.readableBytes <= Int(length) else {
                throw SFTPClientError.unexpectedReply("DATA of \(data.readableBytes) bytes for a READ of \(length)")
            }
            return data.joined
        case .status(_, .eof, _):
            return ByteBuffer()
        default:
            throw response.unexpected(expecting: "DATA", path: self.path)
        }
    }

    /// Writes all of `data` at `offset`, in blocks of the client's write block size, pipelined.
    public func write(_ data: ByteBuffer, at offset: UInt64) async throws {
        try self.checkOpen()
        let block = self.client.writeBlockSize
        var remaining = data
        var position = offset
        var sent: [UInt32] = []
        var failure: (any Error)? = nil
        repeat {
            let chunk = remaining.readSlice(length: min(block, remaining.readableBytes)) ?? ByteBuffer()
            do {
                let at = position
                sent.append(try await self.client.dispatcher.send { .write(id: $0, handle: self.handle, offset: at, data: SFTPPayload(chunk)) })
            } catch {
                failure = error
                break
            }
            position += UInt64(chunk.readableBytes)
        } while remaining.readableBytes > 0
        for id in sent {
            do {
                try await self.client.dispatcher.reply(to: id).expectOK(path: self.path)
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
    }

    /// Attributes of the open file (FSTAT).
    public func stat() async throws -> SFTPFileAttributes {
        try self.checkOpen()
        return try await self.client.dispatcher.request { .fstat(id: $0, handle: self.handle) }
            .expectAttributes(path: self.path)
    }

    /// Changes attributes of the open file (FSETSTAT).
    public func setAttributes(_ attributes: SFTPFileAttributes) async throws {
        try self.checkOpen()
        try await self.client.dispatcher.request { .fsetstat(id: $0, handle: self.handle, attributes: attributes) }
            .expectOK(path: self.path)
    }

    /// Flushes the file to stable storage on the server (`fsync@openssh.com`).
    public func synchronize() async throws {
        try self.checkOpen()
        try await self.client.extended(.fsync(handle: self.handle), path: self.path).expectOK(path: self.path)
    }

    /// Closes the handle. A second close does nothing. Errors the server reports here (a failed
    /// flush) are thrown: after writing, they mean the data may not have been stored.
    public func close() async throws {
        let wasClosed = self.closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        try await self.client.closeHandle(self.handle, path: self.path)
    }

    private func checkOpen() throws(SFTPClientError) {
        if self.closed.withLock({ $0 }) {
            throw .status(code: .failure, message: "file already closed", path: self.path)
        }
    }
}
