#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import WharfServer

/// When `wharf sftp-server` writes its replies with blocking writes: only to a pipe that is not
/// also its input.
@Suite("Stdio SFTP server")
struct StdioSFTPServerTests {
    @Test func repliesBlockOnlyOnAPipeOfTheirOwn() throws {
        var input: [CInt] = [0, 0]
        var output: [CInt] = [0, 0]
        var sockets: [CInt] = [0, 0]
        try #require(pipe(&input) == 0 && pipe(&output) == 0)
        try #require(socketpair(AF_UNIX, CInt(SOCK_STREAM.rawValue), 0, &sockets) == 0)
        defer { for descriptor in input + output + sockets { close(descriptor) } }

        // sshd's two pipes: stdin is one pipe's read end, stdout another's write end.
        #expect(StdioSFTPServer.outputMayBlock(input: input[0], output: output[1]))
        // One socket for both: blocking it would block the reads as well.
        #expect(!StdioSFTPServer.outputMayBlock(input: sockets[0], output: sockets[0]))
        // A socket as stdout, or stdin and stdout on the same pipe: left non-blocking.
        #expect(!StdioSFTPServer.outputMayBlock(input: input[0], output: sockets[1]))
        #expect(!StdioSFTPServer.outputMayBlock(input: output[0], output: output[1]))
        // Not open: nothing is changed.
        #expect(!StdioSFTPServer.outputMayBlock(input: input[0], output: -1))
    }
}
