import FTPProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import WharfTLS

/// A data connection being set up: passive ones are connected before the transfer command is sent,
/// active ones are accepted after it (the server connects once it has said 150).
struct FTPDataConnection: Sendable {
    enum Direction: Sendable {
        /// The server sends (RETR, LIST, MLSD): a stall is a read that does not come.
        case receiving
        /// We send (STOR, APPE): a stall is a write that does not complete.
        case sending
    }

    private enum Endpoint: Sendable {
        case connected(any Channel)
        case listening(server: any Channel, accepted: EventLoopFuture<any Channel>)
    }

    private let endpoint: Endpoint
    private let readers: EventLoopFuture<NIOLoopBound<FTPDataReader>>

    private init(endpoint: Endpoint, readers: EventLoopFuture<NIOLoopBound<FTPDataReader>>) {
        self.endpoint = endpoint
        self.readers = readers
    }

    /// The connected channel and its reader; for an active connection, waits (within the data
    /// timeout) for the server to connect.
    func channel(timeout: TimeAmount) async throws -> (any Channel, NIOLoopBound<FTPDataReader>) {
        switch self.endpoint {
        case .connected(let channel):
            return (channel, try await self.readers.get())
        case .listening(let server, let accepted):
            let eventLoop = server.eventLoop
            let deadline = eventLoop.scheduleTask(in: timeout) {}
            let timedOut = deadline.futureResult.flatMapThrowing { _ -> any Channel in
                throw FTPClientError.timedOut("waiting for the server's active data connection")
            }
            let first = eventLoop.makePromise(of: (any Channel).self)
            accepted.cascade(to: first)
            timedOut.cascadeFailure(to: first)
            defer {
                deadline.cancel()
                server.close(promise: nil)
            }
            let channel = try await first.futureResult.get()
            return (channel, try await self.readers.get())
        }
    }

    /// Closes whatever is open (the connection, the listener), without waiting.
    func close() {
        switch self.endpoint {
        case .connected(let channel):
            channel.close(promise: nil)
        case .listening(let server, let accepted):
            server.close(promise: nil)
            accepted.whenSuccess { $0.close(promise: nil) }
        }
    }

    /// Socket reads of up to 1 MiB on a busy data connection (NIO's default stops at 64 KiB): fewer
    /// system calls and fewer, larger buffers for the disk writes.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64 * 1024, initial: 256 * 1024, maximum: 1024 * 1024)

    // MARK: Opening

    /// Opens the data connection for the next transfer command: EPSV (PASV when the server
    /// refuses EPSV) and connect, or with `activeMode`, a listener announced by EPRT (PORT).
    static func open(on control: FTPControlConnection, direction: Direction) async throws -> FTPDataConnection {
        if control.options.activeMode {
            return try await Self.listen(on: control, direction: direction)
        }
        let port = try await Self.passivePort(on: control)
        // The address of the control connection, whatever a PASV reply says (curl's default, since a
        // server behind NAT often names a private one; it also keeps the data on the server we checked).
        guard let peer = control.channel.remoteAddress, let host = peer.ipAddress else {
            throw FTPClientError.connectionClosed
        }
        let readerPromise = control.eventLoop.makePromise(of: NIOLoopBound<FTPDataReader>.self)
        do {
            let channel = try await ClientBootstrap(group: control.eventLoop)
                .connectTimeout(control.options.connectTimeout)
                .channelOption(.autoRead, value: false)
                .channelOption(.recvAllocator, value: Self.receiveAllocator)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let reader = try Self.configure(channel, control: control, direction: direction)
                        readerPromise.succeed(reader)
                    }
                }
                .connect(host: host, port: Int(port)).get()
            return FTPDataConnection(endpoint: .connected(channel), readers: readerPromise.futureResult)
        } catch {
            readerPromise.fail(error)
            throw FTPClientError.transferAborted(
                "cannot open the data connection to \(FTPControlConnection.endpointText(host, Int(port))): \(FTPControlConnection.reason(error))")
        }
    }

    /// EPSV's port, or PASV's when EPSV is refused (remembered for the connection).
    private static func passivePort(on control: FTPControlConnection) async throws -> UInt16 {
        if !control.extendedPassiveRefused {
            let reply = try await control.execute("EPSV")
            if reply.code == 229 {
                do {
                    return try FTPHostPort.extendedPassivePort(replyText: FTPControlConnection.text(reply))
                } catch {
                    throw FTPClientError.unexpectedReply(command: "EPSV", code: reply.code, text: FTPControlConnection.text(reply))
                }
            }
            guard reply.code / 100 == 5 else {
                throw FTPClientError.refused(command: "EPSV", path: nil, code: reply.code, text: FTPControlConnection.text(reply))
            }
            control.logger.debug("EPSV refused (\(reply.code)): using PASV")
            control.refuseExtendedPassive()
        }
        let reply = try await control.execute("PASV")
        guard reply.code == 227 else {
            throw FTPClientError.refused(command: "PASV", path: nil, code: reply.code, text: FTPControlConnection.text(reply))
        }
        do {
            let endpoint = try FTPHostPort(passiveReplyText: FTPControlConnection.text(reply))
            if let peer = control.channel.remoteAddress?.ipAddress, peer != endpoint.address.description {
                control.logger.debug("PASV named \(endpoint.address); connecting to the control connection's \(peer) instead")
            }
            return endpoint.port
        } catch {
            throw FTPClientError.unexpectedReply(command: "PASV", code: reply.code, text: FTPControlConnection.text(reply))
        }
    }

    /// Active mode: listen on the control connection's local address, announce it with EPRT (PORT
    /// when the server refuses EPRT and the address is IPv4), accept one connection from the
    /// server's address.
    private static func listen(on control: FTPControlConnection, direction: Direction) async throws -> FTPDataConnection {
        guard let local = control.channel.localAddress, let localHost = local.ipAddress,
            let peerHost = control.channel.remoteAddress?.ipAddress
        else { throw FTPClientError.connectionClosed }
        let acceptedPromise = control.eventLoop.makePromise(of: (any Channel).self)
        let readerPromise = control.eventLoop.makePromise(of: NIOLoopBound<FTPDataReader>.self)
        let claimed = NIOLockedValueBox(false)
        let server: any Channel
        do {
            server = try await ServerBootstrap(group: control.eventLoop)
                .serverChannelOption(.backlog, value: 4)
                .childChannelOption(.autoRead, value: false)
                .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { child in
                    // Only the server may connect, and only once.
                    let first = claimed.withLockedValue { taken in
                        defer { taken = true }
                        return !taken
                    }
                    guard first, child.remoteAddress?.ipAddress == peerHost else {
                        control.logger.debug("active data connection from \(child.remoteAddress?.description ?? "?") refused")
                        return child.close()
                    }
                    return child.eventLoop.makeCompletedFuture {
                        let reader = try Self.configure(child, control: control, direction: direction)
                        readerPromise.succeed(reader)
                        acceptedPromise.succeed(child)
                    }
                }
                .bind(host: localHost, port: 0).get()
        } catch {
            throw FTPClientError.transferAborted("cannot listen for an active data connection: \(FTPControlConnection.reason(error))")
        }
        do {
            guard let port = server.localAddress?.port, let address = FTPIPAddress(localHost) else {
                throw FTPClientError.transferAborted("cannot listen for an active data connection")
            }
            let endpoint = FTPHostPort(address: address, port: UInt16(port))
            var announced = false
            if !control.extendedPortRefused {
                let reply = try await control.execute("EPRT \(endpoint.eprtArgument)")
                if reply.code / 100 == 2 {
                    announced = true
                } else if reply.code / 100 == 5, !address.isIPv6 {
                    control.refuseExtendedPort()
                } else {
                    throw FTPClientError.refused(command: "EPRT", path: nil, code: reply.code, text: FTPControlConnection.text(reply))
                }
            }
            if !announced {
                try await control.require("PORT", endpoint.portArgument)
            }
        } catch {
            server.close(promise: nil)
            acceptedPromise.fail(error)
            readerPromise.fail(error)
            throw error
        }
        server.closeFuture.whenComplete { _ in
            acceptedPromise.fail(FTPClientError.transferAborted("the server did not open the active data connection"))
            readerPromise.fail(FTPClientError.transferAborted("the server did not open the active data connection"))
        }
        return FTPDataConnection(
            endpoint: .listening(server: server, accepted: acceptedPromise.futureResult), readers: readerPromise.futureResult)
    }

    /// The data pipeline: TLS (resuming the control connection's session) when the session is
    /// protected, the stall detector, the reader.
    private static func configure(
        _ channel: any Channel, control: FTPControlConnection, direction: Direction
    ) throws -> NIOLoopBound<FTPDataReader> {
        let operations = channel.pipeline.syncOperations
        if let tls = control.tls {
            try operations.addHandler(
                OpenSSLClientHandler(
                    context: tls.context, serverHostname: control.options.host, resuming: tls.sessions.latest,
                    logger: control.logger))
        }
        let timeout = control.options.dataTimeout
        switch direction {
        case .receiving: try operations.addHandler(IdleStateHandler(readTimeout: timeout))
        case .sending: try operations.addHandler(IdleStateHandler(writeTimeout: timeout))
        }
        let reader = FTPDataReader(stallTimeout: timeout)
        try operations.addHandler(reader)
        return NIOLoopBound(reader, eventLoop: channel.eventLoop)
    }
}
