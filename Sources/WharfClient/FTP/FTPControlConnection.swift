import FTPProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization
import WharfTLS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One logged-in FTP control connection. It carries one command (or one transfer) at a time: the
/// `FTPClient` pool hands it to one task at a time. A connection whose conversation went wrong
/// (a reply timed out, the server closed it) is marked `isBroken` and not used again.
final class FTPControlConnection: Sendable {
    let channel: any Channel
    let options: FTPConnectionOptions
    let logger: Logger
    let features: FTPFeatures
    /// The login directory (PWD), restored after a CWD used to probe for a directory.
    let homeDirectory: String?
    /// TLS for data connections: the context and the control connection's sessions to resume.
    let tls: (context: TLSClientContext, sessions: TLSSessionBox)?
    private let receiver: NIOLoopBound<FTPReplyReceiver>
    private let state = Mutex(State())

    private struct State {
        var broken = false
        var extendedPassiveRefused = false
        var extendedPortRefused = false
    }

    var isBroken: Bool { self.state.withLock { $0.broken } }
    var eventLoop: any EventLoop { self.channel.eventLoop }

    private init(
        channel: any Channel, receiver: NIOLoopBound<FTPReplyReceiver>, options: FTPConnectionOptions, logger: Logger,
        features: FTPFeatures, homeDirectory: String?, tls: (context: TLSClientContext, sessions: TLSSessionBox)?
    ) {
        self.channel = channel
        self.receiver = receiver
        self.options = options
        self.logger = logger
        self.features = features
        self.homeDirectory = homeDirectory
        self.tls = tls
    }

    // MARK: Connecting and logging in

    /// Connects, protects the session as `options.security` says, logs in and sets binary mode,
    /// all within `options.connectTimeout`.
    static func connect(
        _ options: FTPConnectionOptions, tlsContext: TLSClientContext?, logger: Logger
    ) async throws -> FTPControlConnection {
        let deadline = NIODeadline.now() + options.connectTimeout
        let where_ = Self.endpointText(options.host, options.port)
        let sessions = TLSSessionBox()
        let handshake: EventLoopFuture<TLSClientHandshakeCompleted>?
        let channel: any Channel
        var receiverPromise: EventLoopPromise<NIOLoopBound<FTPReplyReceiver>>? = nil
        do {
            let group = MultiThreadedEventLoopGroup.singleton
            let eventLoop = group.next()
            receiverPromise = eventLoop.makePromise(of: NIOLoopBound<FTPReplyReceiver>.self)
            let receiverPromise = receiverPromise
            let handshakePromise = eventLoop.makePromise(of: TLSClientHandshakeCompleted.self)
            let implicitContext = options.security == .implicitTLS ? tlsContext : nil
            handshake = implicitContext == nil ? nil : handshakePromise.futureResult
            if implicitContext == nil { handshakePromise.succeed(TLSClientHandshakeCompleted(resumed: false, protocolVersion: "", cipher: "")) }
            let host = options.host
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(options.connectTimeout)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitContext {
                            try channel.pipeline.syncOperations.addHandler(
                                OpenSSLClientHandler(
                                    context: implicitContext, serverHostname: host, sessions: sessions,
                                    handshakePromise: handshakePromise, logger: logger))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FTPReplyDecoder()))
                        let receiver = FTPReplyReceiver()
                        try channel.pipeline.syncOperations.addHandler(receiver)
                        receiverPromise?.succeed(NIOLoopBound(receiver, eventLoop: channel.eventLoop))
                    }
                }
                .connect(host: options.host, port: options.port).get()
        } catch let error as ChannelError where error == .connectTimeout(options.connectTimeout) {
            receiverPromise?.fail(error)
            throw FTPClientError.timedOut("connecting to \(where_)")
        } catch {
            receiverPromise?.fail(error)
            throw FTPClientError.connectFailed(host: options.host, port: options.port, reason: Self.reason(error))
        }
        guard let receiver = try await receiverPromise?.futureResult.get() else { throw FTPClientError.connectionClosed }
        let connection = FTPControlConnection(
            channel: channel, receiver: receiver, options: options,
            logger: logger, features: FTPFeatures(), homeDirectory: nil, tls: nil)
        do {
            if let handshake {
                let completed = try await handshake.get()
                logger.debug("FTP control TLS: \(completed.protocolVersion) \(completed.cipher)")
            }
            return try await connection.logIn(deadline: deadline, tlsContext: tlsContext, sessions: sessions)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The rest of `connect` after TCP (and implicit TLS): greeting, AUTH TLS, login, PBSZ/PROT,
    /// FEAT, TYPE I, PWD. Returns a connection carrying what was learnt.
    private func logIn(
        deadline: NIODeadline, tlsContext: TLSClientContext?, sessions: TLSSessionBox
    ) async throws -> FTPControlConnection {
        let server = Self.endpointText(self.options.host, self.options.port)
        var greeting = try await self.reply(to: "the greeting of \(server)", deadline: deadline)
        while greeting.code == 120 {
            greeting = try await self.reply(to: "the greeting of \(server)", deadline: deadline)
        }
        guard greeting.code == 220 else {
            throw FTPClientError.refused(command: "connect", path: nil, code: greeting.code, text: Self.text(greeting))
        }

        if self.options.security == .explicitTLS, let tlsContext {
            let reply = try await self.execute("AUTH TLS", deadline: deadline)
            guard reply.code == 234 else { throw FTPClientError.tlsRefused(code: reply.code, text: Self.text(reply)) }
            let promise = self.channel.eventLoop.makePromise(of: TLSClientHandshakeCompleted.self)
            let host = self.options.host
            let logger = self.logger
            try await self.channel.eventLoop.submit {
                try self.channel.pipeline.syncOperations.addHandler(
                    OpenSSLClientHandler(
                        context: tlsContext, serverHostname: host, sessions: sessions, handshakePromise: promise,
                        logger: logger),
                    position: .first)
            }.get()
            let completed = try await promise.futureResult.get()
            self.logger.debug("FTP control TLS: \(completed.protocolVersion) \(completed.cipher)")
        }

        let user = try await self.execute("USER \(self.options.loginName)", deadline: deadline)
        switch user.code {
        case 230:
            break
        case 331, 332:
            let password = try await self.execute("PASS \(self.options.loginPassword)", deadline: deadline, logAs: "PASS ****")
            guard password.code == 230 || password.code == 202 else {
                throw FTPClientError.loginFailed(code: password.code, text: Self.text(password))
            }
        default:
            throw FTPClientError.loginFailed(code: user.code, text: Self.text(user))
        }

        let protected = self.options.security != .none && tlsContext != nil
        if protected {
            for command in ["PBSZ 0", "PROT P"] {
                let reply = try await self.execute(command, deadline: deadline)
                guard reply.code / 100 == 2 else { throw FTPClientError.tlsRefused(code: reply.code, text: Self.text(reply)) }
            }
        }

        var features = FTPFeatures()
        let feat = try await self.execute("FEAT", deadline: deadline)
        if feat.code == 211 { features = FTPFeatures(featReplyLines: feat.lines) }
        if features.utf8 { _ = try await self.execute("OPTS UTF8 ON", deadline: deadline) }
        if let selection = features.machineListingFactsToSelect {
            // pyftpdlib, for one, lists unix.mode only when asked.
            _ = try await self.execute("OPTS MLST \(selection)", deadline: deadline)
        }
        let type = try await self.execute("TYPE I", deadline: deadline)
        guard type.code / 100 == 2 else {
            throw FTPClientError.refused(command: "TYPE I", path: nil, code: type.code, text: Self.text(type))
        }
        var home: String? = nil
        let pwd = try await self.execute("PWD", deadline: deadline)
        if pwd.code == 257 { home = Self.quotedPath(in: Self.text(pwd)) }
        self.logger.debug("FTP logged in to \(server) as \(self.options.loginName); features: \(features.parameters.keys.sorted().joined(separator: " "))")
        return FTPControlConnection(
            channel: self.channel, receiver: self.receiver, options: self.options, logger: self.logger,
            features: features, homeDirectory: home, tls: protected ? tlsContext.map { ($0, sessions) } : nil)
    }

    // MARK: Commands

    /// Sends one command line. Commands must not hold CR or LF (checked by `checkedPath`).
    func send(_ line: String, logAs: String? = nil) async throws {
        self.logger.debug("FTP > \(logAs ?? line)")
        var buffer = self.channel.allocator.buffer(capacity: line.utf8.count + 2)
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        do {
            try await self.channel.writeAndFlush(buffer)
        } catch {
            self.markBroken()
            throw FTPClientError.connectionClosed
        }
    }

    /// The next reply, within `options.replyTimeout` (or by `deadline` when that is sooner).
    func reply(to what: String, deadline: NIODeadline? = nil) async throws -> FTPReply {
        let timeout = deadline.map { min(self.options.replyTimeout, max($0 - .now(), .milliseconds(1))) } ?? self.options.replyTimeout
        let receiver = self.receiver
        let eventLoop = self.channel.eventLoop
        do {
            let reply = try await eventLoop.flatSubmit {
                receiver.value.nextReply(timeout: timeout, what: "waiting for \(what)", eventLoop: eventLoop)
            }.get()
            self.logger.debug("FTP < \(reply.code) \(reply.lines.joined(separator: " | "))")
            return reply
        } catch {
            self.markBroken()
            throw error
        }
    }

    /// Sends a command and returns its final reply (preliminary 1yz replies are skipped).
    @discardableResult
    func execute(_ line: String, deadline: NIODeadline? = nil, logAs: String? = nil) async throws -> FTPReply {
        try await self.send(line, logAs: logAs)
        let verb = (logAs ?? line).prefix { $0 != " " }
        var reply = try await self.reply(to: "the reply to \(verb)", deadline: deadline)
        while reply.isPreliminary {
            reply = try await self.reply(to: "the reply to \(verb)", deadline: deadline)
        }
        if reply.code == 421 { self.markBroken() }
        return reply
    }

    /// Runs a command that must succeed with a 2yz (or 3yz, when `intermediate`) reply; anything else
    /// is `FTPClientError.refused` naming `path`.
    @discardableResult
    func require(_ verb: String, _ argument: String? = nil, path: String? = nil, intermediate: Bool = false) async throws -> FTPReply {
        let line = argument.map { "\(verb) \($0)" } ?? verb
        let reply = try await self.execute(line)
        let expected = intermediate ? 3 : 2
        guard reply.code / 100 == expected else {
            if reply.code == 421 { throw FTPClientError.connectionClosed }
            throw FTPClientError.refused(command: verb, path: path, code: reply.code, text: Self.text(reply))
        }
        return reply
    }

    /// Whether the connection can carry the next command: still open, and nothing came while it
    /// sat idle in the pool but perhaps a farewell (421), which makes it unusable.
    func checkIdle() async -> Bool {
        guard !self.isBroken, self.channel.isActive else { return false }
        let receiver = self.receiver
        let unsolicited = try? await self.channel.eventLoop.submit { () -> (replies: [FTPReply], failed: Bool) in
            (receiver.value.takeUnsolicited(), receiver.value.isFailed)
        }.get()
        guard let unsolicited, !unsolicited.failed else {
            self.markBroken()
            return false
        }
        for reply in unsolicited.replies {
            self.logger.debug("FTP < \(reply.code) \(reply.lines.joined(separator: " | ")) (while idle)")
            if reply.code == 421 { self.markBroken() }
        }
        return !self.isBroken
    }

    func markBroken() {
        self.state.withLock { $0.broken = true }
    }

    var extendedPassiveRefused: Bool {
        get { self.state.withLock { $0.extendedPassiveRefused } }
    }

    func refuseExtendedPassive() { self.state.withLock { $0.extendedPassiveRefused = true } }

    var extendedPortRefused: Bool {
        get { self.state.withLock { $0.extendedPortRefused } }
    }

    func refuseExtendedPort() { self.state.withLock { $0.extendedPortRefused = true } }

    /// QUIT (briefly, when the connection is healthy) and close.
    func close() async {
        if !self.isBroken, self.channel.isActive {
            do {
                try await self.send("QUIT")
                _ = try? await self.reply(to: "the reply to QUIT", deadline: .now() + .seconds(2))
            } catch {}
        }
        try? await self.channel.close()
    }

    // MARK: Text helpers

    /// A path as a command argument; FTP cannot carry CR or LF.
    static func checkedPath(_ path: String) throws -> String {
        guard !path.contains("\r"), !path.contains("\n") else { throw FTPClientError.unusablePath(path) }
        return path
    }

    /// The reply's text on one line.
    static func text(_ reply: FTPReply) -> String {
        reply.lines.joined(separator: " ").trimmingSpaces()
    }

    /// The path in `257 "path" ...`, with doubled quotes undone.
    static func quotedPath(in text: String) -> String? {
        guard let open = text.firstIndex(of: "\"") else { return nil }
        var path = ""
        var index = text.index(after: open)
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if character == "\"" {
                if index < text.endIndex, text[index] == "\"" {
                    path.append("\"")
                    index = text.index(after: index)
                    continue
                }
                return path
            }
            path.append(character)
        }
        return nil
    }

    static func endpointText(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// A connection error in a few words ("connection refused").
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return Self.reason(first.error)
        }
        return "\(error)"
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
