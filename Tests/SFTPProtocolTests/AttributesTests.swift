import NIOCore
import Testing

@testable import SFTPProtocol

/// Hand-written ATTRS fragments (draft-ietf-secsh-filexfer-02 section 5), combined in wire order.
enum AttributeVectors {
    /// size 1024
    static let size = hex("0000000000000400")
    /// uid 1000, gid 100
    static let uidgid = hex("000003e8 00000064")
    /// permissions 0100755
    static let permissions = hex("000081ed")
    /// atime 1600000000, mtime 1600000001
    static let times = hex("5f5e1000 5f5e1001")
    /// 2 pairs: "a@b"="x", "c@d"=""
    static let extended = hex("00000002 00000003 614062 00000001 78 00000003 634064 00000000")

    /// Bit 0 size, 1 uidgid, 2 permissions, 3 acmodtime, 4 extended.
    static func combination(_ mask: Int) -> (SFTPFileAttributes, [UInt8]) {
        var attributes = SFTPFileAttributes()
        var flags: UInt32 = 0
        var body: [UInt8] = []
        if mask & 1 != 0 {
            attributes.size = 1024
            flags |= 0x1
            body += size
        }
        if mask & 2 != 0 {
            attributes.uidgid = (1000, 100)
            flags |= 0x2
            body += uidgid
        }
        if mask & 4 != 0 {
            attributes.permissions = 0o100755
            flags |= 0x4
            body += permissions
        }
        if mask & 8 != 0 {
            attributes.accessModificationTime = (1_600_000_000, 1_600_000_001)
            flags |= 0x8
            body += times
        }
        if mask & 16 != 0 {
            attributes.extended = [("a@b", "x"), ("c@d", "")]
            flags |= 0x8000_0000
            body += extended
        }
        let flagBytes = [UInt8(flags >> 24), UInt8(flags >> 16 & 0xff), UInt8(flags >> 8 & 0xff), UInt8(flags & 0xff)]
        return (attributes, flagBytes + body)
    }
}

@Suite("SFTPFileAttributes")
struct AttributesTests {
    @Test("decode every flag combination", arguments: 0..<32)
    func decodeCombination(mask: Int) throws {
        let (expected, wire) = AttributeVectors.combination(mask)
        var input = buffer(wire, hex("ee"))
        let decoded = try #require(readAttributes(&input))
        #expect(decoded == expected)
        #expect(decoded.flags == expected.flags)
        // Only the attributes are consumed.
        #expect(bytes(of: input) == [0xee])
    }

    @Test("round trip every flag combination", arguments: 0..<32)
    func roundTrip(mask: Int) throws {
        let (attributes, wire) = AttributeVectors.combination(mask)
        var out = ByteBuffer()
        let written = out.writeSFTPFileAttributes(attributes)
        #expect(written == wire.count)
        #expect(bytes(of: out) == wire)
        let back = try #require(readAttributes(&out))
        #expect(back == attributes)
        #expect(back.size == attributes.size)
        #expect(back.uidgid?.uid == attributes.uidgid?.uid)
        #expect(back.uidgid?.gid == attributes.uidgid?.gid)
        #expect(back.permissions == attributes.permissions)
        #expect(back.accessModificationTime?.atime == attributes.accessModificationTime?.atime)
        #expect(back.accessModificationTime?.mtime == attributes.accessModificationTime?.mtime)
        #expect(back.extended.map(\.type) == attributes.extended.map(\.type))
        #expect(back.extended.map(\.data) == attributes.extended.map(\.data))
        #expect(out.readableBytes == 0)
    }

    @Test("truncated attributes return nil and keep the reader index", arguments: 0..<32)
    func truncated(mask: Int) {
        let (_, wire) = AttributeVectors.combination(mask)
        for cut in 0..<wire.count {
            // Something before the attributes, so the saved index is not 0.
            var input = buffer(hex("abcd"), Array(wire.prefix(cut)))
            input.moveReaderIndex(forwardBy: 2)
            #expect(readAttributes(&input) == nil, "mask \(mask) cut \(cut)")
            #expect(input.readerIndex == 2, "mask \(mask) cut \(cut)")
            #expect(input.readableBytes == cut)
        }
    }

    @Test func flags() {
        #expect(SFTPFileAttributes.Flags.size.rawValue == 0x1)
        #expect(SFTPFileAttributes.Flags.uidgid.rawValue == 0x2)
        #expect(SFTPFileAttributes.Flags.permissions.rawValue == 0x4)
        #expect(SFTPFileAttributes.Flags.acmodtime.rawValue == 0x8)
        #expect(SFTPFileAttributes.Flags.extended.rawValue == 0x8000_0000)
        #expect(SFTPFileAttributes.empty.flags == [])
    }

    @Test func extendedCountLargerThanTheBufferIsRefused() {
        // count 0xffffffff with one pair present: must be refused up front, not looped over or reserved.
        var input = buffer(hex("abcd 80000000 ffffffff 00000001 61 00000001 62"))
        input.moveReaderIndex(forwardBy: 2)
        let before = input.readerIndex
        #expect(readAttributes(&input) == nil)
        #expect(input.readerIndex == before)
    }

    @Test func extendedCountOneMoreThanPresent() {
        var input = buffer(hex("80000000 00000002 00000001 61 00000001 62"))
        #expect(readAttributes(&input) == nil)
        #expect(input.readerIndex == 0)
    }

    @Test func extendedCountThatFitsByLengthButNotByContent() {
        // 1 pair claimed and 12 bytes remain, but the type string takes 8 of them and no data string follows.
        var input = buffer(hex("80000000 00000001 00000008 61626364 00000000"))
        #expect(readAttributes(&input) == nil)
        #expect(input.readerIndex == 0)
    }

    @Test func extendedWithZeroPairs() throws {
        var input = buffer(hex("80000000 00000000"))
        let attributes = try #require(readAttributes(&input))
        #expect(attributes.extended.isEmpty)
        #expect(input.readableBytes == 0)
    }

    @Test func unknownFlagBitsAreIgnored() throws {
        // Bit 0x10 (not in version 3) carries no field here.
        var input = buffer(hex("00000015 0000000000000007 000001a4"))
        let attributes = try #require(readAttributes(&input))
        #expect(attributes.size == 7)
        #expect(attributes.permissions == 0o644)
        #expect(input.readableBytes == 0)
    }

    @Test func equalityCoversEveryField() {
        let base = SFTPFileAttributes(size: 1, uidgid: (2, 3), permissions: 4, accessModificationTime: (5, 6))
        #expect(base == SFTPFileAttributes(size: 1, uidgid: (2, 3), permissions: 4, accessModificationTime: (5, 6)))
        #expect(base != SFTPFileAttributes(size: 1, uidgid: (2, 4), permissions: 4, accessModificationTime: (5, 6)))
        #expect(base != SFTPFileAttributes(size: 1, uidgid: (2, 3), permissions: 4, accessModificationTime: (5, 7)))
        var withExtended = base
        withExtended.extended = [("a", "b")]
        #expect(base != withExtended)
    }

    @Test func sshStringHelpers() throws {
        var input = buffer(hex("00000003 616263 00000002 c3a9 00000005 6162"))
        #expect(readString(&input) == "abc")
        #expect(readString(&input) == "é")
        let index = input.readerIndex
        #expect(readStringBuffer(&input) == nil)
        #expect(input.readerIndex == index)

        var out = ByteBuffer()
        #expect(out.writeSFTPString("é") == 6)
        #expect(out.writeSFTPString(bytes: [1, 2]) == 6)
        #expect(out.writeSFTPString(ByteBuffer(bytes: [3])) == 5)
        #expect(bytes(of: out) == hex("00000002 c3a9 00000002 0102 00000001 03"))
    }
}
