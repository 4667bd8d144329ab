import NIOCore
import Testing

@testable import SFTPProtocol

@Suite("SFTPResponse encoding")
struct ResponseEncodingTests {
    @Test func versionWithoutExtensions() {
        #expect(encoded(.version(version: 3, extensions: [])) == hex("00000005 02 00000003"))
    }

    @Test func versionWithExtensions() {
        let response = SFTPResponse.version(
            version: 3, extensions: [("posix-rename@openssh.com", "1"), ("statvfs@openssh.com", "2")])
        let expected =
            hex("00000042 02 00000003 00000018") + ascii("posix-rename@openssh.com") + hex("00000001 31")
            + hex("00000013") + ascii("statvfs@openssh.com") + hex("00000001 32")
        #expect(encoded(response) == expected)
        #expect(response.packetType == .version)
    }

    @Test func status() {
        let response = SFTPResponse.status(id: 5, code: .noSuchFile, message: "No such file")
        let expected = hex("0000001f 65 00000005 00000002 0000000c 4e6f20737563682066696c65 00000002 656e")
        #expect(encoded(response) == expected)
        #expect(response.packetType == .status)
    }

    @Test func statusWithEmptyMessage() {
        let response = SFTPResponse.status(id: 1, code: .ok, message: "")
        #expect(encoded(response) == hex("00000013 65 00000001 00000000 00000000 00000002 656e"))
    }

    @Test func statusWithUnknownCode() {
        let response = SFTPResponse.status(id: 0xffff_ffff, code: SFTPStatusCode(rawValue: 0x1234), message: "x")
        #expect(encoded(response) == hex("00000014 65 ffffffff 00001234 00000001 78 00000002 656e"))
    }

    @Test func handle() {
        let response = SFTPResponse.handle(id: 1, handle: ByteBuffer(bytes: [0, 0, 0, 7]))
        #expect(encoded(response) == hex("0000000d 66 00000001 00000004 00000007"))
        #expect(response.packetType == .handle)
    }

    @Test func data() {
        let response = SFTPResponse.data(id: 2, data: SFTPPayload(ByteBuffer(string: "hello")))
        #expect(encoded(response) == hex("0000000e 67 00000002 00000005 68656c6c6f"))
        #expect(response.packetType == .data)
    }

    @Test func emptyData() {
        #expect(encoded(.data(id: 2, data: SFTPPayload(ByteBuffer()))) == hex("00000009 67 00000002 00000000"))
    }

    @Test func dataSliceIsWrittenFromItsReaderIndex() {
        var data = ByteBuffer(bytes: [9, 9, 1, 2, 3])
        data.moveReaderIndex(forwardBy: 2)
        #expect(encoded(.data(id: 2, data: SFTPPayload(data))) == hex("0000000c 67 00000002 00000003 010203"))
    }

    @Test func nameWithSeveralEntries() {
        let response = SFTPResponse.name(
            id: 3,
            names: [
                SFTPName(filename: "a", longname: "la", attributes: SFTPFileAttributes(size: 5)),
                SFTPName(filename: "dir", longname: "ld", attributes: SFTPFileAttributes(permissions: 0o40755)),
                SFTPName(filename: "b", longname: "", attributes: .empty),
            ])
        let expected = hex(
            """
            00000042 68 00000003 00000003
            00000001 61 00000002 6c61 00000001 0000000000000005
            00000003 646972 00000002 6c64 00000004 000041ed
            00000001 62 00000000 00000000
            """)
        #expect(encoded(response) == expected)
        #expect(response.packetType == .name)
    }

    @Test func nameWithNoEntries() {
        #expect(encoded(.name(id: 3, names: [])) == hex("00000009 68 00000003 00000000"))
    }

    @Test func nameWithUTF8Filename() {
        // "é" is c3 a9: the string length counts bytes, not characters.
        let response = SFTPResponse.name(
            id: 1, names: [SFTPName(filename: "é", longname: "é", attributes: .empty)])
        #expect(encoded(response) == hex("00000019 68 00000001 00000001 00000002 c3a9 00000002 c3a9 00000000"))
    }

    @Test("ATTRS with every flag combination", arguments: 0..<32)
    func attributes(mask: Int) {
        let (attributes, attributeBytes) = AttributeVectors.combination(mask)
        let response = SFTPResponse.attributes(id: 0x0a0b_0c0d, attributes: attributes)
        let length = UInt32(1 + 4 + attributeBytes.count)
        let expected =
            [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
            + hex("69 0a0b0c0d") + attributeBytes
        #expect(encoded(response) == expected)
        #expect(response.packetType == .attrs)
    }

    @Test func attributesEmpty() {
        #expect(encoded(.attributes(id: 1, attributes: .empty)) == hex("00000009 69 00000001 00000000"))
    }

    @Test func attributesAll() {
        var attributes = SFTPFileAttributes(
            size: 1024, uidgid: (1000, 100), permissions: 0o100755, accessModificationTime: (1_600_000_000, 1_600_000_001))
        attributes.extended = [("a@b", "x")]
        let expected = hex(
            """
            00000035 69 00000001
            8000000f 0000000000000400 000003e8 00000064 000081ed 5f5e1000 5f5e1001
            00000001 00000003 614062 00000001 78
            """)
        #expect(encoded(.attributes(id: 1, attributes: attributes)) == expected)
    }

    @Test func extendedReply() {
        let response = SFTPResponse.extendedReply(id: 4, payload: ByteBuffer(bytes: [0xde, 0xad, 0xbe, 0xef]))
        #expect(encoded(response) == hex("00000009 c9 00000004 deadbeef"))
        #expect(response.packetType == .extendedReply)
    }

    @Test func extendedReplyWithEmptyPayload() {
        #expect(encoded(.extendedReply(id: 4, payload: ByteBuffer())) == hex("00000005 c9 00000004"))
    }

    @Test func appendsAfterExistingBytes() {
        var out = ByteBuffer(bytes: [0xaa, 0xbb])
        let first = out.writeSFTPResponse(.data(id: 2, data: SFTPPayload(ByteBuffer(string: "hello"))))
        let second = out.writeSFTPResponse(.handle(id: 1, handle: ByteBuffer(bytes: [0, 0, 0, 7])))
        #expect(first == 18)
        #expect(second == 17)
        #expect(
            bytes(of: out)
                == hex("aabb") + hex("0000000e 67 00000002 00000005 68656c6c6f")
                + hex("0000000d 66 00000001 00000004 00000007"))
    }

    @Test func statusCodes() {
        let codes: [(SFTPStatusCode, UInt32, String)] = [
            (.ok, 0, "Success"), (.eof, 1, "End of file"), (.noSuchFile, 2, "No such file"),
            (.permissionDenied, 3, "Permission denied"), (.failure, 4, "Failure"), (.badMessage, 5, "Bad message"),
            (.noConnection, 6, "No connection"), (.connectionLost, 7, "Connection lost"),
            (.operationUnsupported, 8, "Operation unsupported"),
        ]
        for (code, raw, message) in codes {
            #expect(code.rawValue == raw)
            #expect(code.defaultMessage == message)
            #expect(code.description == "\(message) (\(raw))")
        }
        #expect(SFTPStatusCode(rawValue: 9).defaultMessage == "Unknown error")
    }

    @Test func packetTypeNumbers() {
        // draft-ietf-secsh-filexfer-02 section 3.
        let expected: [(SFTPPacketType, UInt8)] = [
            (.initialize, 1), (.version, 2), (.open, 3), (.close, 4), (.read, 5), (.write, 6), (.lstat, 7),
            (.fstat, 8), (.setstat, 9), (.fsetstat, 10), (.opendir, 11), (.readdir, 12), (.remove, 13),
            (.mkdir, 14), (.rmdir, 15), (.realpath, 16), (.stat, 17), (.rename, 18), (.readlink, 19),
            (.symlink, 20), (.status, 101), (.handle, 102), (.data, 103), (.name, 104), (.attrs, 105),
            (.extended, 200), (.extendedReply, 201),
        ]
        #expect(expected.count == SFTPPacketType.allCases.count)
        for (type, raw) in expected { #expect(type.rawValue == raw) }
    }
}
