import NIOCore
import Testing

@testable import SFTPProtocol

/// Encodes a request with the code under test; returns the framed bytes.
func encoded(_ request: SFTPRequest) -> [UInt8] {
    var out = ByteBuffer()
    let written = out.writeSFTPRequest(request)
    #expect(written == out.readableBytes)
    return bytes(of: out)
}

/// The packet without its uint32 length, as the frame decoder hands it on.
func unframed(_ framed: [UInt8]) -> [UInt8] {
    let length = framed.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    #expect(length == framed.count - 4)
    return Array(framed.dropFirst(4))
}

func framed(_ packet: [UInt8]) -> [UInt8] {
    withUnsafeBytes(of: UInt32(packet.count).bigEndian) { Array($0) } + packet
}

func decodeResponse(_ packet: [UInt8]) throws(SFTPProtocolError) -> SFTPResponse {
    try SFTPResponse(packet: ByteBuffer(bytes: packet))
}

/// Hand-written response packets (type byte + payload, no length prefix).
enum ResponseVectors {
    /// VERSION 3 with posix-rename@openssh.com "1" and limits@openssh.com "1".
    static let version =
        hex("02 00000003 00000018") + ascii("posix-rename@openssh.com") + hex("00000001 31")
        + hex("00000012") + ascii("limits@openssh.com") + hex("00000001 31")
    /// STATUS id=5 NO_SUCH_FILE "No such file" "en".
    static let status = hex("65 00000005 00000002 0000000c 4e6f20737563682066696c65 00000002 656e")
    /// HANDLE id=1 handle=00000007.
    static let handle = hex("66 00000001 00000004 00000007")
    /// DATA id=2 "hello".
    static let data = hex("67 00000002 00000005 68656c6c6f")
    /// NAME id=3 with "a" / "-rw a" / {size 5, permissions 0100644} and "b" / "b" / {}.
    static let name =
        hex("68 00000003 00000002")
        + hex("00000001 61 00000005 2d72772061 00000005 0000000000000005 000081a4")
        + hex("00000001 62 00000001 62 00000000")
    /// ATTRS id=4 {uid 1000 gid 100, atime 1 mtime 2}.
    static let attrs = hex("69 00000004 0000000a 000003e8 00000064 00000001 00000002")
    /// EXTENDED_REPLY id=6 with payload 0102.
    static let extendedReply = hex("c9 00000006 0102")

    static let all: [(name: String, bytes: [UInt8])] = [
        ("version", version), ("status", status), ("handle", handle), ("data", data), ("name", name),
        ("attrs", attrs), ("extendedReply", extendedReply),
    ]
}

@Suite("SFTPRequest encoding")
struct RequestEncodingTests {
    @Test("every hand-written request vector is encoded back byte for byte", arguments: Vectors.all.map(\.name))
    func encodesTheVectors(name: String) throws {
        let vector = try #require(Vectors.all.first { $0.name == name }).bytes
        let request = try decode(vector)
        #expect(encoded(request) == framed(vector))
    }

    @Test func symlinkIsWrittenTargetFirst() {
        let request = SFTPRequest.symlink(id: 18, targetPath: "/t", linkPath: "/k")
        #expect(encoded(request) == framed(Vectors.symlink))
    }

    @Test func writeCarriesTheDataFromItsReaderIndex() throws {
        var data = ByteBuffer(bytes: [9, 9, 0x68, 0x65, 0x6c, 0x6c, 0x6f])
        data.moveReaderIndex(forwardBy: 2)
        let request = SFTPRequest.write(id: 4, handle: ByteBuffer(string: "h"), offset: 16, data: SFTPPayload(data))
        #expect(encoded(request) == framed(Vectors.write))
    }

    @Test func roundTripsThroughTheServerDecoder() throws {
        var attributes = SFTPFileAttributes(size: 7, uidgid: (1, 2), permissions: 0o644, accessModificationTime: (3, 4))
        attributes.extended = [("x@example.com", "y")]
        let handle = ByteBuffer(bytes: [0, 1, 2, 0xff])
        let requests: [SFTPRequest] = [
            .initialize(version: 3),
            .open(id: 1, path: "/dir/ü f", flags: [.write, .create, .truncate, .exclusive], attributes: attributes),
            .close(id: 2, handle: handle),
            .read(id: .max, handle: handle, offset: .max, length: 261_120),
            .write(id: 4, handle: handle, offset: 1 << 40, data: SFTPPayload(ByteBuffer(bytes: Array(0...255)))),
            .lstat(id: 5, path: "l"), .fstat(id: 6, handle: handle), .setstat(id: 7, path: "s", attributes: attributes),
            .fsetstat(id: 8, handle: handle, attributes: .empty), .opendir(id: 9, path: "."),
            .readdir(id: 10, handle: handle), .remove(id: 11, path: "r"), .mkdir(id: 12, path: "m", attributes: attributes),
            .rmdir(id: 13, path: "m"), .realpath(id: 14, path: ""), .stat(id: 15, path: "/"),
            .rename(id: 16, oldPath: "a", newPath: "b"), .readlink(id: 17, path: "k"),
            .symlink(id: 18, targetPath: "t", linkPath: "k"),
            .extended(id: 19, name: "limits@openssh.com", payload: ByteBuffer()),
        ]
        for request in requests {
            let bytes = encoded(request)
            let decoded = try decode(unframed(bytes))
            #expect(decoded.id == request.id)
            #expect(decoded.packetType == request.packetType)
            #expect(encoded(decoded) == bytes)
        }
    }

    @Test("extended payloads match the hand-written vectors", arguments: ExtendedVectors.all.map(\.name))
    func extendedPayloads(name: String) throws {
        let vector = try #require(ExtendedVectors.all.first { $0.name == name })
        let request = try #require(try SFTPExtendedRequest(name: vector.name, payload: ByteBuffer(bytes: vector.payload)))
        // paramiko's legacy "check-file" name is decoded as check-file-handle, which we send instead.
        #expect(request.name == (vector.name == "check-file" ? "check-file-handle" : vector.name))
        #expect(bytes(of: request.payload) == vector.payload)
    }

    @Test func limitsHasAnEmptyPayload() throws {
        #expect(SFTPExtendedRequest.limits.name == "limits@openssh.com")
        #expect(SFTPExtendedRequest.limits.payload.readableBytes == 0)
        let request = SFTPExtendedRequest.limits.request(id: 19)
        #expect(encoded(request) == framed(Vectors.extended))
    }

    @Test func extendedRequestsRoundTripThroughTheServerDecoder() throws {
        let handle = ByteBuffer(string: "h1")
        let requests: [SFTPExtendedRequest] = [
            .posixRename(oldPath: "a", newPath: "b"), .statvfs(path: "/"), .fstatvfs(handle: handle),
            .hardlink(oldPath: "a", newPath: "b"), .fsync(handle: handle),
            .lsetstat(path: "l", attributes: SFTPFileAttributes(permissions: 0o600)), .limits,
            .expandPath(path: "~/x"),
            .copyData(readHandle: handle, readOffset: 1, readLength: 2, writeHandle: handle, writeOffset: 3),
            .homeDirectory(username: "u"), .usersGroupsByID(uids: [0, 1000], gids: []),
            .checkFile(target: .path("/f"), algorithms: ["sha256", "md5"], startOffset: 0, length: 0, blockSize: 0),
            .checkFile(target: .handle(handle), algorithms: ["sha1"], startOffset: 5, length: 6, blockSize: 256),
        ]
        for request in requests {
            let packet = ByteBuffer(bytes: unframed(encoded(request.request(id: 77))))
            guard case .extended(let id, let name, let payload) = try SFTPRequest(packet: packet) else {
                Issue.record("not decoded as EXTENDED: \(request)")
                continue
            }
            #expect(id == 77)
            #expect(name == request.name)
            let decoded = try #require(try SFTPExtendedRequest(name: name, payload: payload))
            #expect(decoded.name == request.name)
            #expect(bytes(of: decoded.payload) == bytes(of: request.payload))
        }
    }
}

@Suite("SFTPResponse decoding")
struct ResponseDecodingTests {
    @Test func version() throws {
        guard case .version(let version, let extensions) = try decodeResponse(ResponseVectors.version) else {
            Issue.record("not VERSION")
            return
        }
        #expect(version == 3)
        #expect(extensions.map(\.name) == ["posix-rename@openssh.com", "limits@openssh.com"])
        #expect(extensions.map(\.data) == ["1", "1"])
    }

    @Test func versionWithoutExtensions() throws {
        guard case .version(3, let extensions) = try decodeResponse(hex("02 00000003")) else {
            Issue.record("not VERSION 3")
            return
        }
        #expect(extensions.isEmpty)
    }

    @Test func versionWithAHalfExtensionPairThrows() {
        #expect(throws: SFTPProtocolError.truncated(type: 2)) {
            try decodeResponse(hex("02 00000003 00000001 61"))
        }
    }

    @Test func status() throws {
        let response = try decodeResponse(ResponseVectors.status)
        guard case .status(5, let code, let message) = response else {
            Issue.record("not STATUS 5")
            return
        }
        #expect(code == .noSuchFile)
        #expect(message == "No such file")
        #expect(response.id == 5)
    }

    @Test("STATUS without message and language, or without language, as old servers send it")
    func statusWithoutMessage() throws {
        guard case .status(9, .eof, let message) = try decodeResponse(hex("65 00000009 00000001")) else {
            Issue.record("not STATUS 9 EOF")
            return
        }
        #expect(message == "")
        guard case .status(9, .failure, let text) = try decodeResponse(hex("65 00000009 00000004 00000001 78")) else {
            Issue.record("not STATUS 9 FAILURE")
            return
        }
        #expect(text == "x")
    }

    @Test func handle() throws {
        guard case .handle(1, let handle) = try decodeResponse(ResponseVectors.handle) else {
            Issue.record("not HANDLE 1")
            return
        }
        #expect(bytes(of: handle) == [0, 0, 0, 7])
    }

    @Test func data() throws {
        guard case .data(2, let data) = try decodeResponse(ResponseVectors.data) else {
            Issue.record("not DATA 2")
            return
        }
        #expect(String(buffer: data.joined) == "hello")
    }

    @Test func name() throws {
        guard case .name(3, let names) = try decodeResponse(ResponseVectors.name) else {
            Issue.record("not NAME 3")
            return
        }
        #expect(names.map(\.filename) == ["a", "b"])
        #expect(names.map(\.longname) == ["-rw a", "b"])
        #expect(names[0].attributes == SFTPFileAttributes(size: 5, permissions: 0o100644))
        #expect(names[1].attributes == .empty)
    }

    @Test func nameWithACountThePacketCannotHoldThrows() {
        #expect(throws: SFTPProtocolError.truncated(type: 104)) {
            try decodeResponse(hex("68 00000003 ffffffff 00000000"))
        }
    }

    @Test func attributes() throws {
        guard case .attributes(4, let attributes) = try decodeResponse(ResponseVectors.attrs) else {
            Issue.record("not ATTRS 4")
            return
        }
        #expect(attributes == SFTPFileAttributes(uidgid: (1000, 100), accessModificationTime: (1, 2)))
    }

    @Test func extendedReplyKeepsTheRestAsPayload() throws {
        guard case .extendedReply(6, let payload) = try decodeResponse(ResponseVectors.extendedReply) else {
            Issue.record("not EXTENDED_REPLY 6")
            return
        }
        #expect(bytes(of: payload) == [1, 2])
    }

    @Test func requestsAndUnknownTypesAreNotResponses() {
        #expect(throws: SFTPProtocolError.unknownPacketType(3)) { try decodeResponse(Vectors.open) }
        #expect(throws: SFTPProtocolError.unknownPacketType(1)) { try decodeResponse(Vectors.initialize) }
        #expect(throws: SFTPProtocolError.unknownPacketType(99)) { try decodeResponse(hex("63 00000001")) }
        #expect(throws: SFTPProtocolError.emptyPacket) { try decodeResponse([]) }
    }

    @Test("every strict prefix of a response throws, except where the shorter packet is valid")
    func truncatedInputsThrow() {
        // VERSION ends after any whole extension pair.
        let versionBoundaries = [5, 5 + 4 + 24 + 4 + 1]
        for (name, vector) in ResponseVectors.all {
            for length in 0..<vector.count {
                let prefix = Array(vector.prefix(length))
                if name == "version", versionBoundaries.contains(length) {
                    #expect(throws: Never.self) { try decodeResponse(prefix) }
                } else if name == "status", length >= 9 {
                    // The message and the language tag are optional.
                    #expect(throws: Never.self) { try decodeResponse(prefix) }
                } else if name == "extendedReply", length >= 5 {
                    #expect(throws: Never.self) { try decodeResponse(prefix) }
                } else {
                    #expect(throws: SFTPProtocolError.self, "\(name) cut at \(length)") { try decodeResponse(prefix) }
                }
            }
        }
    }

    @Test func peekIDFindsTheIDOfAnUndecodablePacket() {
        #expect(SFTPResponse.peekID(packet: ByteBuffer(bytes: hex("66 0000002a 0000"))) == 42)
        #expect(SFTPResponse.peekID(packet: ByteBuffer(bytes: hex("02 00000003"))) == nil)
        #expect(SFTPResponse.peekID(packet: ByteBuffer(bytes: hex("66 0000"))) == nil)
    }

    @Test func roundTripsThroughTheServerEncoder() throws {
        var attributes = SFTPFileAttributes(size: 1 << 33, uidgid: (0, 0), permissions: 0o40755, accessModificationTime: (9, 8))
        attributes.extended = [("a", "b"), ("c", "")]
        let responses: [SFTPResponse] = [
            .version(version: 3, extensions: [("posix-rename@openssh.com", "1"), ("check-file-name", "1")]),
            .version(version: 6, extensions: []),
            .status(id: 1, code: .ok, message: "Success"),
            .status(id: .max, code: SFTPStatusCode(rawValue: 1234), message: "ünïcode"),
            .handle(id: 2, handle: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])),
            .data(id: 3, data: SFTPPayload(ByteBuffer(bytes: Array(repeating: 0xab, count: 70_000)))),
            .data(id: 3, data: SFTPPayload(ByteBuffer())),
            .name(id: 4, names: []),
            .name(id: 4, names: [
                SFTPName(filename: ".", longname: "drwxr-xr-x .", attributes: attributes),
                SFTPName(filename: "f g", longname: "", attributes: .empty),
            ]),
            .attributes(id: 5, attributes: attributes),
            .attributes(id: 5, attributes: .empty),
            .extendedReply(id: 6, payload: ByteBuffer(bytes: [0, 0, 0, 1, 0x61])),
        ]
        for response in responses {
            var out = ByteBuffer()
            out.writeSFTPResponse(response)
            let original = bytes(of: out)
            let decoded = try decodeResponse(unframed(original))
            #expect(decoded.packetType == response.packetType)
            #expect(decoded.id == response.id)
            var again = ByteBuffer()
            again.writeSFTPResponse(decoded)
            #expect(bytes(of: again) == original)
        }
    }
}

@Suite("Typed extended replies")
struct ExtendedReplyTests {
    @Test func limits() throws {
        let payload = hex("0000000000040400 000000000003fc00 0000000000040000 0000000000000400")
        let limits = try SFTPLimits(payload: ByteBuffer(bytes: payload))
        #expect(limits == SFTPLimits(
            maximumPacketLength: 0x40400, maximumReadLength: 0x3fc00, maximumWriteLength: 0x40000, maximumOpenHandles: 1024))
        #expect(bytes(of: limits.payload) == payload)
        for length in 0..<payload.count {
            #expect(throws: SFTPProtocolError.self) { try SFTPLimits(payload: ByteBuffer(bytes: payload.prefix(length))) }
        }
    }

    @Test func statvfs() throws {
        var payload: [UInt8] = []
        for value in UInt64(1)...11 { payload += withUnsafeBytes(of: (value * 0x0101).bigEndian) { Array($0) } }
        let statistics = try SFTPStatVFS(payload: ByteBuffer(bytes: payload))
        #expect(statistics.blockSize == 0x0101)
        #expect(statistics.fragmentSize == 0x0202)
        #expect(statistics.blocks == 0x0303)
        #expect(statistics.freeBlocks == 0x0404)
        #expect(statistics.availableBlocks == 0x0505)
        #expect(statistics.files == 0x0606)
        #expect(statistics.freeFiles == 0x0707)
        #expect(statistics.availableFiles == 0x0808)
        #expect(statistics.fileSystemID == 0x0909)
        #expect(statistics.flags.rawValue == 0x0a0a)
        #expect(statistics.maximumNameLength == 0x0b0b)
        #expect(statistics.availableBytes == 0x0505 * 0x0202)
        #expect(bytes(of: statistics.payload) == payload)
        for length in 0..<payload.count {
            #expect(throws: SFTPProtocolError.self) { try SFTPStatVFS(payload: ByteBuffer(bytes: payload.prefix(length))) }
        }
    }

    @Test("check-file reply with the leading \"check-file\" string, as paramiko and Wharf send it")
    func checkFileWithLeadingName() throws {
        let payload = hex("0000000a") + ascii("check-file") + hex("00000006") + ascii("sha256") + hex("0102030405")
        let reply = try SFTPCheckFileReply(payload: ByteBuffer(bytes: payload))
        #expect(reply.algorithm == "sha256")
        #expect(reply.hashes == [1, 2, 3, 4, 5])
        #expect(bytes(of: reply.payload) == payload)
    }

    @Test func checkFileWithoutLeadingName() throws {
        let payload = hex("00000003") + ascii("md5") + hex("ff")
        let reply = try SFTPCheckFileReply(payload: ByteBuffer(bytes: payload))
        #expect(reply == SFTPCheckFileReply(algorithm: "md5", hashes: [0xff]))
    }

    @Test func checkFileTruncatedThrows() {
        let payload = hex("0000000a") + ascii("check-file") + hex("00000006") + ascii("sha256")
        for length in 0..<payload.count where length != 14 {
            #expect(throws: SFTPProtocolError.self, "cut at \(length)") {
                try SFTPCheckFileReply(payload: ByteBuffer(bytes: payload.prefix(length)))
            }
        }
    }
}
