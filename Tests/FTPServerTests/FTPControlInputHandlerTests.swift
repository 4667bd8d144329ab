import FTPProtocol
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import FTPServer

@Suite("Control lines into the session")
struct FTPControlInputHandlerTests {
    /// Counts the reads that get past the handler under test, toward the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var reads = 0

        func read(context: ChannelHandlerContext) {
            self.reads += 1
            context.read()
        }
    }

    /// Collects what the handler posts, as the session's driver would receive it.
    final class EventCollector: FTPSessionEventSink, @unchecked Sendable {
        var events: [FTPSessionEvent] = []
        var activations = 0
        func post(_ event: FTPSessionEvent) { self.events.append(event) }
        func connectionActive() { self.activations += 1 }
    }

    static func bytes(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }

    static func handler(_ sink: EventCollector, credits: Int = FTPControlInputHandler.readAhead, epoch: Int = 0)
        -> FTPControlInputHandler
    {
        FTPControlInputHandler(
            events: sink, maximumLineLength: 512, epoch: epoch, credits: credits, logger: Logger(label: "test"), peer: "test")
    }

    /// The lines posted, with their epochs, and "end" for the end of input.
    static func seen(_ sink: EventCollector) -> [String] {
        sink.events.map { event in
            switch event {
            case .input(let input):
                if case .line(let bytes) = input.event { return "\(input.epoch):\(String(buffer: bytes))" }
                return "\(input.epoch):\(input.event)"
            case .inputEnded:
                return "end"
            default:
                return "unexpected \(event)"
            }
        }
    }

    /// The greeting goes out when the connection becomes active, from the handler: the session's
    /// first task waits for the first command.
    @Test func greetsWhenTheConnectionBecomesActive() async throws {
        let sink = EventCollector()
        let handler = FTPControlInputHandler(
            events: sink, greeting: FTPReply(code: 220, "Ready."), maximumLineLength: 512, logger: Logger(label: "test"),
            peer: "test")
        let channel = EmbeddedChannel(handler: handler)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing before the connection is active")
        #expect(sink.activations == 0)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 21)).get()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == Self.bytes("220 Ready.\r\n"))
        #expect(sink.activations == 1)
        try channel.writeInbound(Self.bytes("USER a\r\n"))
        #expect(Self.seen(sink) == ["0:USER a"])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "greeted once")
        _ = try? channel.finish()
    }

    @Test func holdsReadsWithoutCreditsAndDeliversLinesInOrder() async throws {
        let sink = EventCollector()
        let handler = Self.handler(sink, credits: 2)
        let counter = ReadCounter()
        let channel = EmbeddedChannel(handlers: [counter, handler])
        channel.read()
        #expect(counter.reads == 1)
        // Two lines in one read, the second split over two reads.
        try channel.writeInbound(Self.bytes("USER a\r\nPA"))
        try channel.writeInbound(Self.bytes("SS b\r\n"))
        channel.read()
        #expect(counter.reads == 1, "no credit left: the read is held")
        handler.grantCredit()
        #expect(counter.reads == 2, "a credit back lets the held read go")
        channel.read()
        #expect(counter.reads == 3)
        try channel.writeInbound(Self.bytes("PWD\r\n"))
        channel.read()
        #expect(counter.reads == 3)
        _ = try? channel.finish()

        #expect(Self.seen(sink) == ["0:USER a", "0:PASS b", "0:PWD", "end"])
    }

    @Test func theEndIsReportedOnce() async throws {
        let sink = EventCollector()
        let handler = Self.handler(sink, credits: 1)
        let channel = EmbeddedChannel(handlers: [handler])
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 21)).get()
        try await channel.close().get()  // channelInactive, then the handler is removed
        let ends = sink.events.filter { if case .inputEnded = $0 { true } else { false } }.count
        #expect(ends == 1)
    }

    @Test func anErrorClosesTheConnectionAndEndsTheSession() async throws {
        struct Reset: Error {}
        let sink = EventCollector()
        let handler = Self.handler(sink, credits: 1)
        let channel = EmbeddedChannel(handlers: [handler])
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 21)).get()
        channel.pipeline.fireErrorCaught(Reset())
        #expect(!channel.isActive, "the connection is closed")
        let ends = sink.events.filter { if case .inputEnded = $0 { true } else { false } }.count
        #expect(ends == 1)
    }

    /// What followed AUTH TLS in the same read is plaintext sent before the handshake: lines already
    /// split keep the old epoch (the session ignores them), bytes not yet split are dropped, and
    /// what comes after is of the new epoch.
    @Test func beginningTLSDropsUnsplitPlaintextAndStartsANewEpoch() async throws {
        let sink = EventCollector()
        let handler = Self.handler(sink)
        let channel = EmbeddedChannel(handlers: [handler])
        try channel.writeInbound(Self.bytes("AUTH TLS\r\nUSER injected\r\nPASS half"))
        #expect(handler.beginTLS() == "PASS half".utf8.count)
        #expect(handler.epoch == 1)
        try channel.writeInbound(Self.bytes("USER real\r\n"))
        #expect(Self.seen(sink) == ["0:AUTH TLS", "0:USER injected", "1:USER real"])
        _ = try? channel.finish()
    }

    @Test func anOverlongLineIsReportedAndTheNextLineStillArrives() async throws {
        let sink = EventCollector()
        let channel = EmbeddedChannel(handlers: [Self.handler(sink)])
        try channel.writeInbound(Self.bytes(String(repeating: "A", count: 600) + "\r\nNOOP\r\n"))
        let seen = Self.seen(sink)
        #expect(seen.count == 2)
        #expect(seen.last == "0:NOOP")
        #expect(seen.first == "0:lineTooLong(limit: 512)")
        _ = try? channel.finish()
    }
}
