/// A UTC instant as MDTM, MFMT and the MLSx `modify` fact carry it: `YYYYMMDDHHMMSS[.sss]` (RFC 3659 §2.3).
public struct FTPTimestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSinceEpoch: Int64
    /// The fraction a client may send (`.sss`); not part of `description`.
    public var nanoseconds: UInt32

    public init(secondsSinceEpoch: Int64, nanoseconds: UInt32 = 0) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.nanoseconds = nanoseconds
    }

    /// Parses `YYYYMMDDHHMMSS` with an optional `.` and 1 to 9 fraction digits. Every field is range
    /// checked (day against the month's length, second 60 allowed as RFC 3659 does and read as 59).
    public init(parsing text: some StringProtocol) throws(FTPProtocolError) {
        let bytes = Array(text.utf8)
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        guard bytes.count >= 14, bytes[0..<14].allSatisfy(isDigit) else {
            throw .invalidTimestamp("expected 14 digits YYYYMMDDHHMMSS")
        }
        func number(_ range: Range<Int>) -> Int64 { bytes[range].reduce(0) { $0 * 10 + Int64($1 - 0x30) } }
        let (year, month, day) = (number(0..<4), number(4..<6), number(6..<8))
        let (hour, minute, second) = (number(8..<10), number(10..<12), number(12..<14))
        guard (1...12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { throw .invalidTimestamp("field out of range") }
        var nanoseconds: UInt32 = 0
        if bytes.count > 14 {
            let fraction = bytes[15...]
            guard bytes[14] == UInt8(ascii: "."), (1...9).contains(fraction.count), fraction.allSatisfy(isDigit) else {
                throw .invalidTimestamp("fraction must be . and 1 to 9 digits")
            }
            let digits = fraction.reduce(UInt32(0)) { $0 * 10 + UInt32($1 - 0x30) }
            nanoseconds = digits * (0..<(9 - fraction.count)).reduce(UInt32(1)) { value, _ in value * 10 }
        }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.init(secondsSinceEpoch: days * 86_400 + hour * 3_600 + minute * 60 + min(second, 59), nanoseconds: nanoseconds)
    }

    /// `YYYYMMDDHHMMSS` in UTC.
    public var description: String {
        let c = self.components
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2)
    }

    public static func < (lhs: FTPTimestamp, rhs: FTPTimestamp) -> Bool {
        (lhs.secondsSinceEpoch, lhs.nanoseconds) < (rhs.secondsSinceEpoch, rhs.nanoseconds)
    }

    /// The UTC calendar fields (proleptic Gregorian).
    public var components: (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) {
        let (days, seconds) = floorDivide(self.secondsSinceEpoch, 86_400)
        let (year, month, day) = Self.civilFromDays(days)
        return (year, month, day, seconds / 3_600, seconds / 60 % 60, seconds % 60)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400).quotient
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Howard Hinnant's civil_from_days.
    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097).quotient
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// The argument of `MFMT YYYYMMDDHHMMSS path` (draft-somers-ftp-mfxx): the time and the path verbatim.
public struct FTPModifyTimeArgument: Hashable, Sendable {
    public var time: FTPTimestamp
    public var path: String

    public init(time: FTPTimestamp, path: String) {
        self.time = time
        self.path = path
    }

    public init(parsing argument: String) throws(FTPProtocolError) {
        guard let space = argument.firstIndex(of: " ") else {
            throw .invalidArgument("MFMT needs a time-val and a path")
        }
        let path = String(argument[argument.index(after: space)...])
        guard !path.isEmpty else { throw .invalidArgument("MFMT needs a path") }
        self.init(time: try FTPTimestamp(parsing: argument[..<space]), path: path)
    }
}

func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
    let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
    return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
}

func pad(_ value: Int64, _ width: Int, with fill: Character = "0") -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: fill, count: width - text.count) + text
}
