import NIOCore
import Testing

@testable import FTPProtocol

/// What feeding a byte stream to a fresh reply decoder produced.
private struct ReplyRun {
    var replies: [FTPReply] = []
    var error: FTPReplyDecoderError?
    /// The most bytes the decoder left buffered between calls.
    var maxBuffered = 0
    var left = 0
}

/// Feeds `input` in chunks of `chunk` bytes, then signals EOF (`decodeLast`) when `eof` is set.
private func run(
    _ input: [UInt8], chunk: Int, eof: Bool = true, decoder: FTPReplyDecoder = FTPReplyDecoder()
) -> ReplyRun {
    var decoder = decoder
    var buffer = ByteBuffer()
    var result = ReplyRun()
    var offset = 0
    do {
        while offset < input.count {
            buffer.writeBytes(input[offset..<min(offset + chunk, input.count)])
            offset += chunk
            while let reply = try decoder.decode(buffer: &buffer) { result.replies.append(reply) }
            result.maxBuffered = max(result.maxBuffered, buffer.readableBytes)
        }
        while let reply = try decoder.decodeLast(buffer: &buffer, seenEOF: eof) { result.replies.append(reply) }
    } catch {
        result.error = error
    }
    result.left = buffer.readableBytes
    return result
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Whole, byte by byte, and a few awkward chunk sizes.
private let chunkSizes = [Int.max, 1, 2, 3, 5, 7]

@Suite("FTPReplyDecoder")
struct ReplyDecoderTests {
    @Test(arguments: chunkSizes) func singleLine(chunk: Int) {
        let result = run(bytes("220 Wharf FTP ready\r\n"), chunk: chunk)
        #expect(result.error == nil)
        #expect(result.replies == [FTPReply(code: 220, "Wharf FTP ready")])
        #expect(result.left == 0)
    }

    @Test(arguments: chunkSizes) func bareLFAndBareCode(chunk: Int) {
        let result = run(bytes("220 hello\n200\r\n331 \r\n"), chunk: chunk)
        #expect(result.error == nil)
        #expect(result.replies == [FTPReply(code: 220, "hello"), FTPReply(code: 200, ""), FTPReply(code: 331, "")])
    }

    @Test(arguments: chunkSizes) func feat(chunk: Int) {
        // pyftpdlib's FEAT reply.
        let wire = "211-Features supported:\r\n EPRT\r\n EPSV\r\n MDTM\r\n"
            + " MLST type*;perm*;size*;modify*;unique*;unix.mode;unix.uid;unix.gid;\r\n REST STREAM\r\n SIZE\r\n"
            + " TVFS\r\n UTF8\r\n211 End FEAT.\r\n"
        let result = run(bytes(wire), chunk: chunk)
        #expect(result.error == nil)
        #expect(result.replies == [
            FTPReply(code: 211, lines: [
                "Features supported:", " EPRT", " EPSV", " MDTM",
                " MLST type*;perm*;size*;modify*;unique*;unix.mode;unix.uid;unix.gid;", " REST STREAM", " SIZE",
                " TVFS", " UTF8", "End FEAT.",
            ])
        ])
    }

    @Test(arguments: chunkSizes) func middleLinesThatLookLikeReplies(chunk: Int) {
        // RFC 959 §4.2's example plus what else may sit in the middle: other codes, the same code with a
        // dash (whose prefix is dropped), a digit run without space.
        let wire = "123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n234 other code\r\n"
            + "123-not the end\r\n1234 five digits\r\n123x\r\n\r\n-\r\n123 The last line\r\n"
        let result = run(bytes(wire), chunk: chunk)
        #expect(result.error == nil)
        #expect(result.replies.count == 1)
        #expect(result.replies.first?.code == 123)
        #expect(result.replies.first?.lines == [
            "First line", "Second line", "  234 A line beginning with numbers", "234 other code", "not the end",
            "1234 five digits", "123x", "", "-", "The last line",
        ])
    }

    @Test(arguments: chunkSizes) func proftpdStyleEveryLineDashed(chunk: Int) {
        let result = run(bytes("211-Features:\r\n211- MDTM\r\n211- SIZE\r\n211 End\r\n"), chunk: chunk)
        #expect(result.replies == [FTPReply(code: 211, lines: ["Features:", " MDTM", " SIZE", "End"])])
    }

    @Test(arguments: chunkSizes) func bareCodeEndsMultiLine(chunk: Int) {
        let result = run(bytes("211-Status\r\n connected\r\n211\r\n200 next\r\n"), chunk: chunk)
        #expect(result.error == nil)
        #expect(result.replies == [FTPReply(code: 211, lines: ["Status", " connected", ""]), FTPReply(code: 200, "next")])
    }

    @Test(arguments: chunkSizes) func pipelined(chunk: Int) {
        let replies = [
            FTPReply(code: 150, "Opening BINARY mode data connection."),
            FTPReply(code: 226, "Transfer complete."),
            FTPReply(code: 214, lines: ["Help:", "226 not the end", "x", "Done"]),
            FTPReply(code: 250, lines: ["Listing /a", " type=file;size=1; /a", "End"]),
            FTPReply(code: 221, "Goodbye."),
        ]
        let result = run(bytes(replies.map(\.description).joined()), chunk: chunk)
        #expect(result.error == nil)
        // FTPReply's encoder pads a middle line starting with a digit; the padding stays.
        var expected = replies
        expected[2] = FTPReply(code: 214, lines: ["Help:", " 226 not the end", "x", "Done"])
        #expect(result.replies == expected)
    }

    @Test(arguments: [
        "abc\r\n", "99 x\r\n", "700 x\r\n", "099 x\r\n", "999 x\r\n", "1234 x\r\n", "22a x\r\n", "\r\n", "\n",
        " 220 x\r\n", "220x\r\n", "22\r\n", "2\r\n", "220\tx\r\n", "２２０ x\r\n", "-220 x\r\n",
    ])
    func garbageCodes(_ wire: String) {
        for chunk in chunkSizes {
            let result = run(bytes(wire), chunk: chunk)
            #expect(result.replies.isEmpty)
            guard case .invalidReplyLine = result.error else {
                Issue.record("\(wire.debugDescription) chunk \(chunk): \(String(describing: result.error))")
                continue
            }
        }
    }

    @Test func garbageAfterAGoodReply() {
        let result = run(bytes("220 ok\r\n700 no\r\n"), chunk: 1)
        #expect(result.replies == [FTPReply(code: 220, "ok")])
        #expect(result.error == .invalidReplyLine("700 no"))
    }

    @Test(arguments: chunkSizes) func lineLengthLimit(chunk: Int) {
        let decoder = FTPReplyDecoder(maximumLineLength: 64, maximumReplySize: 1024)
        // Exactly at the limit: fine, with CRLF or LF.
        let fits = "200 " + String(repeating: "a", count: 60)
        #expect(run(bytes(fits + "\r\n" + fits + "\n"), chunk: chunk, decoder: decoder).replies.count == 2)
        // One byte more, in the first line or in a middle line.
        let long = "200 " + String(repeating: "a", count: 61) + "\r\n"
        #expect(run(bytes(long), chunk: chunk, decoder: decoder).error == .lineTooLong(limit: 64))
        #expect(run(bytes("211-x\r\n" + long + "211 end\r\n"), chunk: chunk, decoder: decoder).error
            == .lineTooLong(limit: 64))
    }

    @Test func overlongLineIsRefusedBeforeItIsBuffered() {
        let decoder = FTPReplyDecoder(maximumLineLength: 64, maximumReplySize: 1024)
        let result = run([UInt8](repeating: UInt8(ascii: "2"), count: 100_000), chunk: 1, decoder: decoder)
        #expect(result.error == .lineTooLong(limit: 64))
        #expect(result.maxBuffered <= 66)
        let whole = run([UInt8](repeating: UInt8(ascii: "2"), count: 100_000), chunk: .max, decoder: decoder)
        #expect(whole.error == .lineTooLong(limit: 64))
    }

    @Test(arguments: chunkSizes) func replySizeLimit(chunk: Int) {
        let decoder = FTPReplyDecoder(maximumLineLength: 64, maximumReplySize: 256)
        let line = " " + String(repeating: "m", count: 40) + "\r\n"  // 43 bytes
        // Short lines count 16 (a String): 16 + 5 × 43 + 16 = 247 fits, one more line does not.
        let fits = "211-x\r\n" + String(repeating: line, count: 5) + "211 End\r\n"
        let ok = run(bytes(fits + fits), chunk: chunk, decoder: decoder)
        #expect(ok.error == nil)
        #expect(ok.replies.count == 2)
        let tooMany = "211-x\r\n" + String(repeating: line, count: 6) + "211 End\r\n"
        #expect(run(bytes(tooMany), chunk: chunk, decoder: decoder).error == .replyTooLong(limit: 256))
        // An endless multi-line reply is cut off too.
        let endless = "211-x\r\n" + String(repeating: line, count: 1_000)
        let result = run(bytes(endless), chunk: chunk, decoder: decoder)
        #expect(result.error == .replyTooLong(limit: 256))
    }

    @Test func emptyLinesCountTowardsTheReplyLimit() {
        // Each line costs at least a String's size, so a flood of LFs cannot hold a million strings.
        let decoder = FTPReplyDecoder(maximumLineLength: 64, maximumReplySize: 1024)
        let flood = "211-x\r\n" + String(repeating: "\n", count: 100)
        #expect(run(bytes(flood), chunk: .max, decoder: decoder).error == .replyTooLong(limit: 1024))
    }

    @Test func defaults() {
        let decoder = FTPReplyDecoder()
        #expect(decoder.maximumLineLength == 64 * 1024)
        #expect(decoder.maximumReplySize == 1024 * 1024)
        let big = "200 " + String(repeating: "b", count: 64 * 1024 - 4) + "\r\n"
        #expect(run(bytes(big), chunk: .max).replies.first?.lines.first?.utf8.count == 64 * 1024 - 4)
        #expect(run(bytes("200 " + String(repeating: "b", count: 64 * 1024) + "\r\n"), chunk: .max).error
            == .lineTooLong(limit: 64 * 1024))
    }

    @Test(arguments: chunkSizes) func eofInsideAReply(chunk: Int) {
        #expect(run(bytes("211-Features:\r\n MDTM\r\n"), chunk: chunk).error == .truncatedReply(code: 211))
        #expect(run(bytes("211-Features:\r\n MDTM\r\n211 En"), chunk: chunk).error == .truncatedReply(code: 211))
        #expect(run(bytes("220 no terminator"), chunk: chunk).error == .truncatedReply(code: nil))
        #expect(run(bytes("2"), chunk: chunk).error == .truncatedReply(code: nil))
        let complete = run(bytes("221 Goodbye.\r\n"), chunk: chunk)
        #expect(complete.error == nil)
        #expect(complete.replies == [FTPReply(code: 221, "Goodbye.")])
        #expect(run([], chunk: chunk).error == nil)
    }

    @Test func replyBeforeEOFIsStillDelivered() {
        let result = run(bytes("226 Done\r\n221 Bye\r\n211-x\r\n"), chunk: .max)
        #expect(result.replies == [FTPReply(code: 226, "Done"), FTPReply(code: 221, "Bye")])
        #expect(result.error == .truncatedReply(code: 211))
    }

    @Test func removalWithoutEOFLeavesBytesForTheNextHandler() throws {
        // After `234` to AUTH TLS the TLS handler takes over the bytes that follow.
        var decoder = FTPReplyDecoder()
        var buffer = ByteBuffer(bytes: bytes("234 AUTH TLS OK.\r\n\u{16}\u{03}\u{01}"))
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: false) == FTPReply(code: 234, "AUTH TLS OK."))
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: false) == nil)
        #expect(buffer.readableBytesView.elementsEqual([0x16, 0x03, 0x01]))
    }

    @Test(arguments: chunkSizes) func textEncodings(chunk: Int) {
        // Latin-1 from an old server: the é byte is not UTF-8 and is replaced, the reply still parses.
        let latin1: [UInt8] = bytes("257 \"/caf") + [0xE9] + bytes("\" created\r\n")
        #expect(run(latin1, chunk: chunk).replies == [FTPReply(code: 257, "\"/caf\u{FFFD}\" created")])
        let utf8 = run(bytes("257 \"/naïve 文件\" is current\r\n"), chunk: chunk)
        #expect(utf8.replies == [FTPReply(code: 257, "\"/naïve 文件\" is current")])
        // RFC 2640's CR NUL is a CR in the name; FTPReply keeps it in its wire form.
        let cr = run(bytes("550 a\r\0b\r\n"), chunk: chunk)
        #expect(cr.replies == [FTPReply(code: 550, "a\rb")])
        #expect(cr.replies.first?.description == "550 a\r\0b\r\n")
    }

    @Test func roundTripsTheServersEncoder() {
        let replies = [
            FTPReply(code: 220, "Wharf ready"),
            FTPReply.pathname("/a \"b\"", "is the current directory"),
            FTPReply(code: 211, lines: ["Features:", " MDTM", " SIZE", "End"]),
            FTPReply(code: 550, "x\ry"),
            FTPReply(code: 600, "protected"),
            FTPReply(code: 699, lines: ["a", "b"]),
            FTPReply(code: 100, ""),
        ]
        for reply in replies {
            var buffer = ByteBuffer()
            FTPReplyEncoder().encode(data: reply, out: &buffer)
            let result = run(Array(buffer.readableBytesView), chunk: 1)
            #expect(result.replies == [reply], "\(reply.description.debugDescription)")
        }
    }

    @Test func errorDescriptions() {
        #expect(FTPReplyDecoderError.lineTooLong(limit: 64).description == "FTP reply line longer than 64 bytes")
        #expect(FTPReplyDecoderError.truncatedReply(code: 211).description.contains("211"))
        #expect(FTPReplyDecoderError.invalidReplyLine("abc").description.contains("abc"))
    }
}
