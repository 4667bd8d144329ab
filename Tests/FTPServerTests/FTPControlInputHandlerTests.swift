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
        func post(_ event: FTPSessionEvent) { self.events.append(event) }
    }

    static func line(_ text: String) -> FTPControlInput {
        FTPControlInput(event: .line(ByteBuffer(string: text)), epoch: 0)
    }

    @Test func holdsReadsWithoutCreditsAndDeliversLinesInOrder() async throws {
        let sink = EventCollector()
        let handler = FTPControlInputHandler(events: sink, credits: 2, logger: Logger(label: "test"), peer: "test")
        let counter = ReadCounter()
        let channel = EmbeddedChannel(handlers: [counter, handler])
        channel.read()
        #expect(counter.reads == 1)
        try channel.writeInbound(Self.line("USER a"))
        try channel.writeInbound(Self.line("PASS b"))
        channel.read()
        #expect(counter.reads == 1, "no credit left: the read is held")
        handler.grantCredit()
        #expect(counter.reads == 2, "a credit back lets the held read go")
        channel.read()
        #expect(counter.reads == 3)
        try channel.writeInbound(Self.line("PWD"))
        channel.read()
        #expect(counter.reads == 3)
        _ = try? channel.finish()

        var seen: [String] = []
        for event in sink.events {
            switch event {
            case .input(let input):
                if case .line(let bytes) = input.event { seen.append(String(buffer: bytes)) }
            case .inputEnded:
                seen.append("end")
            default:
                Issue.record("unexpected event \(event)")
            }
        }
        #expect(seen == ["USER a", "PASS b", "PWD", "end"])
    }

    @Test func theEndIsReportedOnce() async throws {
        let sink = EventCollector()
        let handler = FTPControlInputHandler(events: sink, credits: 1, logger: Logger(label: "test"), peer: "test")
        let channel = EmbeddedChannel(handlers: [handler])
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 21)).get()
        try await channel.close().get()  // channelInactive, then the handler is removed
        let ends = sink.events.filter { if case .inputEnded = $0 { true } else { false } }.count
        #expect(ends == 1)
    }

    @Test func anErrorClosesTheConnectionAndEndsTheSession() async throws {
        struct Reset: Error {}
        let sink = EventCollector()
        let handler = FTPControlInputHandler(events: sink, credits: 1, logger: Logger(label: "test"), peer: "test")
        let channel = EmbeddedChannel(handlers: [handler])
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 21)).get()
        channel.pipeline.fireErrorCaught(Reset())
        #expect(!channel.isActive, "the connection is closed")
        let ends = sink.events.filter { if case .inputEnded = $0 { true } else { false } }.count
        #expect(ends == 1)
    }
}
