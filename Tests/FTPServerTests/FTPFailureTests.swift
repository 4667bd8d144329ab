import FTPProtocol
import Testing
import WharfCore

@testable import FTPServer

@Suite("Storage errors as FTP replies")
struct FTPFailureTests {
    @Test func codes() {
        let cases: [(StorageError.Kind, Int)] = [
            (.notFound, 550), (.permissionDenied, 550), (.readOnly, 550), (.alreadyExists, 550),
            (.notADirectory, 550), (.isADirectory, 550), (.directoryNotEmpty, 550), (.nameTooLong, 553),
            (.invalidArgument, 553), (.noSpace, 452), (.unsupported, 502), (.failure, 451), (.invalidHandle, 451),
        ]
        for (kind, code) in cases {
            let reply = FTPFailure.storage(StorageError(kind, "x"), path: "/a").reply
            #expect(reply.code == code, "\(kind)")
            #expect(reply.lines.first?.hasPrefix("/a: ") == true)
        }
    }

    @Test func temporaryUploadNamesStayWithinNameMax() {
        let long = String(repeating: "é", count: 127)  // 254 bytes
        let name = FTPSession.temporaryName(for: long)
        #expect(name.utf8.count <= 255)
        #expect(name.hasPrefix(".wharf-upload-"))
        #expect(FTPSession.temporaryName(for: "a.txt").hasSuffix("-a.txt"))
    }
}
