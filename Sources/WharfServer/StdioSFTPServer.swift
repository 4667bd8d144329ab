import CSystemShims
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import SFTPProtocol
import SFTPServer
import WharfCore
import WharfStorage

/// The drop-in `sftp-server`: SFTP on stdin/stdout for OpenSSH's sshd (`Subsystem sftp …`) or
/// `sftp -D`. Like OpenSSH's, it serves the invoking user's file system without a jail.
public enum StdioSFTPServer {
    public struct Options: Sendable {
        public var startDirectory: String?
        public var readOnly = false
        public var deniedRequests: Set<String> = []
        public var allowedRequests: Set<String>? = nil
        public var userName: String?

        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case unusableStream(String)

        public var description: String {
            switch self {
            case .unusableStream(let reason):
                return "\(reason): run wharf sftp-server as sshd's SFTP subsystem, or through `sftp -D`"
            }
        }
    }

    /// epoll(7) watches pipes, sockets and terminals, not regular files or /dev/null, and NIO stops
    /// the process on those: say so instead.
    static func checkStandardStreams() throws(Failure) {
        for (descriptor, name) in [(CInt(0), "standard input"), (CInt(1), "standard output")] {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw .unusableStream("\(name) is closed") }
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFIFO || kind == S_IFSOCK || isatty(descriptor) == 1 else {
                throw .unusableStream("\(name) is not a pipe, socket or terminal")
            }
        }
    }

    /// Whether replies may be written to `output` with blocking writes: a pipe of its own (sshd's
    /// pipes, `sftp -D`'s), not the one socket a parent may give as both stdin and stdout, whose
    /// reads would then block the event loop too.
    ///
    /// Why: sshd reads our replies only as fast as the client's channel window lets it, so during
    /// a download the pipe is full. A non-blocking write then fails, the loop waits for the pipe to
    /// be writable, which it is as soon as sshd has taken one page, writes that page, and fails
    /// again: six writes, two epoll changes and a wake-up per 256 KiB reply (strace of a 1 GiB
    /// `get`: 24,000 writes, a quarter failing, 15,000 epoll_ctl). A blocking write sleeps in the
    /// kernel until the whole reply is in, as OpenSSH's sftp-server's writes do. The loop waits
    /// with it, but it serves this one session, which has nothing else to send meanwhile; a
    /// client gone away ends the write with EPIPE when sshd closes the pipe.
    static func outputMayBlock(input: CInt, output: CInt) -> Bool {
        var inputInfo = stat()
        var outputInfo = stat()
        guard fstat(input, &inputInfo) == 0, fstat(output, &outputInfo) == 0,
            outputInfo.st_mode & S_IFMT == S_IFIFO
        else { return false }
        return inputInfo.st_dev != outputInfo.st_dev || inputInfo.st_ino != outputInfo.st_ino
    }

    /// The capacity asked for stdin's and stdout's pipes.
    static let pipeCapacity: Int32 = 256 * 1024

    /// Threads for file I/O. One session per process, which shares the cores with sshd (it
    /// encrypts everything we send, on one thread) and often with the client: with four threads
    /// up to four reads of a download ran at once beside them, and two threads measured faster
    /// (a 1 GiB get through sshd on 2 cores, alternating, medians of 7: 3.30 s with four threads,
    /// 3.12 s with two, OpenSSH's sftp-server 3.06 s).
    static let fileThreads = 2

    public static func run(options: Options, logger: Logger) async throws {
        try Self.checkStandardStreams()
        let pool = NIOThreadPool(numberOfThreads: Self.fileThreads)
        pool.start()
        do {
            try await self.serve(options: options, pool: pool, logger: logger)
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        try? await pool.shutdownGracefully()
    }

    private static func serve(options: Options, pool: NIOThreadPool, logger: Logger) async throws {
        let storage = try LocalStorage(unrestrictedStartingAt: options.startDirectory, pool: pool, readOnly: options.readOnly)
        var configuration = SFTPSessionConfiguration()
        configuration.readOnly = options.readOnly
        configuration.deniedRequests = options.deniedRequests
        configuration.allowedRequests = options.allowedRequests
        configuration.userName = options.userName
        let frameLimit = configuration.maximumPacketLength
        // sshd's pipes hold 64 KiB, so a 256 KiB DATA reply or WRITE request crosses in four turns,
        // each a wake-up of sshd and of us. Larger pipes where the kernel allows it; not a pipe, or
        // refused: left as they are. The pages count against the user's pipe memory
        // (fs.pipe-user-pages-soft, 64 MiB by default): at 512 KiB a session, a user with more than
        // about 120 sessions at once reaches it, and the kernel then gives that user's new pipes a
        // single page until sessions end. Root is not counted.
        _ = wharf_set_pipe_size(0, Self.pipeCapacity)
        _ = wharf_set_pipe_size(1, Self.pipeCapacity)

        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .takingOwnershipOfDescriptors(input: 0, output: 1) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SFTPFrameHandler(maximumPacketLength: frameLimit, dataInPiecesFor: .write))
                    return try NIOAsyncChannel<SFTPPacket, ByteBuffer>(
                        wrappingChannelSynchronously: channel)
                }
            }

        // After the bootstrap, which made both descriptors non-blocking.
        if Self.outputMayBlock(input: 0, output: 1) {
            let flags = fcntl(1, F_GETFL)
            if flags >= 0 { _ = fcntl(1, F_SETFL, flags & ~O_NONBLOCK) }
        }
        logger.info("session opened for local user \(options.userName ?? "?")")
        let session = SFTPSession(storage: storage, configuration: configuration, logger: logger)
        let raw = channel.channel
        do {
            // Leave by the error path, as the SSH transport does: a closeFuture failed by a broken
            // pipe must not trip NIOAsyncChannel's assertion on the normal path.
            try await channel.executeThenClose { inbound, _ in
                // The last write is awaited, so everything is on the pipe before we close it.
                let writer = ChannelReplyWriter(channel: raw)
                // On the pipe's event loop, as the SSH transport's sessions run (see EventLoopTaskExecutor).
                try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: raw.eventLoop)) {
                    try await session.run(packets: inbound) { reply, payload in try await writer.send(reply, payload) }
                    try await writer.drain()
                }
                throw StdioSessionFinished()
            }
        } catch is StdioSessionFinished {
        } catch {
            logger.error("session ended: \(error)")
            logger.info("session closed for local user \(options.userName ?? "?")")
            throw error
        }
        logger.info("session closed for local user \(options.userName ?? "?")")
    }
}

/// Thrown to leave `executeThenClose` by its error path.
private struct StdioSessionFinished: Error {}
