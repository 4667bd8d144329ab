import Testing

@testable import FTPServer

@Suite("LIST arguments")
struct FTPListArgumentsTests {
    @Test func flagsAreSplitFromThePath() {
        #expect(FTPListArguments(parsing: "-la") == FTPListArguments(flags: "la", path: ""))
        #expect(FTPListArguments(parsing: "-a -l /dir") == FTPListArguments(flags: "al", path: "/dir"))
        #expect(FTPListArguments(parsing: "-la my dir/sub") == FTPListArguments(flags: "la", path: "my dir/sub"))
        #expect(FTPListArguments(parsing: "dir -la") == FTPListArguments(flags: "", path: "dir -la"))
        #expect(FTPListArguments(parsing: "-") == FTPListArguments(flags: "", path: "-"), "a lone dash is a name")
        #expect(FTPListArguments(parsing: "-x.txt") == FTPListArguments(flags: "", path: "-x.txt"))
        #expect(FTPListArguments(parsing: "") == FTPListArguments(flags: "", path: ""))
    }

    @Test func globs() {
        #expect(FTPListArguments.isGlob("*.txt"))
        #expect(FTPListArguments.isGlob("file?.bin"))
        #expect(FTPListArguments.isGlob("[ab].c"))
        #expect(!FTPListArguments.isGlob("plain name"))
        #expect(FTPListArguments.matches("report.txt", pattern: "*.txt"))
        #expect(!FTPListArguments.matches("report.txt.bak", pattern: "*.txt"))
        #expect(FTPListArguments.matches("a1", pattern: "a?"))
        #expect(FTPListArguments.matches("b.c", pattern: "[ab].c"))
    }
}
