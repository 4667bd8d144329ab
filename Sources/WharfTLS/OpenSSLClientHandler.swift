import COpenSSL
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Fired as a user inbound event once the handshake is done.
public struct TLSClientHandshakeCompleted: Sendable, Hashable {
    /// The server accepted the session offered with `resuming:`.
    public var resumed: Bool
    /// "TLSv1.3", "TLSv1.2".
    public var protocolVersion: String
    /// OpenSSL's name, e.g. "TLS_AES_256_GCM_SHA384".
    public var cipher: String

    public init(resumed: Bool, protocolVersion: String, cipher: String) {
        self.resumed = resumed
        self.protocolVersion = protocolVersion
        self.cipher = cipher
    }
}

/// The client side of TLS on OpenSSL BIOs: OpenSSL reads the bytes from the socket through a BIO over
/// the received buffers (`TLSInputBIO`) and writes its records into a memory BIO. Unlike NIOSSL it can resume a session, which FTPS servers demand on
/// data connections (vsftpd `require_ssl_reuse`, FileZilla Server, ProFTPD `TLSOptions` without
/// `NoSessionReuseRequired`).
///
/// Put it first in the pipeline: in the bootstrap's initializer (the handshake starts on `channelActive`)
/// or, after `AUTH TLS` / 234, at `.first` of an active control channel (it starts in `handlerAdded`).
/// Writes before the handshake completes are held and sent after it; if it fails they fail with the
/// handshake's error, which is also fired through `errorCaught` and fails `handshakePromise`.
///
/// Events:
/// - handshake done: user event `TLSClientHandshakeCompleted`, and `handshakePromise` succeeds.
/// - the server's close_notify: user event `ChannelEvent.inputClosed` (a clean end of input), then the
///   handler answers with its own close_notify (unless it sent one) and closes the channel;
///   `channelInactive` follows without an error.
/// - TCP end without close_notify while this side had not closed either: `errorCaught(TLSClientError
///   .uncleanShutdown)` before `channelInactive` — what was received may be truncated. Once this side
///   has sent close_notify, a bare TCP close is not an error.
///
/// Closing:
/// - `close(mode: .all)` sends close_notify, waits `closeNotifyTimeout` (default 0) for the server's,
///   and closes the connection.
/// - `close(mode: .output)` sends close_notify and half-closes TCP (how an FTPS upload ends); input
///   stays open for the server's reply.
/// - Either, during the handshake, waits for it when writes are held (or for `.output`); `.all` with
///   nothing held aborts at once.
///
/// Sessions: every session the server issues on this connection is stored in `sessions`; the newest is
/// `sessions.latest`. Hold on to the box to resume this connection's session on another one.
public final class OpenSSLClientHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// The sessions this connection receives.
    public let sessions: TLSSessionBox

    private let tlsContext: TLSClientContext
    private let serverHostname: String?
    private let resumeSession: TLSSession?
    /// nil once completed.
    private var handshakePromise: EventLoopPromise<TLSClientHandshakeCompleted>?
    private let logger: Logger?

    private enum State {
        /// Added, channel not active yet.
        case idle
        case handshaking
        case open
        /// The connection failed or ended; the TLS objects are of no further use.
        case finished
    }

    private var state: State = .idle
    private var ssl: OpaquePointer?
    private var readBIO: OpaquePointer?
    /// What the read BIO hands to OpenSSL: the received buffers themselves.
    private let input = TLSInputQueue()
    private var writeBIO: OpaquePointer?

    /// Why the connection failed, for writes that come after.
    private var failure: TLSClientError?
    private var sentCloseNotify = false
    private var receivedCloseNotify = false
    /// `close(mode: .all)` is under way: the final TCP close waits for the write of our close_notify
    /// (and the peer's, within `closeNotifyTimeout`).
    private var closingAll = false
    private var closePromises: [EventLoopPromise<Void>] = []

    /// Held until the handshake completes.
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var heldFlush = false
    /// A close asked for during the handshake (`.all` wins over `.output`), and who waits for it.
    private var heldCloseMode: CloseMode?
    private var heldClosePromises: [EventLoopPromise<Void>] = []

    private var handshakeTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var producedPlaintext = false
    private var readRequested = false

    /// - Parameters:
    ///   - serverHostname: the name (or IP address) the caller connected to: the certificate must match
    ///     it unless the trust is `.insecure`, and DNS names are sent as SNI. nil: the chain is verified
    ///     but no name is checked.
    ///   - session: a session of an earlier connection (e.g. the FTPS control connection's
    ///     `sessions.latest`) to offer for resumption.
    ///   - sessions: where this connection's own sessions go; pass your own to keep a reference.
    ///   - handshakePromise: succeeds with the handshake's result, fails with its error.
    public init(
        context: TLSClientContext,
        serverHostname: String?,
        resuming session: TLSSession? = nil,
        sessions: TLSSessionBox = TLSSessionBox(),
        handshakePromise: EventLoopPromise<TLSClientHandshakeCompleted>? = nil,
        logger: Logger? = nil
    ) {
        self.tlsContext = context
        self.serverHostname = serverHostname
        self.resumeSession = session
        self.sessions = sessions
        self.handshakePromise = handshakePromise
        self.logger = logger
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    /// The newest session the server issued on this connection.
    public var latestSession: TLSSession? { sessions.latest }

    // MARK: - Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        do {
            try makeConnection()
        } catch {
            fail(context: context, error: error as? TLSClientError ?? .resourceFailure("\(error)"))
            return
        }
        if context.channel.isActive {
            startHandshake(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        let error = TLSClientError.closedDuringHandshake
        failHandshakePromise(error)
        failHeldWrites(error)
        succeedHeldClose()
        let promises = closePromises
        closePromises = []
        for promise in promises { promise.succeed() }
        state = .finished
        if let ssl {
            SSL_free(ssl)  // frees both BIOs too
            self.ssl = nil
            readBIO = nil
            writeBIO = nil
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        if state == .idle {
            startHandshake(context: context)
        }
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        switch state {
        case .idle, .handshaking:
            state = .finished
            let error = TLSClientError.closedDuringHandshake
            failHandshakePromise(error)
            failHeldWrites(error)
            succeedHeldClose()
            context.fireErrorCaught(error)
        case .open:
            state = .finished
            if !receivedCloseNotify && !sentCloseNotify {
                context.fireErrorCaught(TLSClientError.uncleanShutdown)
            }
        case .finished:
            break
        }
        let promises = closePromises
        closePromises = []
        for promise in promises { promise.succeed() }
        context.fireChannelInactive()
    }

    // MARK: - Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After the peer's close_notify nothing more is read (the channel is closing).
        guard state == .handshaking || state == .open, !receivedCloseNotify, readBIO != nil else { return }
        input.append(unwrapInboundIn(data))
        switch state {
        case .handshaking: handshakeStep(context: context)
        case .open: readPlaintext(context: context)
        case .idle, .finished: break
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if producedPlaintext {
            producedPlaintext = false
            readRequested = false
            context.fireChannelReadComplete()
        } else if readRequested, state == .open || state == .handshaking {
            // The bytes were only TLS records (tickets, a partial record): what asked for a read still
            // waits for data.
            context.read()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // TCP half-closed by the peer (only with allowRemoteHalfClosure).
        switch state {
        case .idle, .handshaking:
            fail(context: context, error: .closedDuringHandshake)
        case .open:
            if receivedCloseNotify { return }  // already reported as inputClosed
            state = .finished
            if !sentCloseNotify {
                context.fireErrorCaught(TLSClientError.uncleanShutdown)
            }
            context.close(promise: nil)
        case .finished:
            break
        }
    }

    // MARK: - Outbound

    public func read(context: ChannelHandlerContext) {
        readRequested = true
        context.read()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            if heldCloseMode != nil {
                promise?.fail(TLSClientError.writeAfterClose)
            } else {
                heldWrites.append((bytes, promise))
            }
        case .open:
            encrypt(context: context, bytes, promise: promise)
        case .finished:
            promise?.fail(failure ?? ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking: heldFlush = true
        case .open, .finished: context.flush()
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch (state, mode) {
        case (_, .input), (.idle, _), (.finished, _):
            if mode == .all {
                state = .finished
                failHandshakePromise(TLSClientError.closedDuringHandshake)
            }
            context.close(mode: mode, promise: promise)
        case (.handshaking, .all) where heldWrites.isEmpty && heldCloseMode == nil:
            state = .finished
            cancelTimers()
            failHandshakePromise(TLSClientError.closedDuringHandshake)
            context.close(mode: .all, promise: promise)
        case (.handshaking, _):
            heldCloseMode = heldCloseMode == .all ? .all : mode
            if let promise { heldClosePromises.append(promise) }
        case (.open, .output):
            closeOutput(context: context, promise: promise)
        case (.open, .all):
            closeAll(context: context, promise: promise)
        case (.open, _):
            context.close(mode: mode, promise: promise)
        }
    }

    // MARK: - Handshake

    private func makeConnection() throws {
        guard let ssl = SSL_new(tlsContext.sslContext) else {
            throw TLSClientError.resourceFailure(drainOpenSSLErrors(fallback: "SSL_new failed"))
        }
        guard let readBIO = TLSInputBIO.make(reading: input) else {
            SSL_free(ssl)
            throw TLSClientError.resourceFailure("cannot allocate the input BIO")
        }
        guard let writeBIO = wharf_BIO_new_retrying_mem() else {
            BIO_free(readBIO)
            SSL_free(ssl)
            throw TLSClientError.resourceFailure("cannot allocate a memory BIO")
        }
        SSL_set_bio(ssl, readBIO, writeBIO)  // the SSL owns both BIOs from here
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        SSL_set_connect_state(ssl)
        // Unretained: the handler keeps the box alive for as long as the SSL exists.
        _ = SSL_set_ex_data(ssl, sessionBoxIndex, Unmanaged.passUnretained(sessions).toOpaque())

        if let resumeSession {
            offer(resumeSession, on: ssl)
        }

        guard let host = serverHostname.map(Self.normalizedHost), !host.isEmpty else { return }
        let isAddress = Self.isIPAddress(host)
        if tlsContext.configuration.trust != .insecure {
            if isAddress {
                guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else {
                    throw TLSClientError.configuration("cannot check the certificate for address \(host)")
                }
            } else {
                SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                guard SSL_set1_host(ssl, host) == 1 else {
                    throw TLSClientError.configuration("cannot check the certificate for host name \(host)")
                }
            }
        }
        if !isAddress {
            let sniName = host.hasSuffix(".") ? String(host.dropLast()) : host
            guard wharf_SSL_set_tlsext_host_name(ssl, sniName) == 1 else {
                throw TLSClientError.configuration("invalid server name \(sniName)")
            }
        }
    }

    /// Offers a copy: a TLS 1.3 client with a session cache marks the session it resumed as used up
    /// (RFC 8446 advises single-use tickets), and FTPS resumes the control connection's session on every
    /// data connection. Servers that issue reusable tickets (OpenSSL's, so vsftpd's and ProFTPD's) resume
    /// the copy each time. Failure is not fatal: the handshake is then a full one.
    private func offer(_ session: TLSSession, on ssl: OpaquePointer) {
        ERR_clear_error()
        guard let copy = SSL_SESSION_dup(session.pointer) else {
            logger?.debug("TLS session not offered: \(drainOpenSSLErrors(fallback: "SSL_SESSION_dup failed"))")
            return
        }
        if SSL_set_session(ssl, copy) != 1 {  // takes its own reference
            logger?.debug("TLS session not offered: \(drainOpenSSLErrors(fallback: "SSL_set_session failed"))")
        }
        SSL_SESSION_free(copy)
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard ssl != nil else { return }
        state = .handshaking
        if let timeout = tlsContext.configuration.handshakeTimeout {
            handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                guard state == .handshaking else { return }
                fail(context: context, error: .handshakeTimeout)
            }
        }
        handshakeStep(context: context)
    }

    private func handshakeStep(context: ChannelHandlerContext) {
        guard let ssl else { return }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            sendOutput(context: context, promise: nil)
            handshakeCompleted(context: context, ssl: ssl)
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            sendOutput(context: context, promise: nil)
            context.read()
        default:
            let error = handshakeError(ssl)
            sendOutput(context: context, promise: nil)  // our alert, if OpenSSL made one
            fail(context: context, error: error)
        }
    }

    private func handshakeError(_ ssl: OpaquePointer) -> TLSClientError {
        let queue = drainOpenSSLErrors(fallback: "the connection failed")
        let verify = SSL_get_verify_result(ssl)
        if tlsContext.configuration.trust != .insecure && verify != Int(X509_V_OK) {
            if verify == Int(X509_V_ERR_HOSTNAME_MISMATCH) || verify == Int(X509_V_ERR_IP_ADDRESS_MISMATCH) {
                return .hostnameMismatch(serverHostname ?? "")
            }
            return .certificateVerificationFailed(String(cString: X509_verify_cert_error_string(verify)))
        }
        return .handshakeFailed(queue)
    }

    private func handshakeCompleted(context: ChannelHandlerContext, ssl: OpaquePointer) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        state = .open
        let cipher = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) }
        let completed = TLSClientHandshakeCompleted(
            resumed: SSL_session_reused(ssl) == 1,
            protocolVersion: protocolName(SSL_version(ssl)),
            cipher: cipher ?? "unknown"
        )
        logger?.debug(
            "TLS handshake done",
            metadata: [
                "tls.version": "\(completed.protocolVersion)", "tls.cipher": "\(completed.cipher)",
                "tls.resumed": "\(completed.resumed)",
            ])
        context.fireUserInboundEventTriggered(completed)
        if let promise = handshakePromise {
            handshakePromise = nil
            promise.succeed(completed)
        }

        let writes = heldWrites
        heldWrites = []
        for (bytes, promise) in writes {
            guard state == .open else {
                promise?.fail(ChannelError.ioOnClosedChannel)
                continue
            }
            encrypt(context: context, bytes, promise: promise)
        }
        if heldFlush || !writes.isEmpty {
            heldFlush = false
            context.flush()
        }
        if let mode = heldCloseMode {
            let promises = heldClosePromises
            heldCloseMode = nil
            heldClosePromises = []
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.assumeIsolated().whenComplete { result in
                for waiting in promises { waiting.completeWith(result) }
            }
            close(context: context, mode: mode, promise: promise)
        }
        // Application data may have come right behind the server's Finished.
        if state == .open {
            readPlaintext(context: context)
        }
    }

    // MARK: - Records

    /// Plaintext is delivered in buffers of up to this size (four TLS records).
    private static let plaintextBatch = 64 * 1024

    private func readPlaintext(context: ChannelHandlerContext) {
        let chunk = 16 * 1024
        // Room for a whole batch plus one record: SSL_read never makes the buffer grow (and copy).
        var plaintext = context.channel.allocator.buffer(capacity: Self.plaintextBatch + chunk)
        while let ssl, state == .open {
            ERR_clear_error()
            var result: Int32 = 0
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) { pointer in
                result = SSL_read(ssl, pointer.baseAddress, Int32(clamping: pointer.count))
                return result > 0 ? Int(result) : 0
            }
            if result > 0 {
                if plaintext.readableBytes >= Self.plaintextBatch {
                    deliver(context: context, &plaintext)
                }
                continue
            }
            let code = SSL_get_error(ssl, result)
            deliver(context: context, &plaintext)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                sendOutput(context: context, promise: nil)  // e.g. a KeyUpdate answer
            case SSL_ERROR_ZERO_RETURN:
                sendOutput(context: context, promise: nil)
                peerClosed(context: context)
            default:
                let reason = drainOpenSSLErrors(fallback: "SSL_read failed (\(code))")
                sendOutput(context: context, promise: nil)
                fail(context: context, error: .protocolFailure(reason))
            }
            return
        }
    }

    private func deliver(context: ChannelHandlerContext, _ plaintext: inout ByteBuffer) {
        guard plaintext.readableBytes > 0 else { return }
        producedPlaintext = true
        let bytes = plaintext
        plaintext = context.channel.allocator.buffer(capacity: Self.plaintextBatch + 16 * 1024)
        context.fireChannelRead(wrapInboundOut(bytes))
    }

    private func peerClosed(context: ChannelHandlerContext) {
        receivedCloseNotify = true
        logger?.debug("TLS close_notify received")
        if producedPlaintext {
            producedPlaintext = false
            context.fireChannelReadComplete()
        }
        context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        guard state == .open else { return }
        if closingAll {
            // close(mode: .all) waits for exactly this once its close_notify is written (the timer runs);
            // before that, the write's completion sees `receivedCloseNotify` and closes.
            if closeTimer != nil {
                finishClose(context: context)
            }
        } else {
            closeAll(context: context, promise: nil)
        }
    }

    private func encrypt(context: ChannelHandlerContext, _ bytes: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard let ssl, !sentCloseNotify else {
            promise?.fail(TLSClientError.writeAfterClose)
            return
        }
        guard bytes.readableBytes > 0 else {
            context.write(wrapOutboundOut(bytes), promise: promise)
            return
        }
        ERR_clear_error()
        let written = bytes.withUnsafeReadableBytes { pointer -> Int32 in
            // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write takes everything or fails; a memory BIO
            // never pushes back.
            SSL_write(ssl, pointer.baseAddress, Int32(clamping: pointer.count))
        }
        if written > 0 && Int(written) == bytes.readableBytes {
            sendOutput(context: context, promise: promise, flush: false)
            return
        }
        let reason = drainOpenSSLErrors(fallback: "SSL_write failed (\(SSL_get_error(ssl, written)))")
        let error = TLSClientError.protocolFailure(reason)
        promise?.fail(error)
        fail(context: context, error: error)
    }

    /// Writes whatever OpenSSL has put into the write BIO, flushing unless told not to.
    private func sendOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?, flush: Bool = true) {
        guard let writeBIO else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let pending = wharf_BIO_ctrl_pending(writeBIO)
        guard pending > 0 else {
            promise?.succeed()
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: Int(pending))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(pending)) { pointer in
            let count = BIO_read(writeBIO, pointer.baseAddress, Int32(clamping: min(Int(pending), pointer.count)))
            return count > 0 ? Int(count) : 0
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
        if flush {
            context.flush()
        }
    }

    // MARK: - Closing

    /// Puts our close_notify on the wire; the returned future completes when it has been written.
    private func sendCloseNotify(context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let promise = context.eventLoop.makePromise(of: Void.self)
        guard let ssl, !sentCloseNotify else {
            promise.succeed()
            return promise.futureResult
        }
        sentCloseNotify = true
        ERR_clear_error()
        if SSL_shutdown(ssl) < 0 {
            logger?.debug("TLS close_notify: \(drainOpenSSLErrors(fallback: "SSL_shutdown failed"))")
        }
        sendOutput(context: context, promise: promise)
        return promise.futureResult
    }

    private func closeOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        sendCloseNotify(context: context).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: promise)
        }
    }

    private func closeAll(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if let promise { closePromises.append(promise) }
        guard !closingAll else { return }
        closingAll = true
        let written = sendCloseNotify(context: context)
        let timeout = tlsContext.configuration.closeNotifyTimeout
        written.assumeIsolated().whenComplete { [self] _ in
            guard state == .open else { return }
            if receivedCloseNotify || timeout <= .zero {
                finishClose(context: context)
            } else {
                closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                    guard state == .open else { return }
                    logger?.debug("TLS: no close_notify from the peer within \(timeout)")
                    finishClose(context: context)
                }
            }
        }
    }

    private func finishClose(context: ChannelHandlerContext) {
        state = .finished
        cancelTimers()
        let promises = closePromises
        closePromises = []
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { result in
            for waiting in promises {
                switch result {
                case .success: waiting.succeed()
                case .failure(ChannelError.alreadyClosed): waiting.succeed()
                case .failure(let error): waiting.fail(error)
                }
            }
        }
        context.close(mode: .all, promise: promise)
    }

    private func fail(context: ChannelHandlerContext, error: TLSClientError) {
        guard state != .finished else { return }
        state = .finished
        failure = error
        cancelTimers()
        logger?.debug("TLS failure: \(error)")
        failHandshakePromise(error)
        failHeldWrites(error)
        succeedHeldClose()
        context.fireErrorCaught(error)
        let promises = closePromises
        closePromises = []
        let close = context.eventLoop.makePromise(of: Void.self)
        close.futureResult.assumeIsolated().whenComplete { _ in
            for promise in promises { promise.succeed() }
        }
        context.close(mode: .all, promise: close)
    }

    private func failHandshakePromise(_ error: TLSClientError) {
        if let promise = handshakePromise {
            handshakePromise = nil
            promise.fail(error)
        }
    }

    private func failHeldWrites(_ error: Error) {
        let writes = heldWrites
        heldWrites = []
        for (_, promise) in writes { promise?.fail(error) }
    }

    private func succeedHeldClose() {
        let promises = heldClosePromises
        heldCloseMode = nil
        heldClosePromises = []
        for promise in promises { promise.succeed() }
    }

    private func cancelTimers() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        closeTimer?.cancel()
        closeTimer = nil
    }

    // MARK: - Names

    /// "[::1]" → "::1"; otherwise unchanged.
    static func normalizedHost(_ host: String) -> String {
        if host.hasPrefix("["), host.hasSuffix("]") {
            return String(host.dropFirst().dropLast())
        }
        return host
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }
}
