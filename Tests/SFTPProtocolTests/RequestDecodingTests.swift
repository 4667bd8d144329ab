import NIOCore
import Testing

@testable import SFTPProtocol

/// Hand-written request packets (type byte + payload, no length prefix), draft-ietf-secsh-filexfer-02.
enum Vectors {
    /// SSH_FXP_INIT, version 3.
    static let initialize = hex("01 00000003")
    /// SSH_FXP_OPEN id=1 path="/a" pflags=READ attrs={}.
    static let open = hex("03 00000001 00000002 2f61 00000001 00000000")
    /// SSH_FXP_CLOSE id=2 handle=00 01 02 03.
    static let close = hex("04 00000002 00000004 00010203")
    /// SSH_FXP_READ id=3 handle="h" offset=0x0102030405060708 len=32768.
    static let read = hex("05 00000003 00000001 68 0102030405060708 00008000")
    /// SSH_FXP_WRITE id=4 handle="h" offset=16 data="hello".
    static let write = hex("06 00000004 00000001 68 0000000000000010 00000005 68656c6c6f")
    /// SSH_FXP_LSTAT id=5 path="/l".
    static let lstat = hex("07 00000005 00000002 2f6c")
    /// SSH_FXP_FSTAT id=6 handle="h".
    static let fstat = hex("08 00000006 00000001 68")
    /// SSH_FXP_SETSTAT id=7 path="/s" attrs={permissions 0644}.
    static let setstat = hex("09 00000007 00000002 2f73 00000004 000001a4")
    /// SSH_FXP_FSETSTAT id=8 handle="h" attrs={size 5}.
    static let fsetstat = hex("0a 00000008 00000001 68 00000001 0000000000000005")
    /// SSH_FXP_OPENDIR id=9 path="/".
    static let opendir = hex("0b 00000009 00000001 2f")
    /// SSH_FXP_READDIR id=10 handle="d1".
    static let readdir = hex("0c 0000000a 00000002 6431")
    /// SSH_FXP_REMOVE id=11 path="/r".
    static let remove = hex("0d 0000000b 00000002 2f72")
    /// SSH_FXP_MKDIR id=12 path="/m" attrs={permissions 0755}.
    static let mkdir = hex("0e 0000000c 00000002 2f6d 00000004 000001ed")
    /// SSH_FXP_RMDIR id=13 path="/m".
    static let rmdir = hex("0f 0000000d 00000002 2f6d")
    /// SSH_FXP_REALPATH id=14 path=".".
    static let realpath = hex("10 0000000e 00000001 2e")
    /// SSH_FXP_STAT id=15 path="/s".
    static let stat = hex("11 0000000f 00000002 2f73")
    /// SSH_FXP_RENAME id=16 old="/o" new="/n".
    static let rename = hex("12 00000010 00000002 2f6f 00000002 2f6e")
    /// SSH_FXP_READLINK id=17 path="/k".
    static let readlink = hex("13 00000011 00000002 2f6b")
    /// SSH_FXP_SYMLINK id=18, OpenSSH order: target="/t" then link="/k".
    static let symlink = hex("14 00000012 00000002 2f74 00000002 2f6b")
    /// SSH_FXP_EXTENDED id=19 name="limits@openssh.com", no payload.
    static let extended = hex("c8 00000013 00000012") + ascii("limits@openssh.com")

    static let all: [(name: String, bytes: [UInt8])] = [
        ("init", initialize), ("open", open), ("close", close), ("read", read), ("write", write),
        ("lstat", lstat), ("fstat", fstat), ("setstat", setstat), ("fsetstat", fsetstat),
        ("opendir", opendir), ("readdir", readdir), ("remove", remove), ("mkdir", mkdir), ("rmdir", rmdir),
        ("realpath", realpath), ("stat", stat), ("rename", rename), ("readlink", readlink),
        ("symlink", symlink), ("extended", extended),
    ]
}

@Suite("SFTPRequest decoding")
struct RequestDecodingTests {
    @Test func initialize() throws {
        let request = try decode(Vectors.initialize)
        guard case .initialize(let version) = request else { Issue.record("got \(request)"); return }
        #expect(version == 3)
        #expect(request.id == nil)
        #expect(request.packetType == .initialize)
    }

    @Test func open() throws {
        let request = try decode(Vectors.open)
        guard case .open(let id, let path, let flags, let attributes) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(id == 1)
        #expect(path == "/a")
        #expect(flags == .read)
        #expect(attributes == .empty)
        #expect(request.id == 1)
        #expect(request.packetType == .open)
    }

    static let openFlagCases: [(UInt8, SFTPOpenFlags)] = [
        (0x01, .read),
        (0x02, .write),
        (0x04, .append),
        (0x08, .create),
        (0x10, .truncate),
        (0x20, .exclusive),
        (0x1a, [.write, .create, .truncate]),
        (0x2b, [.read, .write, .create, .exclusive]),
        (0x3f, [.read, .write, .append, .create, .truncate, .exclusive]),
    ]

    @Test("OPEN with each pflag", arguments: Self.openFlagCases)
    func openFlags(raw: UInt8, expected: SFTPOpenFlags) throws {
        let packet = hex("03 00000021 00000004 2f612f62 000000") + [raw] + hex("00000000")
        let request = try decode(packet)
        guard case .open(let id, let path, let flags, let attributes) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(id == 0x21)
        #expect(path == "/a/b")
        #expect(flags == expected)
        #expect(flags.rawValue == UInt32(raw))
        #expect(attributes == .empty)
    }

    @Test func openWithAllAttributes() throws {
        // pflags WRITE|CREAT|TRUNC; attrs flags SIZE|UIDGID|PERMISSIONS|ACMODTIME|EXTENDED.
        let packet = hex(
            """
            03 00000022 00000002 2f66 0000001a
            8000000f 0000000000001000 000003e8 000003e9 000081a4 5f5e1000 5f5e1001
            00000001 00000003 666f6f 00000003 626172
            """)
        let request = try decode(packet)
        guard case .open(_, let path, let flags, let attributes) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(path == "/f")
        #expect(flags == [.write, .create, .truncate])
        #expect(attributes.size == 4096)
        #expect(attributes.uidgid?.uid == 1000)
        #expect(attributes.uidgid?.gid == 1001)
        #expect(attributes.permissions == 0o100644)
        #expect(attributes.accessModificationTime?.atime == 1_600_000_000)
        #expect(attributes.accessModificationTime?.mtime == 1_600_000_001)
        #expect(attributes.extended.count == 1)
        #expect(attributes.extended.first?.type == "foo")
        #expect(attributes.extended.first?.data == "bar")
        #expect(attributes.flags == [.size, .uidgid, .permissions, .acmodtime, .extended])
    }

    @Test func close() throws {
        let request = try decode(Vectors.close)
        guard case .close(let id, let handle) = request else { Issue.record("got \(request)"); return }
        #expect(id == 2)
        #expect(bytes(of: handle) == [0, 1, 2, 3])
        #expect(request.packetType == .close)
    }

    @Test func read() throws {
        let request = try decode(Vectors.read)
        guard case .read(let id, let handle, let offset, let length) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(id == 3)
        #expect(bytes(of: handle) == ascii("h"))
        #expect(offset == 0x0102_0304_0506_0708)
        #expect(length == 32768)
    }

    @Test func write() throws {
        let request = try decode(Vectors.write)
        guard case .write(let id, let handle, let offset, let data) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(id == 4)
        #expect(bytes(of: handle) == ascii("h"))
        #expect(offset == 16)
        #expect(bytes(of: data) == ascii("hello"))
    }

    @Test func writeWithEmptyDataAndBinaryBytes() throws {
        let empty = try decode(hex("06 00000004 00000001 68 ffffffffffffffff 00000000"))
        guard case .write(_, _, let offset, let data) = empty else { Issue.record("got \(empty)"); return }
        #expect(offset == UInt64.max)
        #expect(data.readableBytes == 0)

        let binary = try decode(hex("06 00000004 00000001 68 0000000000000000 00000004 00ff80fe"))
        guard case .write(_, _, _, let payload) = binary else { Issue.record("got \(binary)"); return }
        #expect(bytes(of: payload) == [0x00, 0xff, 0x80, 0xfe])
    }

    @Test func lstat() throws {
        let request = try decode(Vectors.lstat)
        guard case .lstat(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 5)
        #expect(path == "/l")
    }

    @Test func fstat() throws {
        let request = try decode(Vectors.fstat)
        guard case .fstat(let id, let handle) = request else { Issue.record("got \(request)"); return }
        #expect(id == 6)
        #expect(bytes(of: handle) == ascii("h"))
    }

    @Test func setstat() throws {
        let request = try decode(Vectors.setstat)
        guard case .setstat(let id, let path, let attributes) = request else { Issue.record("got \(request)"); return }
        #expect(id == 7)
        #expect(path == "/s")
        #expect(attributes == SFTPFileAttributes(permissions: 0o644))
    }

    @Test func fsetstat() throws {
        let request = try decode(Vectors.fsetstat)
        guard case .fsetstat(let id, let handle, let attributes) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(id == 8)
        #expect(bytes(of: handle) == ascii("h"))
        #expect(attributes == SFTPFileAttributes(size: 5))
    }

    @Test func opendir() throws {
        let request = try decode(Vectors.opendir)
        guard case .opendir(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 9)
        #expect(path == "/")
    }

    @Test func readdir() throws {
        let request = try decode(Vectors.readdir)
        guard case .readdir(let id, let handle) = request else { Issue.record("got \(request)"); return }
        #expect(id == 10)
        #expect(bytes(of: handle) == ascii("d1"))
    }

    @Test func remove() throws {
        let request = try decode(Vectors.remove)
        guard case .remove(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 11)
        #expect(path == "/r")
    }

    @Test func mkdir() throws {
        let request = try decode(Vectors.mkdir)
        guard case .mkdir(let id, let path, let attributes) = request else { Issue.record("got \(request)"); return }
        #expect(id == 12)
        #expect(path == "/m")
        #expect(attributes.permissions == 0o755)
        #expect(attributes.flags == .permissions)
    }

    @Test func rmdir() throws {
        let request = try decode(Vectors.rmdir)
        guard case .rmdir(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 13)
        #expect(path == "/m")
    }

    @Test func realpath() throws {
        let request = try decode(Vectors.realpath)
        guard case .realpath(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 14)
        #expect(path == ".")
    }

    @Test func realpathWithTrailingControlByteIsAccepted() throws {
        // Some clients append version 6 fields (control-byte, compose-path); they are ignored.
        let request = try decode(hex("10 0000000e 00000001 2e 01 00000002 2f78"))
        guard case .realpath(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 14)
        #expect(path == ".")
    }

    @Test func stat() throws {
        let request = try decode(Vectors.stat)
        guard case .stat(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 15)
        #expect(path == "/s")
    }

    @Test func rename() throws {
        let request = try decode(Vectors.rename)
        guard case .rename(let id, let oldPath, let newPath) = request else { Issue.record("got \(request)"); return }
        #expect(id == 16)
        #expect(oldPath == "/o")
        #expect(newPath == "/n")
    }

    @Test func readlink() throws {
        let request = try decode(Vectors.readlink)
        guard case .readlink(let id, let path) = request else { Issue.record("got \(request)"); return }
        #expect(id == 17)
        #expect(path == "/k")
    }

    @Test("SYMLINK follows OpenSSH: target first, then link path")
    func symlink() throws {
        let request = try decode(Vectors.symlink)
        guard case .symlink(let id, let targetPath, let linkPath) = request else {
            Issue.record("got \(request)")
            return
        }
        #expect(id == 18)
        #expect(targetPath == "/t")
        #expect(linkPath == "/k")
    }

    @Test func extended() throws {
        let request = try decode(Vectors.extended)
        guard case .extended(let id, let name, let payload) = request else { Issue.record("got \(request)"); return }
        #expect(id == 19)
        #expect(name == "limits@openssh.com")
        #expect(payload.readableBytes == 0)
        #expect(request.packetType == .extended)
    }

    @Test func extendedKeepsTheRestAsPayload() throws {
        let packet = hex("c8 00000014 00000003 666f6f 01020304 05")
        let request = try decode(packet)
        guard case .extended(let id, let name, let payload) = request else { Issue.record("got \(request)"); return }
        #expect(id == 20)
        #expect(name == "foo")
        #expect(bytes(of: payload) == [1, 2, 3, 4, 5])
    }

    @Test func utf8Paths() throws {
        // "/é" is 2f c3 a9; invalid UTF-8 (ff) is replaced, not refused.
        let request = try decode(hex("11 00000001 00000003 2fc3a9"))
        guard case .stat(_, let path) = request else { Issue.record("got \(request)"); return }
        #expect(path == "/é")
        let invalid = try decode(hex("11 00000001 00000002 2fff"))
        guard case .stat(_, let replaced) = invalid else { Issue.record("got \(invalid)"); return }
        #expect(replaced == "/\u{FFFD}")
    }

    @Test("every request carries its id and type", arguments: Vectors.all.map(\.name))
    func idsAndTypes(name: String) throws {
        let vector = try #require(Vectors.all.first { $0.name == name }).bytes
        let request = try decode(vector)
        #expect(request.packetType.rawValue == vector[0])
        if vector[0] == 1 {
            #expect(request.id == nil)
        } else {
            let id = UInt32(vector[1]) << 24 | UInt32(vector[2]) << 16 | UInt32(vector[3]) << 8 | UInt32(vector[4])
            #expect(request.id == id)
        }
    }

    @Test func decodingDoesNotConsumeTheCallersBuffer() throws {
        var packet = ByteBuffer(bytes: hex("ff ff") + Vectors.stat)
        packet.moveReaderIndex(forwardBy: 2)
        let request = try SFTPRequest(packet: packet)
        guard case .stat(let id, _) = request else { Issue.record("got \(request)"); return }
        #expect(id == 15)
        #expect(packet.readerIndex == 2)
    }
}
