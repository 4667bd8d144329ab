/// One entry of a remote directory listing, as the client reads it from MLSD, MLST or LIST.
///
/// Every field a listing may omit is optional; LIST times are the server's local time read as UTC
/// (LIST carries no zone), so prefer MLSD when the server offers it.
public struct FTPRemoteEntry: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case file
        case directory
        /// The target when the listing names it (`name -> target`, `type=OS.unix=slink:target`).
        case symlink(target: String?)
        /// Devices, FIFOs, sockets, unknown MLSx types (the `type` fact keeps the server's word).
        case other
    }

    public var name: String
    public var kind: Kind
    public var size: UInt64?
    /// Seconds since the epoch, UTC.
    public var modificationTime: Int64?
    /// Permission bits including setuid/setgid/sticky (`0o7777`).
    public var permissions: UInt32?
    public var owner: String?
    public var group: String?
    /// `.current`/`.parent` for `type=cdir`/`type=pdir` and for LIST's `.` and `..`: callers listing
    /// a directory's contents skip those.
    public var role: FTPListing.DirectoryRole
    /// MLSx facts by lowercased name (RFC 3659 §7.1: fact names are case-insensitive), values verbatim;
    /// empty for LIST.
    public var facts: [String: String]

    public init(
        name: String, kind: Kind, size: UInt64? = nil, modificationTime: Int64? = nil, permissions: UInt32? = nil,
        owner: String? = nil, group: String? = nil, role: FTPListing.DirectoryRole = .entry,
        facts: [String: String] = [:]
    ) {
        self.name = name
        self.kind = kind
        self.size = size
        self.modificationTime = modificationTime
        self.permissions = permissions
        self.owner = owner
        self.group = group
        self.role = role
        self.facts = facts
    }

    /// True for the listed directory itself and its parent.
    public var isCurrentOrParent: Bool { self.role != .entry }
}

/// Pure parsers for what the listing commands send back. Unparseable lines give nil; callers skip them.
public enum FTPListParser {
    // MARK: MLSx (RFC 3659 §7)

    /// One MLSD line, `fact=value;fact=value; name`, or the fact line of an MLST reply, which has one
    /// more leading space. The name is everything after the first space (it may hold spaces and
    /// semicolons). A line starting with a space is read as MLST's when what follows has facts,
    /// otherwise as an MLSD entry without facts; `parseMLSTReply` avoids the guess.
    public static func parseMLSxLine(_ line: some StringProtocol) -> FTPRemoteEntry? {
        let bytes = withoutTrailingCR(Array(line.utf8))
        if bytes.first == space, let entry = parseMLSxEntry(bytes.dropFirst(), requireFacts: true) {
            return entry
        }
        return parseMLSxEntry(bytes[...], requireFacts: false)
    }

    /// The entry of a 2yz reply to MLST (RFC 3659 §7.2): the line after the first starting with one
    /// space, or, from servers that leave out the space, a line of facts and a name.
    public static func parseMLSTReply(_ reply: FTPReply) -> FTPRemoteEntry? {
        guard (200..<300).contains(reply.code) else { return nil }
        let candidates = reply.lines.dropFirst()
        for line in candidates where line.utf8.first == space {
            if let entry = parseMLSxEntry(withoutTrailingCR(Array(line.utf8)).dropFirst(), requireFacts: false) {
                return entry
            }
        }
        for line in candidates {
            if let entry = parseMLSxEntry(withoutTrailingCR(Array(line.utf8))[...], requireFacts: true) {
                return entry
            }
        }
        return nil
    }

    /// Every parseable line of an MLSD transfer (CRLF or LF separated).
    public static func parseMLSD(_ listing: String) -> [FTPRemoteEntry] {
        lines(of: listing).compactMap { parseMLSxEntry(withoutTrailingCR($0)[...], requireFacts: false) }
    }

    /// `facts SP name`; nil when a fact is malformed, the name is empty, or (`requireFacts`) there are none.
    static func parseMLSxEntry(_ bytes: ArraySlice<UInt8>, requireFacts: Bool) -> FTPRemoteEntry? {
        guard let separator = bytes.firstIndex(of: space) else { return nil }
        let nameBytes = bytes[(separator + 1)...]
        guard !nameBytes.isEmpty else { return nil }
        var facts: [String: String] = [:]
        // `1*(fact ";")`; a missing final ";" and empty facts (";;") are tolerated.
        for fact in bytes[..<separator].split(separator: UInt8(ascii: ";")) {
            guard let equals = fact.firstIndex(of: UInt8(ascii: "=")), equals > fact.startIndex else { return nil }
            let name = String(decoding: asciiLowercased(fact[..<equals]), as: UTF8.self)
            // The first occurrence wins, as a server repeating a fact is already off the grammar.
            if facts[name] == nil { facts[name] = String(decoding: fact[(equals + 1)...], as: UTF8.self) }
        }
        if requireFacts && facts.isEmpty { return nil }

        var entry = FTPRemoteEntry(name: String(decoding: nameBytes, as: UTF8.self), kind: .other, facts: facts)
        if let type = facts["type"] {
            let lowered = String(decoding: asciiLowercased(type.utf8), as: UTF8.self)
            switch lowered {
            case "file": entry.kind = .file
            case "dir": entry.kind = .directory
            case "cdir": (entry.kind, entry.role) = (.directory, .current)
            case "pdir": (entry.kind, entry.role) = (.directory, .parent)
            default:
                // ProFTPD and Wharf write `OS.unix=slink:target`; others `OS.unix=symlink[:target]`.
                // ASCII case folding keeps byte offsets, so the target is cut from the original text.
                for prefix in ["os.unix=slink", "os.unix=symlink"] where lowered.utf8.starts(with: prefix.utf8) {
                    let rest = type.utf8.dropFirst(prefix.utf8.count)
                    if rest.isEmpty {
                        entry.kind = .symlink(target: nil)
                    } else if rest.first == UInt8(ascii: ":") {
                        let target = String(decoding: rest.dropFirst(), as: UTF8.self)
                        entry.kind = .symlink(target: target.isEmpty ? nil : target)
                    }
                }
            }
        }
        entry.size = (facts["size"] ?? facts["sizd"]).flatMap { decimal(Array($0.utf8)[...]) }
        if let modify = facts["modify"], let time = try? FTPTimestamp(parsing: modify) {
            entry.modificationTime = time.secondsSinceEpoch
        }
        if let mode = facts["unix.mode"], let bits = octal(Array(mode.utf8)[...]) {
            entry.permissions = bits & 0o7777
        }
        // ProFTPD sends numeric `unix.owner` plus `unix.ownername`; Pure-FTPd `unix.uid`.
        entry.owner = facts["unix.ownername"] ?? facts["unix.owner"] ?? facts["unix.user"] ?? facts["unix.uid"]
        entry.group = facts["unix.groupname"] ?? facts["unix.group"] ?? facts["unix.gid"]
        if entry.role == .entry { entry.role = role(of: entry) }
        return entry
    }

    // MARK: LIST

    /// One LIST line in the Unix `ls -l` form or the DOS form of IIS and other Windows servers.
    ///
    /// `referenceTime` (usually now) places dates printed without a year, as ls does for the last six
    /// months: the date in the reference's year, or the year before when that would be more than six
    /// months ahead. `total 12`, blank and unknown lines give nil.
    public static func parseListLine(_ line: some StringProtocol, referenceTime: Int64) -> FTPRemoteEntry? {
        let bytes = withoutTrailingCR(Array(line.utf8))
        let tokens = tokenize(bytes, limit: 14)
        guard let first = tokens.first else { return nil }
        if let entry = parseDOSLine(bytes, tokens) { return entry }
        guard let (kindLetter, mode) = unixPermissions(bytes[first]) else { return nil }
        return parseUnixLine(bytes, tokens, kindLetter: kindLetter, mode: mode, referenceTime: referenceTime)
    }

    /// Every parseable line of a LIST transfer (CRLF or LF separated).
    public static func parseList(_ listing: String, referenceTime: Int64) -> [FTPRemoteEntry] {
        lines(of: listing).compactMap { parseListLine(String(decoding: $0, as: UTF8.self), referenceTime: referenceTime) }
    }

    /// `perms [links] [owner] [group] size|major, minor date name[ -> target]`. The date is found as the
    /// leftmost `Mon DD HH:MM|YYYY`, `DD Mon …` or ISO `YYYY-MM-DD HH:MM[:SS] [±HHMM]` preceded by a
    /// number, so missing link or group columns (8-column variants) do not matter.
    static func parseUnixLine(
        _ bytes: [UInt8], _ tokens: [Range<Int>], kindLetter: UInt8, mode: UInt32, referenceTime: Int64
    ) -> FTPRemoteEntry? {
        var index = 2
        while index < tokens.count {
            defer { index += 1 }
            guard decimal(bytes[tokens[index - 1]]) != nil || isDeviceNumbers(bytes[tokens[index - 1]]),
                let date = unixDate(bytes, tokens, at: index, referenceTime: referenceTime)
            else { continue }
            // The name follows the date column after exactly one space: ls aligns by padding the
            // columns before it, so any further spaces belong to the name.
            let nameStart = tokens[date.lastToken].upperBound + 1
            guard nameStart < bytes.count else { continue }

            var sizeIndex = index - 1
            var size = decimal(bytes[tokens[sizeIndex]])
            let isDevice = kindLetter == UInt8(ascii: "c") || kindLetter == UInt8(ascii: "b")
            if isDeviceNumbers(bytes[tokens[sizeIndex]]) {
                size = nil
            } else if isDevice, sizeIndex >= 2, bytes[tokens[sizeIndex - 1]].last == UInt8(ascii: ",") {
                // `major, minor`: two tokens where others have a size.
                sizeIndex -= 1
                size = nil
            }
            guard isDevice || size != nil else { continue }

            var entry = FTPRemoteEntry(name: "", kind: .other, size: size, modificationTime: date.time, permissions: mode)
            let middle = tokens[1..<sizeIndex].map { String(decoding: bytes[$0], as: UTF8.self) }
            switch middle.count {
            case 0: break
            case 1: if decimal(Array(middle[0].utf8)[...]) == nil { entry.owner = middle[0] }
            case 2:
                if decimal(Array(middle[0].utf8)[...]) != nil {
                    entry.owner = middle[1]  // links owner (no group column)
                } else {
                    (entry.owner, entry.group) = (middle[0], middle[1])  // owner group (no link count)
                }
            default: (entry.owner, entry.group) = (middle[1], middle[2])
            }

            var name = bytes[nameStart...]
            switch kindLetter {
            case UInt8(ascii: "-"): entry.kind = .file
            case UInt8(ascii: "d"): entry.kind = .directory
            case UInt8(ascii: "l"):
                // The first ` -> ` splits: ambiguous when the name itself holds one, as in ls.
                if let arrow = firstRange(of: Array(" -> ".utf8), in: name) {
                    let target = name[arrow.upperBound...]
                    entry.kind = .symlink(target: target.isEmpty ? nil : String(decoding: target, as: UTF8.self))
                    name = name[..<arrow.lowerBound]
                } else {
                    entry.kind = .symlink(target: nil)
                }
            default: entry.kind = .other
            }
            guard !name.isEmpty else { return nil }
            entry.name = String(decoding: name, as: UTF8.self)
            entry.role = role(of: entry)
            return entry
        }
        return nil
    }

    /// The date starting at token `index`: its last token and the time (nil when the day does not
    /// exist in the year it resolves to, e.g. `Feb 29` in a common year; the entry is still listed).
    static func unixDate(
        _ bytes: [UInt8], _ tokens: [Range<Int>], at index: Int, referenceTime: Int64
    ) -> (lastToken: Int, time: Int64?)? {
        guard index + 2 < tokens.count else { return nil }
        let (a, b, c) = (bytes[tokens[index]], bytes[tokens[index + 1]], bytes[tokens[index + 2]])
        if let days = isoDate(a), let clock = clockTime(b) {
            var time = days * 86_400 + clock
            var last = index + 1
            // `--time-style=full-iso` (seconds and a fraction) adds the zone: local time minus offset
            // is UTC. Only there, so a file named `+0100` after a `long-iso` date keeps its name.
            if b.count > 8, let offset = zoneOffset(c) {
                time -= offset
                last = index + 2
            }
            return (last, time)
        }
        let monthDay: (month: Int64, day: Int64)
        if let month = monthNumber(a), let day = decimal(b), (1...31).contains(day) {
            monthDay = (month, Int64(day))
        } else if let day = decimal(a), (1...31).contains(day), let month = monthNumber(b) {
            monthDay = (month, Int64(day))  // `22 Nov 19:38`, as some BSD and localized servers print
        } else {
            return nil
        }
        if c.count == 4, let year = decimal(c) {
            return (index + 2, dateTime(year: Int64(year), monthDay.month, monthDay.day, seconds: 0))
        }
        guard let clock = clockTime(c) else { return nil }
        // ls prints the time, not the year, for the last six months; a server clock a little ahead of
        // ours still lands in this year, a date far ahead was last year's.
        // Clamped so an absurd reference cannot overflow the arithmetic below.
        let year = min(max(FTPTimestamp(secondsSinceEpoch: referenceTime).components.year, 1), 9999)
        if let time = dateTime(year: year, monthDay.month, monthDay.day, seconds: clock),
            time - FTPListing.sixMonths <= referenceTime
        {
            return (index + 2, time)
        }
        return (index + 2, dateTime(year: year - 1, monthDay.month, monthDay.day, seconds: clock))
    }

    /// `11-22-26  07:38PM  <DIR>  name` or `11-22-2026  19:38  1234 name` (IIS, FileZilla Server's
    /// DOS style, Windows `dir`). The name follows the size column's padding.
    static func parseDOSLine(_ bytes: [UInt8], _ tokens: [Range<Int>]) -> FTPRemoteEntry? {
        guard tokens.count >= 4, let days = dosDate(bytes[tokens[0]]) else { return nil }
        var next = 1
        var timeText = bytes[tokens[next]]
        var meridiem: UInt8?
        if let last = timeText.last, last | 0x20 == UInt8(ascii: "m"), timeText.count >= 2 {
            meridiem = timeText[timeText.endIndex - 2] | 0x20
            timeText = timeText.dropLast(2)
        } else if next + 1 < tokens.count, bytes[tokens[next + 1]].count == 2,
            let last = bytes[tokens[next + 1]].last, last | 0x20 == UInt8(ascii: "m")
        {
            next += 1  // `07:38 PM`
            meridiem = bytes[tokens[next]].first.map { $0 | 0x20 }
        }
        guard var clock = clockTime(timeText) else { return nil }
        if let meridiem {
            let hour = clock / 3_600
            guard (1...12).contains(hour), meridiem == UInt8(ascii: "a") || meridiem == UInt8(ascii: "p") else {
                return nil
            }
            clock = clock % 3_600 + (hour % 12 + (meridiem == UInt8(ascii: "p") ? 12 : 0)) * 3_600
        }
        next += 1
        guard next + 1 < tokens.count else { return nil }
        let column = bytes[tokens[next]]
        var entry = FTPRemoteEntry(name: "", kind: .file, modificationTime: days.map { $0 * 86_400 + clock })
        if column.count >= 2, column.first == UInt8(ascii: "<"), column.last == UInt8(ascii: ">") {
            let marker = String(decoding: column, as: UTF8.self).uppercased()
            entry.kind = marker == "<DIR>" ? .directory : .other  // <JUNCTION>, <SYMLINKD>
        } else {
            // Some Windows servers group digits: `1,234`.
            guard let size = decimal(column.filter { $0 != UInt8(ascii: ",") }[...]) else { return nil }
            entry.size = size
        }
        entry.name = String(decoding: bytes[tokens[next + 1].lowerBound...], as: UTF8.self)
        entry.role = role(of: entry)
        return entry
    }

    // MARK: Pieces

    static let space = UInt8(ascii: " ")

    static func role(of entry: FTPRemoteEntry) -> FTPListing.DirectoryRole {
        guard entry.kind == .directory else { return .entry }
        switch entry.name {
        case ".": return .current
        case "..": return .parent
        default: return .entry
        }
    }

    static func asciiLowercased(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        bytes.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
    }

    static func withoutTrailingCR(_ bytes: [UInt8]) -> [UInt8] {
        bytes.last == UInt8(ascii: "\r") ? Array(bytes.dropLast()) : bytes
    }

    static func lines(of listing: String) -> [[UInt8]] {
        Array(listing.utf8).split(separator: UInt8(ascii: "\n")).map { Array($0) }
    }

    /// The ranges of the first `limit` runs of non-blank bytes (space or tab separate).
    static func tokenize(_ bytes: [UInt8], limit: Int) -> [Range<Int>] {
        var tokens: [Range<Int>] = []
        var index = 0
        let isBlank = { (byte: UInt8) in byte == space || byte == UInt8(ascii: "\t") }
        while index < bytes.count, tokens.count < limit {
            while index < bytes.count, isBlank(bytes[index]) { index += 1 }
            let start = index
            while index < bytes.count, !isBlank(bytes[index]) { index += 1 }
            if index > start { tokens.append(start..<index) }
        }
        return tokens
    }

    /// The file-type letter and mode bits of `drwxr-sr-t`, allowing a trailing `+` (ACL), `@`
    /// (extended attributes) or `.` (SELinux context).
    static func unixPermissions(_ text: ArraySlice<UInt8>) -> (kind: UInt8, mode: UInt32)? {
        guard text.count >= 10, let kind = text.first, Array("-dlcbpsDn".utf8).contains(kind),
            text.dropFirst(10).allSatisfy({ Array("+@.".utf8).contains($0) })
        else { return nil }
        let letters = Array(text.dropFirst().prefix(9))
        var mode: UInt32 = 0
        for (position, letter) in letters.enumerated() {
            let bit = UInt32(1) << UInt32(8 - position)
            switch (position % 3, letter) {
            case (_, UInt8(ascii: "-")): break
            case (0, UInt8(ascii: "r")), (1, UInt8(ascii: "w")), (2, UInt8(ascii: "x")): mode |= bit
            case (2, UInt8(ascii: "s")), (2, UInt8(ascii: "t")): mode |= bit | special(position)
            // `S`/`T`: the special bit without execute; `l`/`L`: setgid without execute (mandatory locking).
            case (2, UInt8(ascii: "S")), (2, UInt8(ascii: "T")), (2, UInt8(ascii: "l")), (2, UInt8(ascii: "L")):
                mode |= special(position)
            default: return nil
            }
        }
        return (kind, mode)
    }

    static func special(_ position: Int) -> UInt32 {
        switch position {
        case 2: return 0o4000
        case 5: return 0o2000
        default: return 0o1000
        }
    }

    /// 1 to 20 ASCII digits that fit a UInt64.
    static func decimal(_ text: ArraySlice<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(byte - 0x30))
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }

    /// Octal digits (`0644`, `100644`) that fit a UInt32.
    static func octal(_ text: ArraySlice<UInt8>) -> UInt32? {
        guard !text.isEmpty, text.count <= 10 else { return nil }
        var value: UInt32 = 0
        for byte in text {
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { return nil }
            value = value << 3 | UInt32(byte - 0x30)
        }
        return value
    }

    static func decimal(_ text: ArraySlice<UInt8>, digits: Int) -> Int64? {
        guard text.count == digits, let value = decimal(text) else { return nil }
        return Int64(value)
    }

    /// `1, 3` (`1,` here) or `1,3`: a device's major and minor numbers.
    static func isDeviceNumbers(_ text: ArraySlice<UInt8>) -> Bool {
        guard let comma = text.firstIndex(of: UInt8(ascii: ",")), decimal(text[..<comma]) != nil else { return false }
        let minor = text[(comma + 1)...]
        return minor.isEmpty || decimal(minor) != nil
    }

    static func monthNumber(_ text: ArraySlice<UInt8>) -> Int64? {
        guard text.count == 3 else { return nil }
        let lowered = String(decoding: asciiLowercased(text), as: UTF8.self)
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        return months.firstIndex(of: lowered).map { Int64($0 + 1) }
    }

    /// `H:MM`, `HH:MM` or `HH:MM:SS[.fraction]` as seconds into the day.
    static func clockTime(_ text: ArraySlice<UInt8>) -> Int64? {
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), (1...2).contains(parts[0].count), let hour = decimal(parts[0]),
            let minute = decimal(parts[1], digits: 2), hour <= 23, minute <= 59
        else { return nil }
        var second: Int64 = 0
        if parts.count == 3 {
            let whole = parts[2].prefix { $0 != UInt8(ascii: ".") }
            guard let value = decimal(whole, digits: 2), value <= 60 else { return nil }
            second = min(value, 59)
        }
        return Int64(hour) * 3_600 + minute * 60 + second
    }

    /// `YYYY-MM-DD`.
    static func isoDate(_ text: ArraySlice<UInt8>) -> Int64? {
        let parts = text.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 3, let year = decimal(parts[0], digits: 4), let month = decimal(parts[1], digits: 2),
            let day = decimal(parts[2], digits: 2), let time = dateTime(year: year, month, day, seconds: 0)
        else { return nil }
        return time / 86_400
    }

    /// `+HHMM` / `-HHMM` as seconds east of UTC.
    static func zoneOffset(_ text: ArraySlice<UInt8>) -> Int64? {
        guard text.count == 5, let sign = text.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
            let hours = decimal(text.dropFirst().prefix(2), digits: 2), let minutes = decimal(text.suffix(2), digits: 2),
            hours <= 14, minutes <= 59
        else { return nil }
        let offset = hours * 3_600 + minutes * 60
        return sign == UInt8(ascii: "-") ? -offset : offset
    }

    /// `MM-DD-YY`, `MM-DD-YYYY` (or with `/`) as days since the epoch; `.some(nil)` for a well-formed
    /// date that does not exist, nil for no date at all. Two-digit years 70–99 are 19xx, others 20xx.
    static func dosDate(_ text: ArraySlice<UInt8>) -> Int64?? {
        guard let separator = text.first(where: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "/") }) else { return nil }
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 3, let month = decimal(parts[0], digits: 2), let day = decimal(parts[1], digits: 2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        let year: Int64
        if let short = decimal(parts[2], digits: 2) {
            year = short >= 70 ? 1900 + short : 2000 + short
        } else if let long = decimal(parts[2], digits: 4) {
            year = long
        } else {
            return nil
        }
        return .some(dateTime(year: year, month, day, seconds: 0).map { $0 / 86_400 })
    }

    /// UTC seconds of a calendar date plus `seconds`, or nil when the day does not exist.
    static func dateTime(year: Int64, _ month: Int64, _ day: Int64, seconds: Int64) -> Int64? {
        guard (1...12).contains(month), day >= 1, day <= FTPTimestamp.daysInMonth(year: year, month: month) else {
            return nil
        }
        return FTPTimestamp.daysFromCivil(year: year, month: month, day: day) * 86_400 + seconds
    }

    static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Range<Int>? {
        guard needle.count <= haystack.count else { return nil }
        var start = haystack.startIndex
        while start + needle.count <= haystack.endIndex {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start..<(start + needle.count) }
            start += 1
        }
        return nil
    }
}
