import NIOCore
import NIOEmbedded
import NIOSSH
import Testing

@testable import SSHCiphers

private let keyExchangeInit: UInt8 = 20
private let newKeys: UInt8 = 21
private let channelData: UInt8 = 94

/// Records what reaches the head of a pipeline, in order.
private final class OutboundRecorder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var seen: [String] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.seen.append("write \(String(buffer: self.unwrapOutboundIn(data)))")
        promise?.succeed(())
    }

    func flush(context: ChannelHandlerContext) { self.seen.append("flush") }
    func read(context: ChannelHandlerContext) { self.seen.append("read") }
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        self.seen.append("close")
        promise?.succeed(())
    }
}

/// A gate driven by the transport protections it binds, as in a connection: the peer's KEXINIT
/// decrypted by the inbound side shuts it; our NEWKEYS encrypted by the outbound side opens it
/// once the event loop has moved on.
@Suite struct KeyExchangeGateTests {
    private func protections(
        _ scheme: NIOSSHTransportProtection.Type, gate: KeyExchangeGate
    ) throws -> (ours: NIOSSHTransportProtection, peer: NIOSSHTransportProtection) {
        let keys = KeyPair(encryptionKeySize: scheme.keySizes.encryptionKeySize, ivSize: scheme.keySizes.ivSize)
        let ours = try gate.bind { try scheme.init(initialKeys: keys.receiver) }
        let peer = try scheme.init(initialKeys: keys.sender)
        return (ours, peer)
    }

    private func deliver(_ type: UInt8, from peer: NIOSSHTransportProtection, to ours: NIOSSHTransportProtection, sequenceNumber: UInt32) throws {
        var packet = plaintextPacket(lengthEncrypted: peer.lengthEncrypted, payload: [type, 1, 2, 3])
        try peer.encryptPacket(&packet, sequenceNumber: sequenceNumber)
        _ = try readPacket(from: &packet, using: ours, sequenceNumber: sequenceNumber)
    }

    private func send(_ type: UInt8, with ours: NIOSSHTransportProtection, sequenceNumber: UInt32) throws {
        var packet = plaintextPacket(lengthEncrypted: ours.lengthEncrypted, payload: [type, 0])
        try ours.encryptPacket(&packet, sequenceNumber: sequenceNumber)
    }

    @Test(arguments: WharfTransportProtection.schemes.map { $0.cipherName })
    func protectionsShutAndOpenTheGate(cipher: String) throws {
        let scheme = try #require(WharfTransportProtection.schemes.first { $0.cipherName == cipher })
        let loop = EmbeddedEventLoop()
        let gate = KeyExchangeGate(eventLoop: loop)
        let (ours, peer) = try self.protections(scheme, gate: gate)
        var opened = 0
        gate.whenOpen { opened += 1 }

        try self.deliver(channelData, from: peer, to: ours, sequenceNumber: 0)
        try self.send(newKeys, with: ours, sequenceNumber: 0)  // not in an exchange: ignored
        loop.run()
        #expect(gate.isOpen)
        #expect(opened == 0)

        try self.deliver(keyExchangeInit, from: peer, to: ours, sequenceNumber: 1)
        #expect(!gate.isOpen)
        try self.send(keyExchangeInit, with: ours, sequenceNumber: 1)  // our own KEXINIT
        loop.run()
        #expect(!gate.isOpen)

        try self.send(newKeys, with: ours, sequenceNumber: 2)
        // swift-nio-ssh changes state after the NEWKEYS write returns: still shut until then.
        #expect(!gate.isOpen)
        loop.run()
        #expect(gate.isOpen)
        #expect(opened == 1)
    }

    @Test func protectionsCreatedOutsideABindingLeaveNoGate() throws {
        let loop = EmbeddedEventLoop()
        let gate = KeyExchangeGate(eventLoop: loop)
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        let ours = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver)
        let peer = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.sender)
        try self.deliver(keyExchangeInit, from: peer, to: ours, sequenceNumber: 0)
        #expect(gate.isOpen)
    }

    /// While the gate is shut, a channel's writes, flushes, reads and close wait, and then go out
    /// in the order they were made; once it is open they pass straight through.
    @Test func holdHandlerKeepsOperationsInOrderWhileShut() throws {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let gate = KeyExchangeGate(eventLoop: loop)
        let recorder = OutboundRecorder()
        try channel.pipeline.syncOperations.addHandlers([recorder, KeyExchangeHoldHandler(gate: gate)])
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        let ours = try gate.bind { try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver) }
        let peer = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.sender)

        channel.write(ByteBuffer(string: "before"), promise: nil)
        channel.flush()
        #expect(recorder.seen == ["write before", "flush"])

        try self.deliver(keyExchangeInit, from: peer, to: ours, sequenceNumber: 0)
        let writeDone = WriteFlag()
        channel.write(ByteBuffer(string: "during")).whenSuccess { writeDone.isSet = true }
        channel.flush()
        channel.read()
        channel.write(ByteBuffer(string: "after"), promise: nil)
        channel.flush()
        #expect(recorder.seen == ["write before", "flush"])
        #expect(!writeDone.isSet)

        try self.send(newKeys, with: ours, sequenceNumber: 0)
        loop.run()
        #expect(recorder.seen == ["write before", "flush", "write during", "flush", "read", "write after", "flush"])
        #expect(writeDone.isSet)

        channel.write(ByteBuffer(string: "open"), promise: nil)
        #expect(recorder.seen.last == "write open")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    /// A channel closed while its operations wait fails their promises instead of leaving them.
    @Test func heldWritesFailWhenTheChannelGoesAway() throws {
        let channel = EmbeddedChannel()
        let gate = KeyExchangeGate(eventLoop: channel.embeddedEventLoop)
        let hold = KeyExchangeHoldHandler(gate: gate)
        try channel.pipeline.syncOperations.addHandler(hold)
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        let ours = try gate.bind { try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver) }
        let peer = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.sender)
        try self.deliver(keyExchangeInit, from: peer, to: ours, sequenceNumber: 0)

        let written = channel.write(ByteBuffer(string: "lost"))
        try channel.pipeline.syncOperations.removeHandler(hold).wait()
        #expect(throws: ChannelError.ioOnClosedChannel) { try written.wait() }
    }
}

/// Set by a write's completion; an EmbeddedChannel runs it on the test's own thread.
private final class WriteFlag: @unchecked Sendable {
    var isSet = false
}
