import NIOCore
import Testing

@testable import FTPProtocol

/// Seconds since the epoch of a `YYYYMMDDHHMMSS` UTC literal.
private func utc(_ text: String) throws -> Int64 {
    try FTPTimestamp(parsing: text).secondsSinceEpoch
}

/// 2026-11-22 20:38:00 UTC, an hour after the listings' usual 19:38.
private let now: Int64 = 1_795_379_880

private func list(_ line: String, at reference: Int64 = now) -> FTPRemoteEntry? {
    FTPListParser.parseListLine(line, referenceTime: reference)
}

@Suite("FTPListParser MLSx")
struct MLSxParserTests {
    @Test func pyftpdlib() throws {
        let file = try #require(FTPListParser.parseMLSxLine(
            "type=file;size=156;perm=radfwMT;modify=20261122193800;unix.mode=0644;unix.uid=1000;unix.gid=1000;unique=803g12; music.mp3"))
        #expect(file.name == "music.mp3")
        #expect(file.kind == .file)
        #expect(file.size == 156)
        #expect(file.modificationTime == 1_795_376_280)
        #expect(file.permissions == 0o644)
        #expect(file.owner == "1000")
        #expect(file.group == "1000")
        #expect(file.role == .entry)
        #expect(file.facts["perm"] == "radfwMT")
        #expect(file.facts["unique"] == "803g12")
        let dir = try #require(FTPListParser.parseMLSxLine(
            "type=dir;size=4096;perm=elradfmwMT;modify=20251122193800;unix.mode=0755;unique=803g13; pub"))
        #expect(dir.kind == .directory)
        #expect(dir.size == 4096)
        #expect(dir.permissions == 0o755)
        #expect(dir.modificationTime == (try utc("20251122193800")))
    }

    @Test func proftpd() throws {
        let lines = [
            "modify=20261122193800;perm=flcdmpe;type=cdir;unique=FD00U2A0008;UNIX.group=1000;UNIX.groupname=ftp;UNIX.mode=02755;UNIX.owner=1000;UNIX.ownername=ftp; .",
            "modify=20261122193800;perm=flcdmpe;type=pdir;unique=FD00U2;UNIX.group=0;UNIX.groupname=root;UNIX.mode=0755;UNIX.owner=0;UNIX.ownername=root; ..",
            "modify=20261122193800;perm=adfrw;size=1234;type=file;unique=FD00U2A000A;UNIX.group=1000;UNIX.groupname=ftp;UNIX.mode=0644;UNIX.owner=1000;UNIX.ownername=ftp; a file; with; semicolons",
            "modify=20261122193800;perm=adfrw;size=6;type=OS.unix=slink:/srv/ftp/pub;unique=FD00U2A000B;UNIX.group=1000;UNIX.mode=0777;UNIX.owner=1000; latest",
        ]
        let entries = lines.map { FTPListParser.parseMLSxLine($0) }
        #expect(entries.map { $0?.role } == [.current, .parent, .entry, .entry])
        #expect(entries[0]?.isCurrentOrParent == true)
        #expect(entries[0]?.permissions == 0o2755)
        #expect(entries[0]?.owner == "ftp")
        #expect(entries[0]?.group == "ftp")
        #expect(entries[2]?.name == "a file; with; semicolons")
        #expect(entries[2]?.size == 1234)
        #expect(entries[2]?.isCurrentOrParent == false)
        #expect(entries[3]?.kind == .symlink(target: "/srv/ftp/pub"))
        #expect(entries[3]?.name == "latest")
        #expect(entries[3]?.facts["unix.owner"] == "1000")
    }

    @Test func pureFTPd() throws {
        let listing = "type=cdir;sizd=4096;modify=20261122193800;UNIX.mode=0755;UNIX.uid=1000;UNIX.gid=1000;unique=803g2; .\r\n"
            + "type=pdir;sizd=4096;modify=20261122193800;UNIX.mode=0755;UNIX.uid=0;UNIX.gid=0;unique=803g1; ..\r\n"
            + "type=dir;sizd=4096;modify=20261122193800;UNIX.mode=0700;UNIX.uid=1000;UNIX.gid=1000;unique=803g3; private\r\n"
            + "type=file;size=0;modify=20261122193800;UNIX.mode=0600;UNIX.uid=1000;UNIX.gid=1000;unique=803g4; empty\r\n"
        let entries = FTPListParser.parseMLSD(listing)
        #expect(entries.map(\.name) == [".", "..", "private", "empty"])
        #expect(entries.filter { !$0.isCurrentOrParent }.map(\.name) == ["private", "empty"])
        #expect(entries[2].size == 4096)  // sizd
        #expect(entries[2].permissions == 0o700)
        #expect(entries[3].size == 0)
        #expect(entries[3].owner == "1000")
    }

    @Test func fileZillaServerAndIIS() throws {
        let filezilla = try #require(FTPListParser.parseMLSxLine(
            "type=file;size=1234;modify=20261122193800.123;perm=awrfd; Report 2026.pdf"))
        #expect(filezilla.modificationTime == 1_795_376_280)
        #expect(filezilla.name == "Report 2026.pdf")
        let iis = try #require(FTPListParser.parseMLSxLine("modify=20261122193800;type=dir; aspnet_client"))
        #expect(iis.kind == .directory)
        #expect(iis.size == nil)
        #expect(iis.permissions == nil)
    }

    @Test func factsAreCaseInsensitiveAndNamesVerbatim() throws {
        let entry = try #require(FTPListParser.parseMLSxLine("Type=File;SIZE=12;Modify=20261122193800;Perm=r;  two  spaces "))
        #expect(entry.kind == .file)
        #expect(entry.size == 12)
        #expect(entry.facts == ["type": "File", "size": "12", "modify": "20261122193800", "perm": "r"])
        #expect(entry.name == " two  spaces ")
        #expect(FTPListParser.parseMLSxLine("type=file; naïve 文件.txt")?.name == "naïve 文件.txt")
        #expect(FTPListParser.parseMLSxLine("type=file; x\r")?.name == "x")
        // A missing final `;` and empty facts are tolerated.
        #expect(FTPListParser.parseMLSxLine("type=file;;size=3 x")?.size == 3)
    }

    @Test func symlinkForms() {
        // The first space ends the facts, so a target with a space cannot be told from the name.
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=slink:/a b; l")?.name == "b; l")
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=slink:a/b; l")?.kind == .symlink(target: "a/b"))
        #expect(FTPListParser.parseMLSxLine("type=OS.UNIX=SLINK:A/B; l")?.kind == .symlink(target: "A/B"))
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=slink; l")?.kind == .symlink(target: nil))
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=slink:; l")?.kind == .symlink(target: nil))
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=symlink; l")?.kind == .symlink(target: nil))
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=symlink:t; l")?.kind == .symlink(target: "t"))
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=chr-13/29; tty")?.kind == .other)
        #expect(FTPListParser.parseMLSxLine("type=OS.unix=slinky; l")?.kind == .other)
        #expect(FTPListParser.parseMLSxLine("size=1; nokind")?.kind == .other)
    }

    @Test func badFactValuesLeaveFieldsEmpty() throws {
        let entry = try #require(FTPListParser.parseMLSxLine(
            "type=file;size=12a;modify=2026;unix.mode=0899; x"))
        #expect(entry.size == nil)
        #expect(entry.modificationTime == nil)
        #expect(entry.permissions == nil)
        #expect(FTPListParser.parseMLSxLine("size=99999999999999999999999;type=file; x")?.size == nil)
        #expect(FTPListParser.parseMLSxLine("unix.mode=100644;type=file; x")?.permissions == 0o644)
    }

    @Test(arguments: ["", "name", "type=file;", "type=file; ", "bogus; name", "=x; name", "a=b;c; name", "hello world"])
    func unparseable(_ line: String) {
        #expect(FTPListParser.parseMLSxLine(line) == nil)
    }

    @Test func leadingSpace() throws {
        // The MLST fact line …
        let mlst = try #require(FTPListParser.parseMLSxLine(" type=file;size=1; /home/a b.txt"))
        #expect(mlst.name == "/home/a b.txt")
        #expect(mlst.size == 1)
        // … and MLSD entries without facts (OPTS MLST with none selected).
        #expect(FTPListParser.parseMLSxLine(" name")?.name == "name")
        #expect(FTPListParser.parseMLSxLine(" name")?.facts == [:])
        #expect(FTPListParser.parseMLSxLine(" a b")?.name == "a b")
    }

    @Test func mlstReply() throws {
        let reply = FTPReply(code: 250, lines: ["Listing /a b", " type=file;size=1234;modify=20261122193800; /a b", "End"])
        let entry = try #require(FTPListParser.parseMLSTReply(reply))
        #expect(entry.name == "/a b")
        #expect(entry.size == 1234)
        let noFacts = FTPReply(code: 250, lines: ["Listing x", "  /x", "End"])
        #expect(FTPListParser.parseMLSTReply(noFacts)?.name == "/x")
        // Servers that leave out the leading space.
        let unspaced = FTPReply(code: 250, lines: ["Listing x", "type=dir;modify=20261122193800; /x", "End"])
        #expect(FTPListParser.parseMLSTReply(unspaced)?.kind == .directory)
        #expect(FTPListParser.parseMLSTReply(FTPReply(code: 550, "No such file")) == nil)
        #expect(FTPListParser.parseMLSTReply(FTPReply(code: 250, "ok")) == nil)
    }

    @Test func mlstReplyThroughTheDecoder() throws {
        // The whole client path: server formatter, wire, reply decoder, parser.
        let entry = FTPListEntry(name: "a;b c", kind: .file, size: 9, mode: 0o640, modificationTime: 1_795_376_280)
        var buffer = ByteBuffer()
        FTPListing.mlstReply(entry, pathname: "/dir/a;b c", allowed: .all).write(to: &buffer)
        var decoder = FTPReplyDecoder()
        let reply = try #require(try decoder.decode(buffer: &buffer))
        let parsed = try #require(FTPListParser.parseMLSTReply(reply))
        #expect(parsed.name == "/dir/a;b c")
        #expect(parsed.size == 9)
        #expect(parsed.permissions == 0o640)
        #expect(parsed.modificationTime == 1_795_376_280)
    }

    @Test func parseMLSDSkipsJunk() {
        let listing = "type=file;size=1; a\nnot an entry\n\ntype=dir; b\r\n"
        #expect(FTPListParser.parseMLSD(listing).map(\.name) == ["a", "b"])
    }
}

@Suite("FTPListParser LIST")
struct ListParserTests {
    @Test func pyftpdlibAndProFTPD() throws {
        let file = try #require(list("-rw-r--r--   1 giampaolo staff        1234 Nov 22 19:38 music.mp3"))
        #expect(file == FTPRemoteEntry(
            name: "music.mp3", kind: .file, size: 1234, modificationTime: 1_795_376_280, permissions: 0o644,
            owner: "giampaolo", group: "staff"))
        let dir = try #require(list("drwxr-xr-x   2 ftp      ftp          4096 Nov 22  2025 pub"))
        #expect(dir.kind == .directory)
        #expect(dir.modificationTime == (try utc("20251122000000")))
        #expect(dir.permissions == 0o755)
        #expect(dir.owner == "ftp")
    }

    @Test func vsftpdAndPureFTPdNumericOwners() throws {
        let vsftpd = try #require(list("-rw-r--r--    1 1000     1000         1234 Nov 22 19:38 name"))
        #expect(vsftpd.owner == "1000")
        #expect(vsftpd.group == "1000")
        #expect(vsftpd.size == 1234)
        let pure = try #require(list("drwxr-xr-x    2 1000       1000             4096 Nov 22  2025 a dir"))
        #expect(pure.name == "a dir")
        #expect(pure.kind == .directory)
        let small = try #require(list("-rw-r--r--    1 0        0               5 Nov 22 19:38 five"))
        #expect(small.size == 5)
        #expect(small.modificationTime == 1_795_376_280)
    }

    @Test func fileZillaServerAndIISUnixStyle() throws {
        let filezilla = try #require(list("-rw-r--r-- 1 ftp ftp           1234 Nov 22 19:38 name with spaces.txt"))
        #expect(filezilla.name == "name with spaces.txt")
        let filezillaDir = try #require(list("drwxr-xr-x 1 ftp ftp              0 Nov 22  2025 dir"))
        #expect(filezillaDir.kind == .directory)
        #expect(filezillaDir.size == 0)
        let iis = try #require(list("-rwxrwxrwx   1 owner    group            1234 Nov 22 19:38 web.config"))
        #expect(iis.permissions == 0o777)
        let iisDir = try #require(list("drwxrwxrwx   1 owner    group               0 Nov 22  2025 aspnet_client"))
        #expect(iisDir.kind == .directory)
    }

    @Test func namesKeepTheirSpaces() {
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38  leading")?.name == " leading")
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 trailing ")?.name == "trailing ")
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 Nov 22 19:38 x")?.name == "Nov 22 19:38 x")
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 naïve 文件.txt")?.name == "naïve 文件.txt")
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 crlf\r")?.name == "crlf")
    }

    @Test func symlinks() {
        #expect(list("lrwxrwxrwx   1 alice    staff           7 Nov 22 19:38 latest -> pub/v1")
            == FTPRemoteEntry(
                name: "latest", kind: .symlink(target: "pub/v1"), size: 7, modificationTime: 1_795_376_280,
                permissions: 0o777, owner: "alice", group: "staff"))
        #expect(list("lrwxrwxrwx 1 a s 7 Nov 22 19:38 my link -> my target")?.kind == .symlink(target: "my target"))
        #expect(list("lrwxrwxrwx 1 a s 7 Nov 22 19:38 my link -> my target")?.name == "my link")
        #expect(list("lrwxrwxrwx 1 a s 7 Nov 22 19:38 bare")?.kind == .symlink(target: nil))
        #expect(list("lrwxrwxrwx 1 a s 7 Nov 22 19:38 x -> ")?.kind == .symlink(target: nil))
    }

    @Test func devicesAndOtherTypes() throws {
        let null = try #require(list("crw-rw-rw-   1 root     root       1,   3 Nov 22 19:38 null"))
        #expect(null.kind == .other)
        #expect(null.size == nil)
        #expect(null.owner == "root")
        #expect(null.group == "root")
        #expect(null.name == "null")
        let sda = try #require(list("brw-rw----   1 root     disk       8,0 Nov 22 19:38 sda"))
        #expect(sda.group == "disk")
        #expect(sda.size == nil)
        #expect(list("prw-r--r-- 1 o g 0 Nov 22 19:38 fifo")?.kind == .other)
        #expect(list("srwxrwxrwx 1 o g 0 Nov 22 19:38 socket")?.kind == .other)
    }

    @Test func missingColumns() throws {
        // No group (some servers), no link count (others), neither.
        let noGroup = try #require(list("-rw-r--r--   1 owner        1234 Nov 22 19:38 name"))
        #expect((noGroup.owner, noGroup.group, noGroup.size) == ("owner", nil, 1234))
        let noLinks = try #require(list("-rw-r--r-- owner group 1234 Nov 22 19:38 name"))
        #expect((noLinks.owner, noLinks.group) == ("owner", "group"))
        let bare = try #require(list("-rw-r--r-- 1234 Nov 22 19:38 name"))
        #expect((bare.owner, bare.group, bare.size) == (nil, nil, 1234))
        let ownerOnly = try #require(list("-rw-r--r-- owner 1234 Nov 22 19:38 name"))
        #expect(ownerOnly.owner == "owner")
    }

    @Test func permissionsAndMarkers() throws {
        #expect(list("d--------- 2 o g 4096 Nov 22  2025 locked")?.permissions == 0)
        #expect(list("-rwsr-sr-t 1 o g 1 Nov 22 19:38 x")?.permissions == 0o7755)
        #expect(list("-rwSr-Sr-T 1 o g 1 Nov 22 19:38 x")?.permissions == 0o7644)
        #expect(list("-rw-r-lr-- 1 o g 1 Nov 22 19:38 x")?.permissions == 0o2644)
        let acl = try #require(list("-rw-r--r--+ 1 owner group 1234 Nov 22 19:38 name"))
        #expect(acl.permissions == 0o644)
        #expect(acl.owner == "owner")
        let macOS = try #require(list("drwxr-xr-x@ 5 alice  staff   160 Nov 22 19:38 Documents"))
        #expect(macOS.kind == .directory)
        #expect(macOS.size == 160)
        #expect(list("-rw-r--r--. 1 o g 1 Nov 22 19:38 selinux")?.name == "selinux")
    }

    @Test func dotEntriesAreFlagged() {
        #expect(list("drwxr-xr-x 2 o g 4096 Nov 22 19:38 .")?.role == .current)
        #expect(list("drwxr-xr-x 2 o g 4096 Nov 22 19:38 ..")?.role == .parent)
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 ..")?.role == .entry)
        #expect(list("drwxr-xr-x 2 o g 4096 Nov 22 19:38 .hidden")?.role == .entry)
    }

    @Test func yearlessDatesFollowTheReference() throws {
        // A month ahead of the reference (server clock or zone ahead of ours): still this year.
        #expect(list("-rw-r--r-- 1 o g 1 Dec 25 10:00 x")?.modificationTime == (try utc("20261225100000")))
        let january: Int64 = try utc("20270105120000")
        // From January, December is last year's, and so is July (just over six months ahead).
        #expect(list("-rw-r--r-- 1 o g 1 Dec 25 10:00 x", at: january)?.modificationTime == (try utc("20261225100000")))
        #expect(list("-rw-r--r-- 1 o g 1 Jul 10 10:00 x", at: january)?.modificationTime == (try utc("20260710100000")))
        #expect(list("-rw-r--r-- 1 o g 1 Jan  5 11:00 x", at: january)?.modificationTime == (try utc("20270105110000")))
        #expect(list("-rw-r--r-- 1 o g 1 Jun 30 10:00 x", at: january)?.modificationTime == (try utc("20270630100000")))
        // Feb 29 lands in the leap year; where no year fits the entry stays, without a time.
        #expect(list("-rw-r--r-- 1 o g 1 Feb 29 12:00 x", at: try utc("20280310000000"))?.modificationTime
            == (try utc("20280229120000")))
        let impossible = try #require(list("-rw-r--r-- 1 o g 1 Feb 29 12:00 x", at: try utc("20270310000000")))
        #expect(impossible.modificationTime == nil)
        #expect(impossible.name == "x")
        #expect(list("-rw-r--r-- 1 o g 1 Feb 29  2027 x")?.modificationTime == nil)
        // Absurd references do not trap.
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 x", at: .max)?.name == "x")
        #expect(list("-rw-r--r-- 1 o g 1 Nov 22 19:38 x", at: .min)?.name == "x")
    }

    @Test func otherDateStyles() throws {
        // Day before month; seconds; `ls --time-style=long-iso` and `full-iso`.
        #expect(list("-rw-r--r-- 1 o g 1 22 Nov 19:38 x")?.modificationTime == 1_795_376_280)
        #expect(list("-rw-r--r-- 1 o g 1 nov 22 19:38:05 x")?.modificationTime == 1_795_376_285)
        #expect(list("-rw-r--r-- 1 o g 1 2026-11-22 19:38 x y")?.modificationTime == 1_795_376_280)
        #expect(list("-rw-r--r-- 1 o g 1 2026-11-22 19:38 x y")?.name == "x y")
        #expect(list("-rw-r--r-- 1 o g 1 2026-11-22 19:38 +0100")?.name == "+0100")
        let full = try #require(list("-rw-r--r-- 1 o g 1 2026-11-22 20:38:00.123456789 +0100 x"))
        #expect(full.modificationTime == 1_795_376_280)
        #expect(full.name == "x")
    }

    @Test func dosForms() throws {
        let dir = try #require(list("11-22-26  07:38PM       <DIR>          aspnet_client"))
        #expect(dir == FTPRemoteEntry(name: "aspnet_client", kind: .directory, modificationTime: 1_795_376_280))
        let file = try #require(list("11-22-26  07:38PM                 1234 name with spaces.txt"))
        #expect(file == FTPRemoteEntry(name: "name with spaces.txt", kind: .file, size: 1234, modificationTime: 1_795_376_280))
        #expect(list("11-22-2026  07:38PM       <DIR>          dir")?.modificationTime == 1_795_376_280)
        #expect(list("11-22-2026  19:38       <DIR>          dir")?.modificationTime == 1_795_376_280)
        #expect(list("11-22-26  07:38 PM  1234 x")?.modificationTime == 1_795_376_280)
        #expect(list("11/22/2026  19:38  1,234,567 big")?.size == 1_234_567)
        #expect(list("11-22-26  12:05AM  1 x")?.modificationTime == (try utc("20261122000500")))
        #expect(list("11-22-26  12:05PM  1 x")?.modificationTime == (try utc("20261122120500")))
        #expect(list("11-22-26  07:38am  1 x")?.modificationTime == (try utc("20261122073800")))
        #expect(list("11-22-26  07:38PM  <JUNCTION>  link")?.kind == .other)
        #expect(list("11-22-26  07:38PM  <DIR>  naïve 文件")?.name == "naïve 文件")
        #expect(list("11-22-26  07:38PM  <DIR>  .")?.role == .current)
    }

    @Test func dosTwoDigitYears() throws {
        #expect(list("01-02-69  10:00AM  1 x")?.modificationTime == (try utc("20690102100000")))
        #expect(list("01-02-70  10:00AM  1 x")?.modificationTime == (try utc("19700102100000")))
        #expect(list("01-02-99  10:00AM  1 x")?.modificationTime == (try utc("19990102100000")))
        #expect(list("01-02-00  10:00AM  1 x")?.modificationTime == (try utc("20000102100000")))
        // A well-formed day that does not exist keeps the entry without a time.
        #expect(list("02-29-27  10:00AM  1 x")?.name == "x")
        #expect(list("02-29-27  10:00AM  1 x")?.modificationTime == nil)
    }

    @Test(arguments: [
        "", "   ", "total 12", "total 0", "garbage line", "drwxr-xr-x", "-rw-r--r-- 1 owner group 1234 Nov 22 19:38",
        "-rw-r--r-- 1 owner group 1234 Nov 22 19:38 ", "-rw-r--r-- 1 owner group 1234 Foo 22 19:38 x",
        "-rw-r--r-- 1 owner group big Nov 22 19:38 x", "-rw-r--r-- 1 owner group 1234 Nov 32 19:38 x",
        "-rw-r--r-- 1 owner group 1234 Nov 22 24:38 x", "-rw-r--r-- 1 owner group 1234 Nov 22 19:3 x",
        "-rwxrwxrwq 1 o g 1 Nov 22 19:38 x", "xrw-r--r-- 1 o g 1 Nov 22 19:38 x", "-rw-r--r--! 1 o g 1 Nov 22 19:38 x",
        "-rw-r--r-- 1 o g 99999999999999999999999 Nov 22 19:38 x", "-rw-r--r-- 1 o g 1,3 Nov 22 19:38 x",
        "13-22-26  07:38PM  1 x", "11-32-26  07:38PM  1 x", "11-22-26  13:38PM  1 x", "11-22-26  00:38AM  1 x",
        "11-22-26  07:38PM", "11-22-26  07:38PM  <DIR>", "11-22-26  07:38XM  1 x", "11-22-2  07:38PM  1 x",
        "11-22-26  07:38PM  12a x", "+i8388621.48594,m825718503,r,s280,\tdjb.html",
    ])
    func unparseable(_ line: String) {
        #expect(list(line) == nil)
    }

    @Test func parseListSkipsTotalAndJunk() {
        let listing = "total 8\r\n-rw-r--r-- 1 o g 1 Nov 22 19:38 a\r\ndrwxr-xr-x 2 o g 4096 Nov 22  2025 b c\r\n\r\nbogus\n"
        #expect(FTPListParser.parseList(listing, referenceTime: now).map(\.name) == ["a", "b c"])
    }
}

@Suite("FTPListParser round trips")
struct ListParserRoundTripTests {
    static let mtime: Int64 = 1_795_376_280  // 2026-11-22 19:38:00
    static let entries = [
        FTPListEntry(name: "name", kind: .file, size: 1234, mode: 0o644, modificationTime: mtime, uniqueID: "803g12"),
        FTPListEntry(name: "name with  spaces.txt", kind: .file, size: 0, mode: 0o600, modificationTime: mtime - 59),
        FTPListEntry(name: " leading space", kind: .file, size: 7, mode: 0o4755, modificationTime: mtime),
        FTPListEntry(name: "naïve 文件.txt", kind: .file, size: 123_456_789_012, mode: 0o640, modificationTime: mtime,
            linkCount: 1234, owner: "averylongowner", group: "g"),
        FTPListEntry(name: "a;b=c; d", kind: .file, size: 1, mode: 0o644, modificationTime: mtime),
        FTPListEntry(name: "pub", kind: .directory, size: 4096, mode: 0o2755, modificationTime: mtime, linkCount: 2,
            owner: "ftp", group: "ftp"),
        FTPListEntry(name: "latest", kind: .symlink, size: 6, mode: 0o777, modificationTime: mtime, symlinkTarget: "pub/v1"),
        // Older than six months and in the future: printed with the year.
        FTPListEntry(name: "old", kind: .file, size: 1, mode: 0o644, modificationTime: 1_763_840_280),
        FTPListEntry(name: "future", kind: .file, size: 1, mode: 0o644, modificationTime: mtime + 86_400 * 10),
        FTPListEntry(name: "ancient", kind: .file, size: 1, mode: 0, modificationTime: 0),
    ]

    @Test(arguments: entries) func listLine(_ entry: FTPListEntry) throws {
        let referenceTime = Self.mtime + 3_600
        let line = FTPListing.listLine(entry, now: referenceTime)
        let parsed = try #require(FTPListParser.parseListLine(line, referenceTime: referenceTime), "\(line)")
        #expect(parsed.name == entry.name, "\(line)")
        #expect(parsed.size == entry.size)
        #expect(parsed.permissions == entry.mode & 0o7777)
        #expect(parsed.owner == entry.owner)
        #expect(parsed.group == entry.group)
        switch entry.kind {
        case .file: #expect(parsed.kind == .file)
        case .directory: #expect(parsed.kind == .directory)
        case .symlink: #expect(parsed.kind == .symlink(target: entry.symlinkTarget))
        }
        // LIST carries minutes for recent entries and days for the others.
        let recent = entry.modificationTime <= referenceTime && entry.modificationTime >= referenceTime - FTPListing.sixMonths
        let precision: Int64 = recent ? 60 : 86_400
        #expect(parsed.modificationTime == entry.modificationTime - ((entry.modificationTime % precision) + precision) % precision)
    }

    @Test(arguments: entries) func mlsdLine(_ entry: FTPListEntry) throws {
        let line = FTPListing.mlsdLine(entry, allowed: .all)
        let parsed = try #require(FTPListParser.parseMLSxLine(line), "\(line)")
        #expect(parsed.name == entry.name)
        #expect(parsed.size == (entry.kind == .directory ? nil : entry.size))
        #expect(parsed.modificationTime == entry.modificationTime)
        #expect(parsed.permissions == entry.mode & 0o7777)
        #expect(parsed.facts["perm"] == FTPListing.permLetters(entry.kind, allowed: .all))
        #expect(parsed.facts["unique"] == entry.uniqueID)
        #expect(parsed.role == .entry)
        switch entry.kind {
        case .file: #expect(parsed.kind == .file)
        case .directory: #expect(parsed.kind == .directory)
        case .symlink: #expect(parsed.kind == .symlink(target: entry.symlinkTarget))
        }
    }

    @Test func mlsdRoles() throws {
        let dir = FTPListEntry(name: ".", kind: .directory, modificationTime: Self.mtime)
        #expect(FTPListParser.parseMLSxLine(FTPListing.mlsdLine(dir, allowed: .all, role: .current))?.role == .current)
        var parent = dir
        parent.name = ".."
        #expect(FTPListParser.parseMLSxLine(FTPListing.mlsdLine(parent, allowed: [], role: .parent))?.role == .parent)
        // A target Wharf cannot put in the type fact is left out.
        let link = FTPListEntry(name: "l", kind: .symlink, symlinkTarget: "a;b")
        #expect(FTPListParser.parseMLSxLine(FTPListing.mlsdLine(link, allowed: .all))?.kind == .symlink(target: nil))
    }
}
