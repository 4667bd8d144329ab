/// What a server's FEAT reply offers (RFC 2389), by feature name, upper-cased, with its parameters.
struct FTPFeatures: Sendable, Hashable {
    private(set) var parameters: [String: String] = [:]

    init() {}

    /// Reads the feature lines of a 211 reply (the first and last lines are text, the ones between
    /// name one feature each, starting with a space).
    init(featReplyLines lines: [String]) {
        for line in lines.dropFirst().dropLast() {
            let trimmed = line.drop { $0 == " " }
            guard !trimmed.isEmpty else { continue }
            let name = trimmed.prefix { $0 != " " }.uppercased()
            let rest = trimmed.drop { $0 != " " }.drop { $0 == " " }
            self.parameters[name] = String(rest)
        }
    }

    func offers(_ name: String) -> Bool { self.parameters[name] != nil }

    var machineListings: Bool { self.offers("MLST") }
    var utf8: Bool { self.offers("UTF8") }
    var restartStream: Bool { self.parameters["REST"]?.uppercased().contains("STREAM") ?? false }
    var setModificationTime: Bool { self.offers("MFMT") }

    /// The MLSx facts the client reads, as an `OPTS MLST` argument, when the server offers some of
    /// them without selecting them by default (no `*`); nil when nothing needs asking for.
    var machineListingFactsToSelect: String? {
        guard let list = self.parameters["MLST"] else { return nil }
        let wanted = ["type", "size", "modify", "unix.mode", "perm"]
        var offered: [String: Bool] = [:]  // fact -> selected by default
        for item in list.split(separator: ";") {
            let fact = item.trimmingCharacters(in: " ")
            guard !fact.isEmpty else { continue }
            let selected = fact.hasSuffix("*")
            offered[(selected ? String(fact.dropLast()) : fact).lowercased()] = selected
        }
        let available = wanted.filter { offered[$0] != nil }
        guard available.contains(where: { offered[$0] == false }) else { return nil }
        return available.map { $0 + ";" }.joined()
    }

    /// The algorithms of `HASH` (draft-bryan-ftpext-hash): `SHA-256*;SHA-1;MD5`, the starred one
    /// selected. Names as the server writes them.
    var hashAlgorithms: (all: [String], selected: String?) {
        guard let list = self.parameters["HASH"] else { return ([], nil) }
        var all: [String] = []
        var selected: String? = nil
        for item in list.split(separator: ";") {
            let name = item.trimmingCharacters(in: " ")
            guard !name.isEmpty else { continue }
            if name.hasSuffix("*") {
                let bare = String(name.dropLast())
                all.append(bare)
                selected = bare
            } else {
                all.append(name)
            }
        }
        return (all, selected)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(self.drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}

/// HASH's algorithm names (IANA's, as in FEAT) against the check-file names verification uses.
enum FTPHashAlgorithm {
    static func checkFileName(_ ftpName: String) -> String? {
        switch ftpName.uppercased() {
        case "SHA-256": return "sha256"
        case "SHA-512": return "sha512"
        case "SHA-384": return "sha384"
        case "SHA-1": return "sha1"
        case "MD5": return "md5"
        case "CRC32": return "crc32"
        default: return nil
        }
    }
}
