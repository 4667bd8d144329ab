import COpenSSL
import NIOCore

/// The bytes received from the socket that OpenSSL has not read yet, read by a custom BIO straight
/// out of the socket's buffers. A memory BIO would need every byte copied into it first: one copy
/// of the whole stream fewer, which is a tenth of a download's CPU time over TLS.
///
/// Used on the handler's event loop only; OpenSSL calls the BIO from inside the `SSL_*` calls the
/// handler makes there.
final class TLSInputQueue {
    private var buffers = CircularBuffer<ByteBuffer>()
    private(set) var pendingBytes = 0

    func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        self.buffers.append(buffer)
        self.pendingBytes += buffer.readableBytes
    }

    /// Copies up to `maximum` bytes into `destination`; returns how many (0 when empty).
    func read(into destination: UnsafeMutableRawPointer, maximum: Int) -> Int {
        var copied = 0
        while copied < maximum, var first = self.buffers.first {
            let count = min(maximum - copied, first.readableBytes)
            first.withUnsafeReadableBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                (destination + copied).copyMemory(from: base, byteCount: count)
            }
            first.moveReaderIndex(forwardBy: count)
            copied += count
            if first.readableBytes == 0 {
                self.buffers.removeFirst()
            } else {
                self.buffers[self.buffers.startIndex] = first
            }
        }
        self.pendingBytes -= copied
        return copied
    }
}

/// A read-only source BIO over a `TLSInputQueue` (set as the BIO's data, unretained: the handler
/// keeps the queue alive as long as the `SSL` that owns the BIO). Empty means "retry", never EOF:
/// the handler learns of the end of the TCP stream from the channel.
enum TLSInputBIO {
    private static let flagRead: Int32 = 0x01
    private static let flagsReadWriteSpecial: Int32 = 0x07
    private static let flagShouldRetry: Int32 = 0x08
    private static let controlPending: Int32 = 10
    private static let controlFlush: Int32 = 11

    /// Created once; OpenSSL only reads a method table after it is set up.
    nonisolated(unsafe) private static let method: OpaquePointer? = {
        guard let method = BIO_meth_new(BIO_get_new_index() | 0x0400, "wharf TLS input") else { return nil }
        _ = BIO_meth_set_read(method) { bio, out, length in
            guard let bio, let out, length > 0, let data = BIO_get_data(bio) else { return 0 }
            let queue = Unmanaged<TLSInputQueue>.fromOpaque(data).takeUnretainedValue()
            BIO_clear_flags(bio, TLSInputBIO.flagsReadWriteSpecial | TLSInputBIO.flagShouldRetry)
            let count = queue.read(into: UnsafeMutableRawPointer(out), maximum: Int(length))
            guard count > 0 else {
                BIO_set_flags(bio, TLSInputBIO.flagRead | TLSInputBIO.flagShouldRetry)
                return -1
            }
            return Int32(count)
        }
        _ = BIO_meth_set_write(method) { _, _, _ in -1 }
        _ = BIO_meth_set_ctrl(method) { bio, command, _, _ in
            switch command {
            case TLSInputBIO.controlFlush:
                return 1
            case TLSInputBIO.controlPending:
                guard let bio, let data = BIO_get_data(bio) else { return 0 }
                return Unmanaged<TLSInputQueue>.fromOpaque(data).takeUnretainedValue().pendingBytes
            default:
                return 0
            }
        }
        _ = BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 1)
            return 1
        }
        return method
    }()

    /// A BIO reading from `queue`, or nil when OpenSSL cannot allocate one.
    static func make(reading queue: TLSInputQueue) -> OpaquePointer? {
        guard let method = Self.method, let bio = BIO_new(method) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(queue).toOpaque())
        return bio
    }
}
