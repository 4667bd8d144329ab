import Testing

@testable import FTPProtocol

@Suite("Listings")
struct ListingTests {
    /// 2026-11-22 19:38:00 UTC.
    static let mtime: Int64 = 1_795_376_280
    static let now = mtime + 3_600

    static let file = FTPListEntry(
        name: "name", kind: .file, size: 1234, mode: 0o644, modificationTime: mtime, owner: "owner", group: "group",
        uniqueID: "803g12")

    @Test func listLineRecent() {
        #expect(FTPListing.listLine(Self.file, now: Self.now)
            == "-rw-r--r--   1 owner    group        1234 Nov 22 19:38 name")
    }

    @Test func listLineOldAndFuture() {
        var old = Self.file
        old.modificationTime = 1_763_840_280  // 2025-11-22 19:38
        #expect(FTPListing.listLine(old, now: Self.now) == "-rw-r--r--   1 owner    group        1234 Nov 22  2025 name")
        var future = Self.file
        future.modificationTime = Self.now + 86_400 * 10  // 2026-12-02
        #expect(FTPListing.listLine(future, now: Self.now) == "-rw-r--r--   1 owner    group        1234 Dec 02  2026 name")
        var justRecent = Self.file
        justRecent.modificationTime = 1_767_323_045  // 2026-01-02 03:04:05
        #expect(FTPListing.listLine(justRecent, now: 1_767_323_045 + FTPListing.sixMonths)
            == "-rw-r--r--   1 owner    group        1234 Jan 02 03:04 name")
        #expect(FTPListing.listLine(justRecent, now: 1_767_323_045 + FTPListing.sixMonths + 1)
            == "-rw-r--r--   1 owner    group        1234 Jan 02  2026 name")
    }

    @Test func listLineDirectoryAndSymlink() {
        // As pyftpdlib prints them (GMT times).
        let dir = FTPListEntry(
            name: "pub", kind: .directory, size: 4096, mode: 0o755, modificationTime: Self.mtime, linkCount: 2,
            owner: "ftp", group: "ftp")
        #expect(FTPListing.listLine(dir, now: Self.now) == "drwxr-xr-x   2 ftp      ftp          4096 Nov 22 19:38 pub")
        let link = FTPListEntry(
            name: "latest", kind: .symlink, size: 7, mode: 0o777, modificationTime: Self.mtime, owner: "alice",
            group: "staff", symlinkTarget: "pub/v1")
        #expect(FTPListing.listLine(link, now: Self.now)
            == "lrwxrwxrwx   1 alice    staff           7 Nov 22 19:38 latest -> pub/v1")
        let wide = FTPListEntry(
            name: "big file.iso", kind: .file, size: 123_456_789_012, mode: 0o600, modificationTime: Self.mtime,
            linkCount: 1234, owner: "averylongowner", group: "g")
        #expect(FTPListing.listLine(wide, now: Self.now)
            == "-rw------- 1234 averylongowner g        123456789012 Nov 22 19:38 big file.iso")
    }

    @Test func permissionStrings() {
        #expect(FTPListing.permissionString(0o4755) == "rwsr-xr-x")
        #expect(FTPListing.permissionString(0o4644) == "rwSr--r--")
        #expect(FTPListing.permissionString(0o2750) == "rwxr-s---")
        #expect(FTPListing.permissionString(0o2640) == "rw-r-S---")
        #expect(FTPListing.permissionString(0o1777) == "rwxrwxrwt")
        #expect(FTPListing.permissionString(0o1776) == "rwxrwxrwT")
        #expect(FTPListing.permissionString(0o100644) == "rw-r--r--")
        #expect(FTPListing.permissionString(0) == "---------")
    }

    @Test func preEpochDates() {
        let entry = FTPListEntry(name: "old", kind: .file, modificationTime: -1)
        #expect(FTPListing.listLine(entry, now: 0) == "-rw-r--r--   1 owner    group           0 Dec 31 23:59 old")
        #expect(FTPTimestamp(secondsSinceEpoch: -1).description == "19691231235959")
    }

    @Test func nlst() {
        #expect(FTPListing.nameLine(Self.file) == "name")
    }

    @Test func mlsdFile() {
        #expect(FTPListing.mlsdLine(Self.file, allowed: .all)
            == "type=file;size=1234;modify=20261122193800;perm=adfrw;unique=803g12;unix.mode=0644; name")
        #expect(FTPListing.mlsdLine(Self.file, allowed: .readOnly)
            == "type=file;size=1234;modify=20261122193800;perm=r;unique=803g12;unix.mode=0644; name")
        #expect(FTPListing.mlsdLine(Self.file, facts: [.type, .size], allowed: .all) == "type=file;size=1234; name")
    }

    @Test func mlsdDirectories() {
        let dir = FTPListEntry(name: "pub", kind: .directory, size: 4096, mode: 0o2755, modificationTime: Self.mtime)
        #expect(FTPListing.mlsdLine(dir, allowed: .all) == "type=dir;modify=20261122193800;perm=cdeflmp;unix.mode=2755; pub")
        #expect(FTPListing.mlsdLine(dir, allowed: .readOnly) == "type=dir;modify=20261122193800;perm=el;unix.mode=2755; pub")
        var current = dir
        current.name = "."
        #expect(FTPListing.mlsdLine(current, facts: [.type], allowed: .all, role: .current) == "type=cdir; .")
        current.name = ".."
        #expect(FTPListing.mlsdLine(current, facts: [.type, .perm], allowed: [], role: .parent) == "type=pdir;perm=; ..")
    }

    @Test func mlsdSymlink() {
        var link = FTPListEntry(name: "l", kind: .symlink, size: 3, mode: 0o777, symlinkTarget: "a/b")
        #expect(FTPListing.facts(link, facts: [.type, .size], allowed: .all) == "type=OS.unix=slink:a/b;size=3;")
        link.symlinkTarget = "a;b"
        #expect(FTPListing.facts(link, facts: [.type], allowed: .all) == "type=OS.unix=slink;")
    }

    @Test func mlst() {
        let reply = FTPListing.mlstReply(Self.file, pathname: "/home/name", facts: [.type, .size, .perm], allowed: .all)
        #expect(reply.description
            == "250-Listing /home/name\r\n type=file;size=1234;perm=adfrw; /home/name\r\n250 End\r\n")
    }

    @Test func factSelection() {
        #expect(FTPFact.parseSelection("Type;SIZE;unix.mode;bogus;") == [.type, .size, .unixMode])
        #expect(FTPFact.parseSelection("") == [])
        #expect(FTPFact.featureList(selected: [.type, .modify]) == "type*;size;modify*;perm;unique;unix.mode;")
    }
}

@Suite("FTPTimestamp")
struct TimestampTests {
    @Test func roundTrip() throws {
        #expect(try FTPTimestamp(parsing: "20261122193800").secondsSinceEpoch == 1_795_376_280)
        #expect(FTPTimestamp(secondsSinceEpoch: 1_795_376_280).description == "20261122193800")
        #expect(try FTPTimestamp(parsing: "20000229000000").secondsSinceEpoch == 951_782_400)
        #expect(try FTPTimestamp(parsing: "19700101000000").secondsSinceEpoch == 0)
        #expect(try FTPTimestamp(parsing: "19691231235959").secondsSinceEpoch == -1)
        #expect(try FTPTimestamp(parsing: "20260102030405.5") == FTPTimestamp(secondsSinceEpoch: 1_767_323_045, nanoseconds: 500_000_000))
        #expect(try FTPTimestamp(parsing: "20260102030405.123456789").nanoseconds == 123_456_789)
        #expect(try FTPTimestamp(parsing: "20261231235960").description == "20261231235959")
        for seconds: Int64 in [0, 951_782_400, 4_102_444_800, -62_135_596_800, 253_402_300_799] {
            let text = FTPTimestamp(secondsSinceEpoch: seconds).description
            #expect(try FTPTimestamp(parsing: text).secondsSinceEpoch == seconds, "\(text)")
        }
    }

    @Test(arguments: [
        "", "2026112219380", "202611221938000", "20261322193800", "20260022193800", "20261100193800",
        "20261131193800", "20250229000000", "19000229000000", "20261122243800", "20261122196000", "20261122193861",
        "20261122193800.", "20261122193800.1234567890", "20261122193800,5", "2026-11-22 19:38", " 20261122193800",
        "20261122193800 ", "+2026112219380", "２0261122193800",
    ])
    func hostile(_ text: String) {
        #expect(throws: FTPProtocolError.self) { try FTPTimestamp(parsing: text) }
    }

    @Test func mfmtArgument() throws {
        let argument = try FTPModifyTimeArgument(parsing: "20261122193800 my file.txt")
        #expect(argument == FTPModifyTimeArgument(time: FTPTimestamp(secondsSinceEpoch: 1_795_376_280), path: "my file.txt"))
        #expect(try FTPModifyTimeArgument(parsing: "20261122193800  lead").path == " lead")
        #expect(throws: FTPProtocolError.self) { try FTPModifyTimeArgument(parsing: "20261122193800") }
        #expect(throws: FTPProtocolError.self) { try FTPModifyTimeArgument(parsing: "20261122193800 ") }
        #expect(throws: FTPProtocolError.self) { try FTPModifyTimeArgument(parsing: "2026112219380x file") }
    }
}
