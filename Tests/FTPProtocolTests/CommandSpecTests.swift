import Testing

@testable import FTPProtocol

@Suite("FTPCommandSpec")
struct CommandSpecTests {
    static let issueVerbs = """
        USER PASS AUTH PBSZ PROT CCC FEAT OPTS EPRT EPSV MLST MLSD SIZE MDTM REST MFMT HASH SITE STOU APPE ABOR REIN \
        STAT HELP NOOP ALLO MODE STRU TYPE RETR STOR DELE RMD MKD PWD CWD CDUP RNFR RNTO LIST NLST PORT PASV QUIT SYST \
        XCWD XCUP XMKD XPWD XRMD
        """.split(separator: " ").map(String.init)

    @Test func tableHoldsExactlyTheIssueVerbs() {
        #expect(Set(FTPCommandSpec.all.map(\.name)) == Set(Self.issueVerbs))
        #expect(FTPCommandSpec.all.count == Self.issueVerbs.count)
    }

    @Test func lookupIsCaseInsensitive() throws {
        #expect(FTPCommandSpec.lookup("retr")?.name == "RETR")
        #expect(FTPCommandSpec.lookup("Mlsd")?.permission == .list)
        #expect(FTPCommandSpec.lookup("ACCT") == nil)
        #expect(FTPCommandSpec.lookup("") == nil)
        #expect(FTPCommandSpec.lookup("xmkd")?.canonicalName == "MKD")
        #expect(FTPCommandSpec.lookupSite("chmod")?.permission == .changeMode)
    }

    @Test func aliasesPointAtRealCommands() throws {
        for spec in FTPCommandSpec.all {
            guard let target = spec.aliasOf else { continue }
            let real = try #require(FTPCommandSpec.lookup(target))
            #expect(real.argument == spec.argument, "\(spec.name)")
            #expect(real.permission == spec.permission, "\(spec.name)")
        }
    }

    @Test func loginGate() {
        let before = Set(FTPCommandSpec.all.filter { !$0.needsLogin }.map(\.name))
        #expect(before == ["USER", "PASS", "AUTH", "PBSZ", "PROT", "FEAT", "HELP", "NOOP", "QUIT", "REIN"])
    }

    @Test func argumentRules() {
        #expect(FTPCommandSpec.ArgumentRule.required.accepts("x"))
        #expect(!FTPCommandSpec.ArgumentRule.required.accepts(""))
        #expect(!FTPCommandSpec.ArgumentRule.required.accepts(nil))
        #expect(FTPCommandSpec.ArgumentRule.none.accepts(nil))
        #expect(FTPCommandSpec.ArgumentRule.none.accepts(""))
        #expect(!FTPCommandSpec.ArgumentRule.none.accepts("x"))
        #expect(FTPCommandSpec.ArgumentRule.optional.accepts(nil) && FTPCommandSpec.ArgumentRule.optional.accepts("x"))
        #expect(FTPCommandSpec.lookup("RETR")?.argument == .required)
        #expect(FTPCommandSpec.lookup("PASV")?.argument == FTPCommandSpec.ArgumentRule.none)
        #expect(FTPCommandSpec.lookup("LIST")?.argument == .optional)
    }

    @Test func feat() {
        let expected = """
            211-Features:\r
             AUTH TLS\r
             EPRT\r
             EPSV\r
             HASH SHA-256*;SHA-1\r
             MDTM\r
             MFMT\r
             MLST type*;size*;modify*;perm*;unique*;unix.mode*;\r
             PBSZ\r
             PROT\r
             REST STREAM\r
             SITE CHMOD\r
             SIZE\r
             UTF8\r
            211 End\r

            """
        #expect(FTPCommandSpec.featReply().description == expected)
    }

    @Test func featWithoutTLS() {
        let options = FTPFeatureOptions(
            disabledCommands: ["AUTH", "PBSZ", "PROT"], selectedFacts: [.type, .size], hashAlgorithms: ["SHA-1", "SHA-256"],
            selectedHash: "SHA-1")
        let lines = FTPCommandSpec.featReply(options: options).lines
        #expect(!lines.contains(" AUTH TLS") && !lines.contains(" PBSZ") && !lines.contains(" PROT"))
        #expect(lines.contains(" MLST type*;size*;modify;perm;unique;unix.mode;"))
        #expect(lines.contains(" HASH SHA-1*;SHA-256"))
    }

    @Test func help() {
        #expect(FTPCommandSpec.helpReply("retr").description == "214 Syntax: RETR <SP> file-name (retrieve a file).\r\n")
        #expect(FTPCommandSpec.helpReply("ACCT").description == "501 Unrecognized command.\r\n")
        let all = FTPCommandSpec.helpReply(nil)
        #expect(all.code == 214)
        #expect(all.lines.first == "The following commands are recognized:")
        #expect(all.lines[1] == " ABOR ALLO APPE AUTH CCC  CDUP CWD  DELE")
        #expect(all.lines.last == "Help command successful.")
        #expect(all.lines.count == 2 + (FTPCommandSpec.all.count + 7) / 8)
        for spec in FTPCommandSpec.all { #expect(all.description.contains(spec.name)) }
    }
}
