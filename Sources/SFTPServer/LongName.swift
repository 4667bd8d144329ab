#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import WharfCore

/// The `longname` of a READDIR entry, in the form OpenSSH's sftp-server writes (ls_file() in
/// sftp-common.c), which clients print verbatim for `ls -l`.
enum LongName {
    static func format(name: String, attributes: FileAttributes, now: Int64 = Int64(time(nil))) -> String {
        let mode = modeString(attributes.mode)
        let user = pad(attributes.userName ?? String(attributes.userID), to: 8)
        let group = pad(attributes.groupName ?? String(attributes.groupID), to: 8)
        let links = leftPad(String(attributes.linkCount), to: 3)
        let size = leftPad(String(attributes.size), to: 8)
        let date = dateString(attributes.modificationTime, now: now)
        // strmode() ends with a space, hence two before the link count.
        return "\(mode)  \(links) \(user) \(group) \(size) \(date) \(name)"
    }

    /// strmode(3) without its trailing space.
    static func modeString(_ mode: UInt32) -> String {
        var characters: [Character] = []
        switch FileType(mode: mode) {
        case .directory: characters.append("d")
        case .symbolicLink: characters.append("l")
        case .characterDevice: characters.append("c")
        case .blockDevice: characters.append("b")
        case .fifo: characters.append("p")
        case .socket: characters.append("s")
        case .regular, .unknown: characters.append("-")
        }
        let bits: [(UInt32, Character)] = [
            (0o400, "r"), (0o200, "w"), (0o100, "x"), (0o040, "r"), (0o020, "w"), (0o010, "x"),
            (0o004, "r"), (0o002, "w"), (0o001, "x"),
        ]
        for (bit, letter) in bits { characters.append(mode & bit != 0 ? letter : "-") }
        if mode & 0o4000 != 0 { characters[3] = mode & 0o100 != 0 ? "s" : "S" }
        if mode & 0o2000 != 0 { characters[6] = mode & 0o010 != 0 ? "s" : "S" }
        if mode & 0o1000 != 0 { characters[9] = mode & 0o001 != 0 ? "t" : "T" }
        return String(characters)
    }

    /// "%b %e %H:%M" within the last six months, else "%b %e  %Y", in local time like OpenSSH.
    static func dateString(_ seconds: Int64, now: Int64) -> String {
        var clock = time_t(seconds)
        var parts = tm()
        guard localtime_r(&clock, &parts) != nil else { return "Jan  1  1970" }
        var buffer = [CChar](repeating: 0, count: 64)
        let recent = now - (365 * 24 * 60 * 60) / 2 < seconds && now >= seconds
        let count = strftime(&buffer, buffer.count, recent ? "%b %e %H:%M" : "%b %e  %Y", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func pad(_ text: String, to width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func leftPad(_ text: String, to width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
