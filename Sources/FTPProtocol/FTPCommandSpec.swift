/// One row of the command table that drives dispatch, the login gate (530), argument checks (501),
/// the permission gate (550), FEAT and HELP — after pyftpdlib's `proto_cmds`.
public struct FTPCommandSpec: Hashable, Sendable {
    public enum ArgumentRule: Hashable, Sendable {
        case none, required, optional

        /// Whether `argument` is acceptable; an empty argument counts as absent.
        public func accepts(_ argument: String?) -> Bool {
            let present = !(argument ?? "").isEmpty
            switch self {
            case .none: return !present
            case .required: return present
            case .optional: return true
            }
        }
    }

    /// What FEAT says about a command (RFC 2389).
    public enum Feature: Hashable, Sendable {
        /// A fixed feature line, e.g. `SIZE` or `REST STREAM`.
        case line(String)
        /// `MLST` with the offered facts, `*` on those selected (`OPTS MLST`).
        case mlst
        /// `HASH` with the offered algorithms, `*` on the selected one (`OPTS HASH`).
        case hash
    }

    /// Upper-case verb.
    public let name: String
    /// For the X* aliases (RFC 775), the command they stand for.
    public let aliasOf: String?
    /// Whether the command is refused with 530 before login.
    public let needsLogin: Bool
    public let argument: ArgumentRule
    /// What the user must be allowed to do; empty for commands without a permission check.
    public let permission: FTPAllowedOperations
    /// Whether the command is answered while a transfer runs (ABOR, STAT, QUIT, NOOP).
    public let allowedDuringTransfer: Bool
    /// HELP text: `Syntax: VERB <SP> argument (what it does).`
    public let help: String
    /// FEAT lines this command contributes (RFC 2389: only extensions, not RFC 959 basics).
    public let features: [Feature]

    public init(
        _ name: String, aliasOf: String? = nil, needsLogin: Bool = true, argument: ArgumentRule,
        permission: FTPAllowedOperations = [], allowedDuringTransfer: Bool = false, features: [Feature] = [],
        help: String
    ) {
        self.name = name
        self.aliasOf = aliasOf
        self.needsLogin = needsLogin
        self.argument = argument
        self.permission = permission
        self.allowedDuringTransfer = allowedDuringTransfer
        self.help = help
        self.features = features
    }

    /// The command this one dispatches to: itself, or the one an X* alias stands for.
    public var canonicalName: String { self.aliasOf ?? self.name }
}

extension FTPCommandSpec {
    /// Every command the server knows, in HELP order.
    public static let all: [FTPCommandSpec] = [
        FTPCommandSpec("ABOR", argument: .none, allowedDuringTransfer: true, help: "Syntax: ABOR (abort transfer)."),
        FTPCommandSpec("ALLO", argument: .required, help: "Syntax: ALLO <SP> bytes (noop; allocate storage)."),
        FTPCommandSpec(
            "APPE", argument: .required, permission: .append,
            help: "Syntax: APPE <SP> file-name (append data to file)."),
        FTPCommandSpec(
            "AUTH", needsLogin: false, argument: .required, features: [.line("AUTH TLS")],
            help: "Syntax: AUTH <SP> TLS (set up secure control channel)."),
        FTPCommandSpec("CCC", argument: .none, help: "Syntax: CCC (clear command channel; refused)."),
        FTPCommandSpec(
            "CDUP", argument: .none, permission: .changeDirectory,
            help: "Syntax: CDUP (go to parent directory)."),
        FTPCommandSpec(
            "CWD", argument: .optional, permission: .changeDirectory,
            help: "Syntax: CWD [<SP> dir-name] (change working directory)."),
        FTPCommandSpec("DELE", argument: .required, permission: .delete, help: "Syntax: DELE <SP> file-name (delete file)."),
        FTPCommandSpec(
            "EPRT", argument: .required, features: [.line("EPRT")],
            help: "Syntax: EPRT <SP> |proto|ip|port| (extended active mode)."),
        FTPCommandSpec(
            "EPSV", argument: .optional, features: [.line("EPSV")],
            help: "Syntax: EPSV [<SP> proto/\"ALL\"] (extended passive mode)."),
        FTPCommandSpec(
            "FEAT", needsLogin: false, argument: .none,
            help: "Syntax: FEAT (list all new features supported)."),
        FTPCommandSpec(
            "HASH", argument: .required, permission: .retrieve, features: [.hash],
            help: "Syntax: HASH <SP> file-name (checksum of file)."),
        FTPCommandSpec("HELP", needsLogin: false, argument: .optional, help: "Syntax: HELP [<SP> cmd] (show help)."),
        FTPCommandSpec(
            "LIST", argument: .optional, permission: .list,
            help: "Syntax: LIST [<SP> path] (list files)."),
        FTPCommandSpec(
            "MDTM", argument: .required, permission: .list, features: [.line("MDTM")],
            help: "Syntax: MDTM [<SP> path] (file last modification time)."),
        FTPCommandSpec(
            "MFMT", argument: .required, permission: .changeTime, features: [.line("MFMT")],
            help: "Syntax: MFMT <SP> timeval <SP> path (file update last modification time)."),
        FTPCommandSpec(
            "MKD", argument: .required, permission: .makeDirectory,
            help: "Syntax: MKD <SP> path (create directory)."),
        FTPCommandSpec(
            "MLSD", argument: .optional, permission: .list,
            help: "Syntax: MLSD [<SP> path] (list directory)."),
        FTPCommandSpec(
            "MLST", argument: .optional, permission: .list, features: [.mlst],
            help: "Syntax: MLST [<SP> path] (show information about path)."),
        FTPCommandSpec("MODE", argument: .required, help: "Syntax: MODE <SP> mode (noop; set data transfer mode)."),
        FTPCommandSpec(
            "NLST", argument: .optional, permission: .list,
            help: "Syntax: NLST [<SP> path] (list path in a compact form)."),
        FTPCommandSpec(
            "NOOP", needsLogin: false, argument: .none, allowedDuringTransfer: true,
            help: "Syntax: NOOP (just do nothing)."),
        FTPCommandSpec(
            "OPTS", argument: .required, features: [.line("UTF8")],
            help: "Syntax: OPTS <SP> cmd [<SP> option] (set option for command)."),
        FTPCommandSpec(
            "PASS", needsLogin: false, argument: .optional,
            help: "Syntax: PASS [<SP> password] (set user password)."),
        FTPCommandSpec(
            "PASV", argument: .none, help: "Syntax: PASV (open passive data connection)."),
        FTPCommandSpec(
            "PBSZ", needsLogin: false, argument: .required, features: [.line("PBSZ")],
            help: "Syntax: PBSZ <SP> 0 (negotiate TLS buffer)."),
        FTPCommandSpec(
            "PORT", argument: .required,
            help: "Syntax: PORT <sp> h,h,h,h,p,p (open active data connection)."),
        FTPCommandSpec(
            "PROT", needsLogin: false, argument: .required, features: [.line("PROT")],
            help: "Syntax: PROT <SP> [C|P] (set up un/secure data channel)."),
        FTPCommandSpec("PWD", argument: .none, help: "Syntax: PWD (get current working directory)."),
        FTPCommandSpec(
            "QUIT", needsLogin: false, argument: .none, allowedDuringTransfer: true,
            help: "Syntax: QUIT (quit current session)."),
        FTPCommandSpec("REIN", needsLogin: false, argument: .none, help: "Syntax: REIN (flush account)."),
        FTPCommandSpec(
            "REST", argument: .required, features: [.line("REST STREAM")],
            help: "Syntax: REST <SP> offset (set file offset)."),
        FTPCommandSpec(
            "RETR", argument: .required, permission: .retrieve,
            help: "Syntax: RETR <SP> file-name (retrieve a file)."),
        FTPCommandSpec(
            "RMD", argument: .required, permission: .delete, help: "Syntax: RMD <SP> dir-name (remove directory)."),
        FTPCommandSpec(
            "RNFR", argument: .required, permission: .rename,
            help: "Syntax: RNFR <SP> file-name (rename (source name))."),
        FTPCommandSpec(
            "RNTO", argument: .required, permission: .rename,
            help: "Syntax: RNTO <SP> file-name (rename (destination name))."),
        FTPCommandSpec(
            "SITE", argument: .required, features: [.line("SITE CHMOD")],
            help: "Syntax: SITE <SP> site-command (execute SITE command)."),
        FTPCommandSpec(
            "SIZE", argument: .required, permission: .list, features: [.line("SIZE")],
            help: "Syntax: SIZE <SP> file-name (get file size)."),
        FTPCommandSpec(
            "STAT", argument: .optional, allowedDuringTransfer: true,
            help: "Syntax: STAT [<SP> path name] (server stats [list files])."),
        FTPCommandSpec(
            "STOR", argument: .required, permission: .store, help: "Syntax: STOR <SP> file-name (store a file)."),
        FTPCommandSpec(
            "STOU", argument: .optional, permission: .store,
            help: "Syntax: STOU [<SP> name] (store a file with a unique name)."),
        FTPCommandSpec("STRU", argument: .required, help: "Syntax: STRU <SP> type (noop; set file structure)."),
        FTPCommandSpec("SYST", argument: .none, help: "Syntax: SYST (get operating system type)."),
        FTPCommandSpec(
            "TYPE", argument: .required, help: "Syntax: TYPE <SP> [A | I] (set transfer type)."),
        FTPCommandSpec("USER", needsLogin: false, argument: .required, help: "Syntax: USER <SP> user-name (set username)."),
        FTPCommandSpec(
            "XCUP", aliasOf: "CDUP", argument: .none, permission: .changeDirectory,
            help: "Syntax: XCUP (obsolete; go to parent directory)."),
        FTPCommandSpec(
            "XCWD", aliasOf: "CWD", argument: .optional, permission: .changeDirectory,
            help: "Syntax: XCWD [<SP> dir-name] (obsolete; change directory)."),
        FTPCommandSpec(
            "XMKD", aliasOf: "MKD", argument: .required, permission: .makeDirectory,
            help: "Syntax: XMKD <SP> dir-name (obsolete; create directory)."),
        FTPCommandSpec("XPWD", aliasOf: "PWD", argument: .none, help: "Syntax: XPWD (obsolete; get current dir)."),
        FTPCommandSpec(
            "XRMD", aliasOf: "RMD", argument: .required, permission: .delete,
            help: "Syntax: XRMD <SP> dir-name (obsolete; remove directory)."),
    ]

    /// SITE sub-commands (`SITE CHMOD`, `SITE HELP`).
    public static let siteCommands: [FTPCommandSpec] = [
        FTPCommandSpec(
            "CHMOD", argument: .required, permission: .changeMode,
            help: "Syntax: SITE CHMOD <SP> mode <SP> path (change file mode)."),
        FTPCommandSpec("HELP", argument: .optional, help: "Syntax: SITE HELP [<SP> cmd] (show SITE help)."),
    ]

    private static let byName: [String: FTPCommandSpec] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) })
    private static let siteByName: [String: FTPCommandSpec] = Dictionary(
        uniqueKeysWithValues: siteCommands.map { ($0.name, $0) })

    /// The spec for a verb, case-insensitively; nil for unknown verbs (reply 500).
    public static func lookup(_ verb: some StringProtocol) -> FTPCommandSpec? {
        byName[verb.uppercased()]
    }

    /// The spec for a SITE sub-command, case-insensitively.
    public static func lookupSite(_ verb: some StringProtocol) -> FTPCommandSpec? {
        siteByName[verb.uppercased()]
    }
}

/// Session choices that shape FEAT: which commands are on and which MLST facts / HASH algorithms.
public struct FTPFeatureOptions: Hashable, Sendable {
    /// Whether a command is offered (e.g. false for AUTH/PBSZ/PROT when TLS is off).
    public var disabledCommands: Set<String>
    public var selectedFacts: Set<FTPFact>
    public var hashAlgorithms: [String]
    public var selectedHash: String

    public init(
        disabledCommands: Set<String> = [], selectedFacts: Set<FTPFact> = Set(FTPFact.allCases),
        hashAlgorithms: [String] = ["SHA-256", "SHA-1"], selectedHash: String = "SHA-256"
    ) {
        self.disabledCommands = disabledCommands
        self.selectedFacts = selectedFacts
        self.hashAlgorithms = hashAlgorithms
        self.selectedHash = selectedHash
    }

    /// Every feature on: one shared copy, so that a session that keeps the defaults (most do)
    /// holds no set of its own (copy-on-write copies only when a session changes something).
    public static let standard = FTPFeatureOptions()

    /// `standard` without the TLS commands, for a server without a certificate.
    public static let withoutTLS = FTPFeatureOptions(disabledCommands: ["AUTH", "PBSZ", "PROT", "CCC"])
}

extension FTPCommandSpec {
    /// The FEAT reply (RFC 2389 §3.2): `211-Features:`, one ` LINE` per feature, sorted, `211 End`.
    public static func featReply(
        commands: [FTPCommandSpec] = FTPCommandSpec.all, options: FTPFeatureOptions = FTPFeatureOptions()
    ) -> FTPReply {
        var lines: Set<String> = []
        for command in commands where !options.disabledCommands.contains(command.name) {
            for feature in command.features {
                switch feature {
                case .line(let text): lines.insert(text)
                case .mlst: lines.insert("MLST " + FTPFact.featureList(selected: options.selectedFacts))
                case .hash:
                    let list = options.hashAlgorithms.map { $0 + ($0 == options.selectedHash ? "*" : "") }
                    lines.insert("HASH " + list.joined(separator: ";"))
                }
            }
        }
        return FTPReply(code: 211, lines: ["Features:"] + lines.sorted().map { " " + $0 } + ["End"])
    }

    /// The HELP reply: with no argument the command names eight to a line (214); with a known verb
    /// its syntax (214); with an unknown one 501.
    public static func helpReply(
        _ argument: String?, commands: [FTPCommandSpec] = FTPCommandSpec.all
    ) -> FTPReply {
        if let argument, !argument.isEmpty {
            guard let spec = commands.first(where: { $0.name == argument.uppercased() }) else {
                return FTPReply(code: 501, "Unrecognized command.")
            }
            return FTPReply(code: 214, spec.help)
        }
        let names = commands.map { $0.name.padding(toWidth: 4) }
        var lines = ["The following commands are recognized:"]
        for start in stride(from: 0, to: names.count, by: 8) {
            lines.append(" " + names[start..<min(start + 8, names.count)].joined(separator: " "))
        }
        lines.append("Help command successful.")
        return FTPReply(code: 214, lines: lines)
    }
}

extension String {
    fileprivate func padding(toWidth width: Int) -> String {
        self.count >= width ? self : self + String(repeating: " ", count: width - self.count)
    }
}
