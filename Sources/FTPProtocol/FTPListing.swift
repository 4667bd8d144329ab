/// What LIST, NLST, MLSD and MLST say about one directory entry.
public struct FTPListEntry: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case file, directory, symlink
    }

    public var name: String
    public var kind: Kind
    public var size: UInt64
    /// Permission bits, including setuid/setgid/sticky (`0o7777`); file-type bits are ignored.
    public var mode: UInt32
    /// Modification time, seconds since the epoch.
    public var modificationTime: Int64
    public var linkCount: UInt64
    public var owner: String
    public var group: String
    public var symlinkTarget: String?
    /// The MLSx `unique` fact (e.g. device and inode in hex); omitted when nil.
    public var uniqueID: String?

    public init(
        name: String, kind: Kind, size: UInt64 = 0, mode: UInt32 = 0o644, modificationTime: Int64 = 0,
        linkCount: UInt64 = 1, owner: String = "owner", group: String = "group", symlinkTarget: String? = nil,
        uniqueID: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.size = size
        self.mode = mode
        self.modificationTime = modificationTime
        self.linkCount = linkCount
        self.owner = owner
        self.group = group
        self.symlinkTarget = symlinkTarget
        self.uniqueID = uniqueID
    }
}

/// What the session lets the user do; drives the MLSx `perm` fact (RFC 3659 §7.5.5) and the
/// permission column of `FTPCommandSpec`. Mirrors pyftpdlib's perm letters `elradfmwMT`.
public struct FTPAllowedOperations: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// CWD, CDUP (pyftpdlib `e`).
    public static let changeDirectory = FTPAllowedOperations(rawValue: 1 << 0)
    /// LIST, NLST, MLSD, MLST, STAT path (`l`).
    public static let list = FTPAllowedOperations(rawValue: 1 << 1)
    /// RETR (`r`).
    public static let retrieve = FTPAllowedOperations(rawValue: 1 << 2)
    /// APPE (`a`).
    public static let append = FTPAllowedOperations(rawValue: 1 << 3)
    /// DELE, RMD (`d`).
    public static let delete = FTPAllowedOperations(rawValue: 1 << 4)
    /// RNFR, RNTO (`f`).
    public static let rename = FTPAllowedOperations(rawValue: 1 << 5)
    /// MKD (`m`).
    public static let makeDirectory = FTPAllowedOperations(rawValue: 1 << 6)
    /// STOR, STOU (`w`).
    public static let store = FTPAllowedOperations(rawValue: 1 << 7)
    /// SITE CHMOD (`M`).
    public static let changeMode = FTPAllowedOperations(rawValue: 1 << 8)
    /// MFMT (`T`).
    public static let changeTime = FTPAllowedOperations(rawValue: 1 << 9)

    public static let readOnly: FTPAllowedOperations = [.changeDirectory, .list, .retrieve]
    public static let all: FTPAllowedOperations = [
        .changeDirectory, .list, .retrieve, .append, .delete, .rename, .makeDirectory, .store, .changeMode,
        .changeTime,
    ]
}

/// The MLSx facts this server offers (RFC 3659 §7.5), in the order they are written.
public enum FTPFact: String, CaseIterable, Hashable, Sendable {
    case type, size, modify, perm, unique
    case unixMode = "unix.mode"

    /// `OPTS MLST type;size;` (RFC 3659 §7.9): the facts named, unknown names ignored, case-insensitive.
    public static func parseSelection(_ argument: String?) -> Set<FTPFact> {
        guard let argument else { return [] }
        var selected: Set<FTPFact> = []
        for name in argument.split(separator: ";") {
            let lowered = name.lowercased()
            if let fact = FTPFact.allCases.first(where: { $0.rawValue == lowered }) { selected.insert(fact) }
        }
        return selected
    }

    /// `type*;size*;modify*;perm*;unique*;unix.mode*;` for the FEAT line, `*` on the selected facts.
    public static func featureList(selected: Set<FTPFact>) -> String {
        FTPFact.allCases.map { $0.rawValue + (selected.contains($0) ? "*;" : ";") }.joined()
    }
}

/// Pure formatters for the listing commands.
public enum FTPListing {
    /// GNU ls's "recent" window: half an average Gregorian year.
    public static let sixMonths: Int64 = 15_778_476

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// One LIST line without terminator, in the `ls -l` form pyftpdlib prints (UTC):
    /// `-rw-r--r--   1 owner    group        1234 Nov 22 19:38 name`. Entries older than six months
    /// or in the future show the year instead of the time: `Nov 22  2025`. Symlinks end `name -> target`.
    public static func listLine(_ entry: FTPListEntry, now: Int64) -> String {
        let kind: String
        switch entry.kind {
        case .file: kind = "-"
        case .directory: kind = "d"
        case .symlink: kind = "l"
        }
        let time = FTPTimestamp(secondsSinceEpoch: entry.modificationTime).components
        let recent = entry.modificationTime <= now
            && (now < Int64.min + sixMonths || entry.modificationTime >= now - sixMonths)
        let date = "\(months[Int(time.month - 1)]) \(pad(time.day, 2)) "
            + (recent ? "\(pad(time.hour, 2)):\(pad(time.minute, 2))" : " " + pad(time.year, 4, with: " "))
        var line = kind + permissionString(entry.mode)
        line += " " + leftPadded(String(entry.linkCount), 3)
        line += " " + rightPadded(entry.owner, 8) + " " + rightPadded(entry.group, 8)
        line += " " + leftPadded(String(entry.size), 8) + " " + date + " " + entry.name
        if entry.kind == .symlink, let target = entry.symlinkTarget { line += " -> " + target }
        return line
    }

    /// `rwxr-xr-x`, with s/S, s/S and t/T for setuid, setgid and sticky.
    public static func permissionString(_ mode: UInt32) -> String {
        func triple(_ bits: UInt32, special: Bool, specialLetter: Character) -> String {
            let execute: Character
            switch (bits & 1 != 0, special) {
            case (true, true): execute = specialLetter
            case (false, true): execute = Character(specialLetter.uppercased())
            case (true, false): execute = "x"
            case (false, false): execute = "-"
            }
            return (bits & 4 != 0 ? "r" : "-") + (bits & 2 != 0 ? "w" : "-") + String(execute)
        }
        return triple(mode >> 6 & 7, special: mode & 0o4000 != 0, specialLetter: "s")
            + triple(mode >> 3 & 7, special: mode & 0o2000 != 0, specialLetter: "s")
            + triple(mode & 7, special: mode & 0o1000 != 0, specialLetter: "t")
    }

    /// One NLST line without terminator: the name.
    public static func nameLine(_ entry: FTPListEntry) -> String {
        entry.name
    }

    /// Where an MLSD entry stands relative to the listed directory.
    public enum DirectoryRole: Hashable, Sendable {
        /// An ordinary entry (`type=dir` for directories).
        case entry
        /// The listed directory itself (`type=cdir`).
        case current
        /// Its parent (`type=pdir`).
        case parent
    }

    /// The facts of an entry: `type=file;size=1234;modify=20261122193800;perm=adfrw;unique=…;unix.mode=0644;`
    /// (RFC 3659 §7). `size` only for non-directories, `unique` only when known; a symlink is
    /// `type=OS.unix=slink:target` (the ProFTPD form FileZilla and lftp read) unless the session resolved it.
    public static func facts(
        _ entry: FTPListEntry, facts selected: Set<FTPFact> = Set(FTPFact.allCases),
        allowed: FTPAllowedOperations, role: DirectoryRole = .entry
    ) -> String {
        var text = ""
        for fact in FTPFact.allCases where selected.contains(fact) {
            switch fact {
            case .type:
                switch (entry.kind, role) {
                case (.directory, .current): text += "type=cdir;"
                case (.directory, .parent): text += "type=pdir;"
                case (.directory, .entry): text += "type=dir;"
                case (.file, _): text += "type=file;"
                case (.symlink, _):
                    if let target = entry.symlinkTarget, !target.isEmpty,
                        !target.contains(where: { $0 == ";" || $0 == " " || $0 == "\r" || $0 == "\n" })
                    {
                        text += "type=OS.unix=slink:\(target);"
                    } else {
                        text += "type=OS.unix=slink;"
                    }
                }
            case .size:
                if entry.kind != .directory { text += "size=\(entry.size);" }
            case .modify:
                text += "modify=\(FTPTimestamp(secondsSinceEpoch: entry.modificationTime));"
            case .perm:
                text += "perm=\(permLetters(entry.kind, allowed: allowed));"
            case .unique:
                if let unique = entry.uniqueID { text += "unique=\(unique);" }
            case .unixMode:
                let octal = String(entry.mode & 0o7777, radix: 8)
                text += "unix.mode=\(String(repeating: "0", count: max(0, 4 - octal.count)) + octal);"
            }
        }
        return text
    }

    /// The `perm` fact's letters (RFC 3659 §7.5.5) in alphabetical order. Files: a d f r w;
    /// directories: c d e f l m p.
    public static func permLetters(_ kind: FTPListEntry.Kind, allowed: FTPAllowedOperations) -> String {
        var letters = ""
        if kind == .directory {
            if allowed.contains(.store) { letters += "c" }
            if allowed.contains(.delete) { letters += "d" }
            if allowed.contains(.changeDirectory) { letters += "e" }
            if allowed.contains(.rename) { letters += "f" }
            if allowed.contains(.list) { letters += "l" }
            if allowed.contains(.makeDirectory) { letters += "m" }
            if allowed.contains(.delete) { letters += "p" }
        } else {
            if allowed.contains(.append) { letters += "a" }
            if allowed.contains(.delete) { letters += "d" }
            if allowed.contains(.rename) { letters += "f" }
            if allowed.contains(.retrieve) { letters += "r" }
            if allowed.contains(.store) { letters += "w" }
        }
        return letters
    }

    /// One MLSD line without terminator: `facts name`.
    public static func mlsdLine(
        _ entry: FTPListEntry, facts selected: Set<FTPFact> = Set(FTPFact.allCases),
        allowed: FTPAllowedOperations, role: DirectoryRole = .entry
    ) -> String {
        facts(entry, facts: selected, allowed: allowed, role: role) + " " + entry.name
    }

    /// The 250 reply to MLST (RFC 3659 §7.2): `250-Listing path`, ` facts path`, `250 End`.
    /// `pathname` is what names the entry in the reply (usually the client's argument or the absolute path).
    public static func mlstReply(
        _ entry: FTPListEntry, pathname: String, facts selected: Set<FTPFact> = Set(FTPFact.allCases),
        allowed: FTPAllowedOperations
    ) -> FTPReply {
        let line = " " + facts(entry, facts: selected, allowed: allowed) + " " + pathname
        return FTPReply(code: 250, lines: ["Listing " + pathname, line, "End"])
    }

    static func leftPadded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    static func rightPadded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
