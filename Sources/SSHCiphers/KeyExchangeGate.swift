import NIOCore

/// Whether a connection may send channel messages, as far as a key re-exchange goes.
///
/// swift-nio-ssh rejects every channel message written after the peer's `SSH_MSG_KEXINIT` of a
/// re-exchange and before our `SSH_MSG_NEWKEYS` (RFC 4253 §7.1 forbids sending them then): the
/// write's promise fails and the bytes are gone. It never starts a re-exchange itself, but its
/// peers do: OpenSSH at its `RekeyLimit`, asyncssh every GiB or hour, paramiko every 512 MiB. An
/// SFTP reply or a window adjustment lost that way stalls the transfer for good.
///
/// The connection's transport protection sees every packet in clear, so it tells the gate: it
/// closes when the peer's `KEXINIT` is decrypted and opens once our `NEWKEYS` is encrypted.
/// Each channel's `KeyExchangeHoldHandler` keeps its writes, reads and closes back while the gate
/// is shut and passes them on, in order, when it opens.
///
/// Confined to the connection's event loop.
public final class KeyExchangeGate: @unchecked Sendable {
    private enum Phase {
        case open
        /// The peer's `KEXINIT` arrived: channel messages would be refused.
        case exchangingKeys
        /// Our `NEWKEYS` is being written; channel messages are allowed once that write returns.
        case sentNewKeys
    }

    public let eventLoop: any EventLoop
    private var phase = Phase.open
    private var whenOpen: [() -> Void] = []

    /// The gate of the connection whose inbound bytes swift-nio-ssh is processing on this thread:
    /// a transport protection is created then (`init(initialKeys:)` gets nothing else) and keeps it.
    @TaskLocal static var current: KeyExchangeGate?

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public var isOpen: Bool {
        self.eventLoop.preconditionInEventLoop()
        return self.phase == .open
    }

    /// Runs `body` when the gate next opens (on the event loop, once).
    public func whenOpen(_ body: @escaping () -> Void) {
        self.eventLoop.preconditionInEventLoop()
        self.whenOpen.append(body)
    }

    /// Runs `body` with `self` as the gate of the transport protections created meanwhile.
    public func bind<Result>(_ body: () throws -> Result) rethrows -> Result {
        try Self.$current.withValue(self, operation: body)
    }

    func peerSentKeyExchangeInit() {
        self.phase = .exchangingKeys
    }

    func sendingNewKeys() {
        guard self.phase == .exchangingKeys else { return }
        self.phase = .sentNewKeys
        // swift-nio-ssh moves to the state that allows channel messages after this write returns.
        self.eventLoop.execute {
            guard self.phase == .sentNewKeys else { return }
            self.phase = .open
            let waiting = self.whenOpen
            self.whenOpen = []
            for body in waiting {
                body()
            }
        }
    }
}

/// What a transport protection tells its connection's `KeyExchangeGate`.
struct KeyExchangeWatch {
    private static let keyExchangeInit: UInt8 = 20
    private static let newKeys: UInt8 = 21

    private let gate = KeyExchangeGate.current

    /// `payload` is a decrypted packet's payload, message number first.
    func received(payload: ByteBuffer) {
        if let gate = self.gate, payload.getInteger(at: payload.readerIndex, as: UInt8.self) == Self.keyExchangeInit {
            gate.peerSentKeyExchangeInit()
        }
    }

    /// `packet` is a packet about to be encrypted: length, padding length, then the payload.
    func sending(packet: ByteBuffer) {
        if let gate = self.gate, packet.getInteger(at: packet.readerIndex + 5, as: UInt8.self) == Self.newKeys {
            gate.sendingNewKeys()
        }
    }
}

