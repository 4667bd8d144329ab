import NIOCore
import Testing

@testable import FTPProtocol

@Suite("FTPCommandLine")
struct CommandLineTests {
    @Test func verbAndArgument() throws {
        #expect(try parse(ascii("USER alice\r\n")) == FTPCommandLine(verb: "USER", argument: "alice"))
        #expect(try parse(ascii("user alice\n")) == FTPCommandLine(verb: "USER", argument: "alice"))
        #expect(try parse(ascii("StOr my file.txt")) == FTPCommandLine(verb: "STOR", argument: "my file.txt"))
        #expect(try parse(ascii("NOOP\r\n")) == FTPCommandLine(verb: "NOOP", argument: nil))
        #expect(try parse(ascii("PWD")) == FTPCommandLine(verb: "PWD", argument: nil))
    }

    @Test func argumentIsVerbatimAfterOneSpace() throws {
        #expect(try parse(ascii("RETR  two leading\r\n")).argument == " two leading")
        #expect(try parse(ascii("RETR trailing  \r\n")).argument == "trailing  ")
        #expect(try parse(ascii("CWD \r\n")).argument == "")
        #expect(try parse(ascii("SITE CHMOD 755 a b\r\n")).argument == "CHMOD 755 a b")
        #expect(try parse(ascii("RETR tab\there\r\n")).argument == "tab\there")
    }

    @Test func utf8Paths() throws {
        let line = try parse(ascii("MKD ") + [0xC3, 0xA9, 0x74, 0xC3, 0xA9, 0x20, 0xE6, 0x97, 0xA5] + ascii("\r\n"))
        #expect(line.argument == "été 日")
    }

    @Test(arguments: [
        [UInt8](ascii("RETR ")) + [0x80],  // lone continuation byte
        ascii("RETR ") + [0xC3],  // truncated sequence
        ascii("RETR ") + [0xC0, 0xAF],  // overlong "/"
        ascii("RETR ") + [0xED, 0xA0, 0x80],  // surrogate
        ascii("RETR ") + [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
        ascii("RETR ") + [0xFF, 0xFF],  // IAC IAC → 0xFF, still not UTF-8
    ])
    func invalidUTF8(_ bytes: [UInt8]) {
        #expect(throws: FTPProtocolError.invalidUTF8) { try parse(bytes) }
    }

    @Test func hostileVerbs() {
        #expect(throws: FTPProtocolError.missingVerb) { try parse(ascii("\r\n")) }
        #expect(throws: FTPProtocolError.missingVerb) { try parse(ascii("")) }
        #expect(throws: FTPProtocolError.missingVerb) { try parse(ascii(" USER alice\r\n")) }
        #expect(throws: FTPProtocolError.invalidVerb("US3R")) { try parse(ascii("US3R x")) }
        #expect(throws: FTPProtocolError.invalidVerb("USER\tx")) { try parse(ascii("USER\tx")) }
        #expect(throws: FTPProtocolError.invalidVerb("ABCDEFGHIJKLMNOP")) { try parse(ascii("ABCDEFGHIJKLMNOPQ")) }
        #expect(throws: FTPProtocolError.invalidVerb("é")) { try parse([0xC3, 0xA9]) }
        #expect(throws: FTPProtocolError.controlCharacter) { try parse(ascii("RETR a\u{0}b\r\n")) }
        #expect(throws: FTPProtocolError.controlCharacter) { try parse(ascii("RETR a\rb\r\n")) }
        #expect(throws: FTPProtocolError.controlCharacter) { try parse(ascii("RETR a\r\r\n")) }
        #expect(throws: FTPProtocolError.controlCharacter) { try parse(ascii("RETR a\nb\r\n")) }
    }

    @Test func telnetAbort() throws {
        // IAC IP, IAC DM (Synch), then ABOR — as ftplib's abort() sends it.
        #expect(try parse([0xFF, 0xF4, 0xFF, 0xF2] + ascii("ABOR\r\n")) == FTPCommandLine(verb: "ABOR"))
        // The urgent DM byte removed by the kernel: IAC IP IAC ABOR.
        #expect(try parse([0xFF, 0xF4, 0xFF] + ascii("ABOR\r\n")) == FTPCommandLine(verb: "ABOR"))
        // Negotiation (IAC WILL option, IAC DO option) and NOP are dropped.
        #expect(try parse([0xFF, 0xFB, 0x01, 0xFF, 0xFD, 0x03, 0xFF, 0xF1] + ascii("NOOP")) == FTPCommandLine(verb: "NOOP"))
        // A trailing IAC or IAC WILL without option disappear.
        #expect(try parse(ascii("NOOP") + [0xFF]) == FTPCommandLine(verb: "NOOP"))
        #expect(try parse(ascii("NOOP") + [0xFF, 0xFB]) == FTPCommandLine(verb: "NOOP"))
    }

    @Test func stripTelnet() {
        #expect(FTPCommandLine.strippingTelnetCommands([0x41, 0xFF, 0xFF, 0x42]) == [0x41, 0xFF, 0x42])
        #expect(FTPCommandLine.strippingTelnetCommands([0xFF, 0xF4, 0xFF, 0xF2, 0x41]) == [0x41])
        #expect(FTPCommandLine.strippingTelnetCommands([0xFF, 0xFE, 0x41, 0x42]) == [0x42])
        #expect(FTPCommandLine.strippingTelnetCommands(ascii("plain")) == ascii("plain"))
    }

    @Test func description() {
        #expect(FTPCommandLine(verb: "RETR", argument: "a b").description == "RETR a b\r\n")
        #expect(FTPCommandLine(verb: "PWD").description == "PWD\r\n")
    }
}

@Suite("FTPLineDecoder")
struct LineDecoderTests {
    static let stream = ascii("USER alice\r\nPASS secret\nNOOP\r\n")

    @Test(arguments: [1, 2, 3, 7, 1000])
    func splitsLines(chunk: Int) {
        let result = decodeAll(Self.stream, chunk: chunk)
        #expect(result.events == [lineEvent("USER alice"), lineEvent("PASS secret"), lineEvent("NOOP")])
        #expect(result.left == 0)
    }

    @Test func partialLineWaits() {
        var decoder = FTPLineDecoder()
        var buffer = ByteBuffer(string: "USER al")
        #expect(decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 7)
        buffer.writeString("ice\r")
        #expect(decoder.decode(buffer: &buffer) == nil)
        buffer.writeString("\n")
        #expect(decoder.decode(buffer: &buffer) == lineEvent("USER alice"))
        #expect(buffer.readableBytes == 0)
    }

    @Test func lineAtTheLimit() {
        let exact = ascii("RETR ") + [UInt8](repeating: 0x61, count: 11)  // 16 bytes
        #expect(decodeAll(exact + ascii("\r\n"), chunk: 1, maximumLineLength: 16).events == [.line(ByteBuffer(bytes: exact))])
        #expect(decodeAll(exact + ascii("\n"), chunk: 1, maximumLineLength: 16).events == [.line(ByteBuffer(bytes: exact))])
        #expect(decodeAll(exact + ascii("b\r\n"), chunk: 1, maximumLineLength: 16).events == [.lineTooLong(limit: 16)])
        #expect(decodeAll(exact + ascii("b\r\n"), chunk: 100, maximumLineLength: 16).events == [.lineTooLong(limit: 16)])
    }

    @Test(arguments: [1, 1500, 100 * 1024 + 100])
    func hundredKiBLine(chunk: Int) {
        let long = ascii("STOR ") + [UInt8](repeating: 0x78, count: 100 * 1024) + ascii("\r\n")
        let input = ascii("NOOP\r\n") + long + ascii("PWD\r\n") + long + ascii("QUIT\r\n")
        let result = decodeAll(input, chunk: chunk)
        #expect(
            result.events == [
                lineEvent("NOOP"), .lineTooLong(limit: 4096), lineEvent("PWD"), .lineTooLong(limit: 4096),
                lineEvent("QUIT"),
            ])
        #expect(result.left == 0)
        // Never more buffered than the limit plus a CR and one chunk.
        #expect(result.maxBuffered <= 4096 + 1 + chunk)
    }

    @Test func overLongWithoutNewlineIsNotBuffered() {
        var decoder = FTPLineDecoder(maximumLineLength: 8)
        var buffer = ByteBuffer()
        for _ in 0..<1000 {
            buffer.writeString("x")
            #expect(decoder.decode(buffer: &buffer) == nil)
            #expect(buffer.readableBytes <= 9)
        }
        buffer.writeString("\nNOOP\n")
        #expect(decoder.decode(buffer: &buffer) == .lineTooLong(limit: 8))
        #expect(decoder.decode(buffer: &buffer) == lineEvent("NOOP"))
    }

    @Test func telnetAndInvalidBytesPassThrough() throws {
        let input: [UInt8] = [0xFF, 0xF4, 0xFF, 0xF2] + ascii("ABOR\r\nRETR ") + [0xC3] + ascii("\r\n")
        let events = decodeAll(input, chunk: 1).events
        #expect(events.count == 2)
        guard case .line(let abort) = events[0], case .line(let bad) = events[1] else {
            Issue.record("expected two lines")
            return
        }
        #expect(try FTPCommandLine(parsing: abort) == FTPCommandLine(verb: "ABOR"))
        #expect(throws: FTPProtocolError.invalidUTF8) { try FTPCommandLine(parsing: bad) }
    }

    @Test func decodeLastDropsPartialLineOnlyAtEOF() {
        var decoder = FTPLineDecoder()
        var buffer = ByteBuffer(string: "NOOP\r\nPAR")
        #expect(decoder.decodeLast(buffer: &buffer, seenEOF: false) == lineEvent("NOOP"))
        #expect(decoder.decodeLast(buffer: &buffer, seenEOF: false) == nil)
        #expect(buffer.readableBytes == 3)
        #expect(decoder.decodeLast(buffer: &buffer, seenEOF: true) == nil)
        #expect(buffer.readableBytes == 0)
    }
}
