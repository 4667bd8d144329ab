import Testing
import WharfCore

@Suite("VirtualPath")
struct VirtualPathTests {
    static let normalizationCases: [(String, String)] = [
        ("/", "/"),
        ("", "/"),
        (".", "/"),
        ("a", "/a"),
        ("/a", "/a"),
        ("/a/", "/a"),
        ("//a//b///", "/a/b"),
        ("/a/./b/.", "/a/b"),
        ("/a/b/..", "/a"),
        ("/a/b/../c", "/a/c"),
        ("/a/../../b", "/b"),
        ("/..", "/"),
        ("..", "/"),
        ("../../../etc/passwd", "/etc/passwd"),
        ("/../../etc/../etc/./passwd", "/etc/passwd"),
        ("a/b/c/../../..", "/"),
        ("...", "/..."),
        ("/a/..b/.c", "/a/..b/.c"),
        ("/é/ü", "/é/ü"),
    ]

    @Test("normalizes against the root", arguments: Self.normalizationCases)
    func normalizes(input: String, expected: String) {
        let path = VirtualPath(input)
        #expect(path.description == expected)
        #expect(!path.components.contains { $0.isEmpty || $0 == "." || $0 == ".." })
    }

    static let relativeCases: [(String, String, String)] = [
        ("c", "/a/b", "/a/b/c"),
        ("./c", "/a/b", "/a/b/c"),
        ("../c", "/a/b", "/a/c"),
        ("../../c", "/a/b", "/c"),
        ("../../../../c", "/a/b", "/c"),
        ("..", "/a", "/"),
        ("", "/a/b", "/a/b"),
        (".", "/a/b", "/a/b"),
        ("/x", "/a/b", "/x"),
        ("/../x", "/a/b", "/x"),
    ]

    @Test("resolves relative paths against a base", arguments: Self.relativeCases)
    func resolvesRelative(input: String, base: String, expected: String) {
        #expect(VirtualPath(input, relativeTo: VirtualPath(base)).description == expected)
    }

    @Test func rootAndNameAndParent() {
        #expect(VirtualPath.root.isRoot)
        #expect(VirtualPath.root.description == "/")
        #expect(VirtualPath.root.name == "/")
        #expect(VirtualPath.root.parent == .root)
        #expect(VirtualPath("/..").isRoot)
        let path = VirtualPath("/a/b/c.txt")
        #expect(!path.isRoot)
        #expect(path.name == "c.txt")
        #expect(path.components == ["a", "b", "c.txt"])
        #expect(path.parent == VirtualPath("/a/b"))
        #expect(path.parent.parent.parent == .root)
        #expect(VirtualPath(components: ["x", "y"]).description == "/x/y")
    }

    @Test func appending() {
        #expect(VirtualPath("/a").appending("b") == VirtualPath("/a/b"))
        #expect(VirtualPath.root.appending("b") == VirtualPath("/b"))
        #expect(VirtualPath("/a").appending("..") == .root)
        #expect(VirtualPath("/a").appending("../..") == .root)
        #expect(VirtualPath("/a").appending(".") == VirtualPath("/a"))
    }

    static let climbsCases: [(String, String, Bool)] = [
        ("..", "/", true),
        ("/..", "/a/b", true),
        ("/a/../..", "/", true),
        ("../x", "/", true),
        ("a/../..", "/", true),
        ("../..", "/a", true),
        ("../../..", "/a/b", true),
        ("..", "/a", false),
        ("../..", "/a/b", false),
        ("../x", "/a", false),
        ("a/b/../..", "/", false),
        ("/a/..", "/", false),
        ("x", "/", false),
        ("/x/y", "/a", false),
        ("./.", "/", false),
        ("", "/", false),
    ]

    @Test("climbsAboveRoot", arguments: Self.climbsCases)
    func climbsAboveRoot(input: String, base: String, expected: Bool) {
        #expect(VirtualPath.climbsAboveRoot(input, relativeTo: VirtualPath(base)) == expected)
    }

    static let relativeFromCases: [(String, String, String)] = [
        ("/a/b/c", "/a", "b/c"),
        ("/a/c", "/a/b", "../c"),
        ("/x/y", "/a/b", "../../x/y"),
        ("/a", "/a", "."),
        ("/", "/", "."),
        ("/", "/a/b", "../.."),
        ("/a/b", "/", "a/b"),
        ("/ab", "/a", "../ab"),
    ]

    @Test("relative(from:)", arguments: Self.relativeFromCases)
    func relativeFrom(path: String, base: String, expected: String) {
        let target = VirtualPath(path)
        let directory = VirtualPath(base)
        let relative = target.relative(from: directory)
        #expect(relative == expected)
        // Resolving the answer from the base leads back to the path.
        #expect(VirtualPath(relative, relativeTo: directory) == target)
        #expect(!VirtualPath.climbsAboveRoot(relative, relativeTo: directory))
    }

    @Test func isWithin() {
        #expect(VirtualPath("/a/b").isWithin(VirtualPath("/a")))
        #expect(VirtualPath("/a/b").isWithin(VirtualPath("/a/b")))
        #expect(VirtualPath("/a/b").isWithin(.root))
        #expect(VirtualPath.root.isWithin(.root))
        #expect(!VirtualPath("/a").isWithin(VirtualPath("/a/b")))
        #expect(!VirtualPath("/ab").isWithin(VirtualPath("/a")))
        #expect(!VirtualPath("/b/a").isWithin(VirtualPath("/a")))
        #expect(!VirtualPath.root.isWithin(VirtualPath("/a")))
    }

    @Test func hashable() {
        let set: Set<VirtualPath> = [VirtualPath("/a/b"), VirtualPath("a/./b"), VirtualPath("/a/c/../b")]
        #expect(set.count == 1)
    }
}
