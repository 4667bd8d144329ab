import NIOCore
import Testing

@testable import FTPServer

@Suite("TYPE A translation")
struct ASCIITranslatorTests {
    private func outgoing(_ chunks: [String]) -> String {
        var translator = ASCIITranslator()
        var result = ""
        for chunk in chunks {
            result += String(buffer: translator.toNetwork(ByteBuffer(string: chunk)))
        }
        return result
    }

    private func incoming(_ chunks: [String]) -> String {
        var translator = ASCIITranslator()
        var result = ""
        for chunk in chunks {
            result += String(buffer: translator.fromNetwork(ByteBuffer(string: chunk)))
        }
        if let last = translator.finishFromNetwork() { result += String(buffer: last) }
        return result
    }

    @Test func lineFeedsBecomeCRLFOnTheWay() {
        #expect(self.outgoing(["a\nb\n"]) == "a\r\nb\r\n")
        #expect(self.outgoing(["a\r\nb"]) == "a\r\nb", "an existing CRLF is not doubled")
        #expect(self.outgoing(["a\r", "\nb"]) == "a\r\nb", "a CRLF split across buffers is not doubled")
        #expect(self.outgoing(["\n\n"]) == "\r\n\r\n")
    }

    @Test func crlfBecomesLineFeedOnArrival() {
        #expect(self.incoming(["a\r\nb\r\n"]) == "a\nb\n")
        #expect(self.incoming(["a\r", "\nb"]) == "a\nb", "split across buffers")
        #expect(self.incoming(["a\rb"]) == "a\rb", "a lone CR stays")
        #expect(self.incoming(["a\r"]) == "a\r", "a CR at the very end stays")
        #expect(self.incoming(["\r\r\n"]) == "\r\n")
    }

    @Test func byteByByteMatchesWhole() {
        let text = "one\r\ntwo\nthree\r\r\nfour\r"
        let bytes = text.map { String($0) }
        #expect(self.incoming(bytes) == self.incoming([text]))
        #expect(self.outgoing(bytes) == self.outgoing([text]))
    }
}
