import NIOCore
import Testing

@testable import FTPProtocol

@Suite("FTPReply")
struct ReplyTests {
    @Test func singleLine() {
        #expect(FTPReply(code: 226, "Transfer complete").description == "226 Transfer complete\r\n")
        var buffer = ByteBuffer()
        #expect(FTPReply(code: 200, "OK").write(to: &buffer) == 8)
        #expect(buffer.readString(length: buffer.readableBytes) == "200 OK\r\n")
    }

    @Test func multiLine() {
        let reply = FTPReply(code: 211, lines: ["Features:", " MDTM", " SIZE", "End"])
        #expect(reply.description == "211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n")
    }

    @Test func continuationStartingWithDigitIsPadded() {
        let reply = FTPReply(code: 214, lines: ["Help:", "226 not the end", "x", "Done"])
        #expect(reply.description == "214-Help:\r\n 226 not the end\r\nx\r\n214 Done\r\n")
    }

    @Test func embeddedLineBreaksCannotEndTheReply() {
        let reply = FTPReply(code: 550, "a\r\n226 fake\nb")
        #expect(reply.lines == ["a", "226 fake", "b"])
        #expect(reply.description == "550-a\r\n 226 fake\r\n550 b\r\n")
        #expect(FTPReply(code: 550, "x\ry").description == "550 x\r\0y\r\n")
    }

    @Test func helpers() {
        #expect(FTPReply.pathname("/a \"b\"", "is the current directory").description
            == "257 \"/a \"\"b\"\"\" is the current directory\r\n")
        #expect(FTPReply.size(1234).description == "213 1234\r\n")
        #expect(FTPReply.modificationTime(FTPTimestamp(secondsSinceEpoch: 1_795_376_280)).description
            == "213 20261122193800\r\n")
        #expect(FTPReply(code: 150, "x").isPreliminary)
    }

    @Test func passiveReplies() throws {
        let endpoint = FTPHostPort(address: try #require(FTPIPAddress("192.168.1.20")), port: 50_001)
        #expect(FTPReply.enteringPassiveMode(endpoint)?.description
            == "227 Entering Passive Mode (192,168,1,20,195,81).\r\n")
        let mapped = FTPHostPort(address: try #require(FTPIPAddress("::ffff:10.0.0.1")), port: 1024)
        #expect(FTPReply.enteringPassiveMode(mapped)?.description == "227 Entering Passive Mode (10,0,0,1,4,0).\r\n")
        #expect(FTPReply.enteringPassiveMode(FTPHostPort(address: try #require(FTPIPAddress("::1")), port: 1)) == nil)
        #expect(FTPReply.enteringExtendedPassiveMode(port: 50_001).description
            == "229 Entering Extended Passive Mode (|||50001|)\r\n")
    }

    @Test func encoder() throws {
        var out = ByteBuffer()
        FTPReplyEncoder().encode(data: FTPReply(code: 221, "Goodbye."), out: &out)
        #expect(out.readString(length: out.readableBytes) == "221 Goodbye.\r\n")
    }
}

@Suite("Host-port arguments")
struct HostPortTests {
    @Test func port() throws {
        let endpoint = try FTPHostPort(portArgument: "192,168,0,1,4,1")
        #expect(endpoint.address.bytes == [192, 168, 0, 1])
        #expect(endpoint.port == 1025)
        #expect(endpoint.portArgument == "192,168,0,1,4,1")
        #expect(try FTPHostPort(portArgument: "255,255,255,255,255,255").port == 65535)
        #expect(try FTPHostPort(portArgument: "0,0,0,0,0,1").port == 1)
    }

    @Test(arguments: [
        "", "192,168,0,1,4", "192,168,0,1,4,1,7", "256,168,0,1,4,1", "192,168,0,1,4,256", "192,168,0,1,0,0",
        "192, 168,0,1,4,1", " 192,168,0,1,4,1", "192,168,0,1,4,1 ", "192,,0,1,4,1", "192,168,0,1,4,1,",
        "-1,168,0,1,4,1", "+1,168,0,1,4,1", "0x10,168,0,1,4,1", "0192,168,0,1,4,1", "1000,0,0,1,4,1",
        "192.168.0.1,4,1", "a,b,c,d,e,f", "192,168,0,1,4,1\u{0}", "١,168,0,1,4,1",
    ])
    func hostilePort(_ argument: String) {
        #expect(throws: FTPProtocolError.self) { try FTPHostPort(portArgument: argument) }
    }

    @Test func eprt() throws {
        let v4 = try FTPHostPort(eprtArgument: "|1|132.235.1.2|6275|")
        #expect(v4.address.bytes == [132, 235, 1, 2])
        #expect(v4.port == 6275)
        #expect(v4.eprtArgument == "|1|132.235.1.2|6275|")
        let v6 = try FTPHostPort(eprtArgument: "|2|1080::8:800:200C:417A|5282|")
        #expect(v6.address.description == "1080::8:800:200c:417a")
        #expect(v6.port == 5282)
        #expect(v6.eprtArgument == "|2|1080::8:800:200c:417a|5282|")
        #expect(v6.description == "[1080::8:800:200c:417a]:5282")
        let other = try FTPHostPort(eprtArgument: "!2!::1!65535!")
        #expect(other.address.bytes == [UInt8](repeating: 0, count: 15) + [1])
        #expect(try FTPHostPort(eprtArgument: "|2|::ffff:1.2.3.4|21|").address.ipv4Bytes == [1, 2, 3, 4])
    }

    @Test(arguments: [
        "", "|", "||||", "|1|132.235.1.2|6275", "1|132.235.1.2|6275|", "|1|132.235.1.2|6275||",
        "|1|132.235.1.2|0|", "|1|132.235.1.2|65536|", "|1|132.235.1.2|-1|", "|1|132.235.1.2| 6275|",
        "|1| 132.235.1.2|6275|", "|1|132.235.1|6275|", "|1|132.235.1.256|6275|", "|1|::1|6275|",
        "|2|132.235.1.2|6275|", "|2|1:2:3:4:5:6:7:8:9|1|", "|2|1::2::3|1|", "|2|12345::|1|", "|2|fe80::1%eth0|1|",
        "|2|:1|1|", "|2|1:|1|", "|2|::g|1|", "|2|1:2:3:4:5:6:7::8|1|", "|1|132.235.01.2|6275|", "|01|1.2.3.4|5|",
        "1132.235.1.216275", "a1a1.2.3.4a5a", ":1:1.2.3.4:5:", " |1|1.2.3.4|5|", "|1|1.2.3.4|06275|",
        "|x|1.2.3.4|5|",
    ])
    func hostileEPRT(_ argument: String) {
        #expect(throws: FTPProtocolError.self) { try FTPHostPort(eprtArgument: argument) }
    }

    @Test func eprtUnsupportedProtocol() {
        #expect(throws: FTPProtocolError.unsupportedNetworkProtocol("3")) {
            try FTPHostPort(eprtArgument: "|3|1.2.3.4|5|")
        }
    }

    @Test func ipv6Text() throws {
        #expect(FTPIPAddress("::")?.description == "::")
        #expect(FTPIPAddress("2001:0db8:0000:0000:0000:0000:0000:0001")?.description == "2001:db8::1")
        #expect(FTPIPAddress("2001:db8:0:1:0:0:1:1")?.description == "2001:db8:0:1::1:1")
        #expect(FTPIPAddress("1:0:2:3:4:5:6:7")?.description == "1:0:2:3:4:5:6:7")
        #expect(FTPIPAddress("::ffff:192.0.2.1")?.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 0, 2, 1])
        #expect(FTPIPAddress("1:2:3:4:5:6:7::") != nil)
        #expect(FTPIPAddress("1:2:3:4:5:6:1.2.3.4") != nil)
        #expect(FTPIPAddress("1:2:3:4:5:6:7:1.2.3.4") == nil)
        #expect(FTPIPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func epsvArgument() throws {
        #expect(try FTPExtendedPassiveArgument(nil) == .any)
        #expect(try FTPExtendedPassiveArgument("all") == .all)
        #expect(try FTPExtendedPassiveArgument("2") == .networkProtocol(2))
        #expect(throws: FTPProtocolError.unsupportedNetworkProtocol("3")) { try FTPExtendedPassiveArgument("3") }
        #expect(throws: FTPProtocolError.self) { try FTPExtendedPassiveArgument("ALL ") }
    }

    @Test func clientSideReplies() throws {
        let endpoint = try FTPHostPort(passiveReplyText: "Entering Passive Mode (192,168,1,20,195,81).")
        #expect(endpoint.description == "192.168.1.20:50001")
        #expect(try FTPHostPort(passiveReplyText: "=10,0,0,1,4,0").port == 1024)
        #expect(throws: FTPProtocolError.self) { try FTPHostPort(passiveReplyText: "Entering Passive Mode (1,2,3,4,5).") }
        #expect(try FTPHostPort.extendedPassivePort(replyText: "Entering Extended Passive Mode (|||50001|)") == 50001)
        #expect(throws: FTPProtocolError.self) { try FTPHostPort.extendedPassivePort(replyText: "(||1|50001|)") }
        #expect(throws: FTPProtocolError.self) { try FTPHostPort.extendedPassivePort(replyText: "(|||0|)") }
        #expect(throws: FTPProtocolError.self) { try FTPHostPort.extendedPassivePort(replyText: "no parens") }
    }
}
