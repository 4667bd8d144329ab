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

    public static func run(options: Options, logger: Logger) async throws {
        let pool = NIOThreadPool(numberOfThreads: 4)
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

        let channel = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .takingOwnershipOfDescriptors(input: 0, output: 1) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(SFTPFrameDecoder(maximumPacketLength: frameLimit)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel)
                }
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
                    try await session.run(packets: inbound) { reply in try await writer.send(reply) }
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
