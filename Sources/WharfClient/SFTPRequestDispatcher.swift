import Logging
import NIOCore
import SFTPProtocol
import Synchronization

/// Matches replies to requests by id: sends framed requests, reads the server's packets in one
/// reader task, and hands each reply to whoever awaits it.
///
/// A request's slot lives from `send` until its reply is taken with `reply(to:)` (or it is
/// `abandon`ed). Replies may arrive in any order and before anyone awaits them; they wait in their
/// slot. When the server's stream ends or fails, every outstanding request fails with
/// `SFTPClientError.connectionClosed`.
final class SFTPRequestDispatcher: Sendable {
    typealias Send = @Sendable (ByteBuffer) async throws -> Void
    typealias Reply = Result<SFTPResponse, SFTPClientError>

    private enum Slot {
        /// Sent; neither answered nor awaited yet.
        case sent
        /// Sent and awaited.
        case waiting(CheckedContinuation<SFTPResponse, any Error>)
        /// Answered (or failed) before anyone awaited it.
        case arrived(Reply)
        /// Its sender no longer wants the reply; dropped when it comes.
        case abandoned
    }

    private enum Handshake {
        case expecting
        case waiting(CheckedContinuation<SFTPResponse, any Error>)
        case arrived(Reply)
        case done
    }

    private struct State {
        var nextID: UInt32 = 1
        var slots: [UInt32: Slot] = [:]
        var handshake = Handshake.expecting
        /// Once set, `send` throws it: `.closed` after `close()`, `.connectionClosed` after the stream ended.
        var refusal: SFTPClientError?
        var drainWaiters: [CheckedContinuation<Void, Never>] = []

        /// Requests the server still owes a reply to.
        var owed: Int {
            self.slots.values.count { slot in
                switch slot {
                case .sent, .waiting, .abandoned: return true
                case .arrived: return false
                }
            }
        }
    }

    /// Side effects decided under the lock and run after it.
    private struct Wakeups {
        var resume: [(CheckedContinuation<SFTPResponse, any Error>, Reply)] = []
        var drained: [CheckedContinuation<Void, Never>] = []

        func run() {
            for (continuation, reply) in self.resume { continuation.resume(with: reply.mapError { $0 as any Error }) }
            for waiter in self.drained { waiter.resume() }
        }
    }

    private let state = Mutex(State())
    private let reader = Mutex<Task<Void, Never>?>(nil)
    private let sendPacket: Send
    private let logger: Logger

    init(send: @escaping Send, logger: Logger) {
        self.sendPacket = send
        self.logger = logger
    }

    /// Starts the one reader task; `close()` ends and awaits it.
    func start<Packets: AsyncSequence & Sendable>(
        reading packets: Packets, executor: (any TaskExecutor)? = nil
    ) where Packets.Element == SFTPPacket {
        let task = Task(executorPreference: executor) {
            do {
                for try await packet in packets {
                    self.deliver(packet)
                }
                self.logger.debug("SFTP server stream ended")
            } catch {
                self.logger.debug("SFTP server stream failed: \(error)")
            }
            self.fail(with: .connectionClosed)
        }
        self.reader.withLock { $0 = task }
    }

    // MARK: Requests

    /// Sends INIT and returns the server's VERSION.
    func handshake(version: UInt32) async throws -> SFTPResponse {
        var packet = ByteBuffer()
        packet.writeSFTPRequest(.initialize(version: version))
        try await self.sendPacket(packet)
        // Unlike replies to requests, the handshake may be given up: a server that never answers
        // INIT would otherwise hold `connect` forever.
        return try await withTaskCancellationHandler {
            try await self.awaitHandshake()
        } onCancel: {
            self.fail(with: .closed)
        }
    }

    private func awaitHandshake() async throws -> SFTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Reply? = self.state.withLock { state in
                switch state.handshake {
                case .expecting:
                    state.handshake = .waiting(continuation)
                    return nil
                case .arrived(let reply):
                    state.handshake = .done
                    return reply
                case .waiting, .done:
                    return .failure(.unexpectedReply("a second handshake"))
                }
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }

    /// Sends one request under a fresh id and returns the id; await the reply with `reply(to:)`.
    func send(_ build: (UInt32) -> SFTPRequest) async throws -> UInt32 {
        let id = try self.state.withLock { state throws(SFTPClientError) -> UInt32 in
            if let refusal = state.refusal { throw refusal }
            var id = state.nextID
            while state.slots[id] != nil { id &+= 1 }
            state.nextID = id &+ 1
            state.slots[id] = .sent
            return id
        }
        let request = build(id)
        var packet = ByteBuffer()
        packet.writeSFTPRequest(request)
        self.logger.trace("SFTP request \(request.packetType) id \(id)")
        do {
            try await self.sendPacket(packet)
        } catch {
            self.withdraw(id)
            throw error
        }
        return id
    }

    /// Waits for the reply to a request sent with `send`. Not cancellable: the server owes the reply,
    /// and the connection's end fails it.
    func reply(to id: UInt32) async throws -> SFTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Reply? = self.state.withLock { state in
                switch state.slots[id] {
                case .sent:
                    state.slots[id] = .waiting(continuation)
                    return nil
                case .arrived(let reply):
                    state.slots[id] = nil
                    return reply
                case .waiting, .abandoned, nil:
                    return .failure(.unexpectedReply("no request \(id) to await"))
                }
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }

    /// Sends a request and waits for its reply.
    func request(_ build: (UInt32) -> SFTPRequest) async throws -> SFTPResponse {
        let id = try await self.send(build)
        return try await self.reply(to: id)
    }

    /// Gives up on a reply: it is dropped when it comes.
    func abandon(_ id: UInt32) {
        let wakeups = self.state.withLock { state -> Wakeups in
            switch state.slots[id] {
            case .sent: state.slots[id] = .abandoned
            case .arrived: state.slots[id] = nil
            case .waiting, .abandoned, nil: break
            }
            return Self.drainIfDone(&state)
        }
        wakeups.run()
    }

    /// Requests the server still owes a reply to (for tests and logs).
    var outstandingCount: Int { self.state.withLock { $0.owed } }

    // MARK: Closing

    /// Refuses new requests, waits until the server has answered every request sent (or, if the
    /// calling task is cancelled, fails them), then ends the reader task and awaits it.
    func close() async {
        self.state.withLock { state in
            if state.refusal == nil { state.refusal = .closed }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let done = self.state.withLock { state in
                    if state.owed == 0 { return true }
                    state.drainWaiters.append(waiter)
                    return false
                }
                if done { waiter.resume() }
            }
        } onCancel: {
            self.fail(with: .closed)
        }
        let task = self.reader.withLock { $0 }
        task?.cancel()
        await task?.value
        self.fail(with: .closed)
    }

    // MARK: Reader side

    private func deliver(_ framed: SFTPPacket) {
        let response: SFTPResponse
        let packet = framed.bytes
        do {
            response = try SFTPResponse(packet: framed)
        } catch {
            self.logger.notice("undecodable SFTP reply: \(error)")
            if let id = SFTPResponse.peekID(packet: packet) {
                self.resolve(id, with: .failure(.malformedReply(error)))
            } else if packet.getInteger(at: packet.readerIndex, as: UInt8.self) == SFTPPacketType.version.rawValue {
                self.resolveHandshake(with: .failure(.malformedReply(error)))
            }
            return
        }
        if let id = response.id {
            self.resolve(id, with: .success(response))
        } else {
            self.resolveHandshake(with: .success(response))
        }
    }

    private func resolve(_ id: UInt32, with reply: Reply) {
        let (wakeups, known) = self.state.withLock { state -> (Wakeups, Bool) in
            var wakeups = Wakeups()
            switch state.slots[id] {
            case .sent:
                state.slots[id] = .arrived(reply)
            case .waiting(let continuation):
                state.slots[id] = nil
                wakeups.resume.append((continuation, reply))
            case .abandoned:
                state.slots[id] = nil
            case .arrived, nil:
                return (wakeups, false)
            }
            wakeups.drained = Self.drainIfDone(&state).drained
            return (wakeups, true)
        }
        if !known { self.logger.notice("SFTP reply to unknown request id \(id) dropped") }
        wakeups.run()
    }

    private func resolveHandshake(with reply: Reply) {
        let continuation: CheckedContinuation<SFTPResponse, any Error>? = self.state.withLock { state in
            switch state.handshake {
            case .expecting:
                state.handshake = .arrived(reply)
                return nil
            case .waiting(let continuation):
                state.handshake = .done
                return continuation
            case .arrived, .done:
                return nil
            }
        }
        continuation?.resume(with: reply.mapError { $0 as any Error })
    }

    /// Fails every request still owed a reply, and the handshake, and refuses new requests.
    private func fail(with error: SFTPClientError) {
        let (wakeups, handshake) = self.state.withLock { state -> (Wakeups, CheckedContinuation<SFTPResponse, any Error>?) in
            if state.refusal == nil { state.refusal = error }
            var wakeups = Wakeups()
            for (id, slot) in state.slots {
                switch slot {
                case .sent: state.slots[id] = .arrived(.failure(error))
                case .waiting(let continuation):
                    state.slots[id] = nil
                    wakeups.resume.append((continuation, .failure(error)))
                case .abandoned: state.slots[id] = nil
                case .arrived: break
                }
            }
            var handshake: CheckedContinuation<SFTPResponse, any Error>? = nil
            switch state.handshake {
            case .expecting: state.handshake = .arrived(.failure(error))
            case .waiting(let continuation):
                state.handshake = .done
                handshake = continuation
            case .arrived, .done: break
            }
            wakeups.drained = Self.drainIfDone(&state).drained
            return (wakeups, handshake)
        }
        handshake?.resume(throwing: error)
        wakeups.run()
    }

    /// A slot removed whose send failed: the server never saw the request.
    private func withdraw(_ id: UInt32) {
        let wakeups = self.state.withLock { state -> Wakeups in
            state.slots[id] = nil
            return Self.drainIfDone(&state)
        }
        wakeups.run()
    }

    private static func drainIfDone(_ state: inout State) -> Wakeups {
        var wakeups = Wakeups()
        if !state.drainWaiters.isEmpty, state.owed == 0 {
            wakeups.drained = state.drainWaiters
            state.drainWaiters = []
        }
        return wakeups
    }
}
