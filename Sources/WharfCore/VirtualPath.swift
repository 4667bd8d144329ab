/// Lexical path arithmetic for a jailed file tree whose root the client sees as "/".
///
/// `..` never climbs above the root: "/../../etc" is "/etc" inside the jail, as in a chroot.
/// Symlinks are dealt with by the storage, which checks where a path really leads.
public struct VirtualPath: Hashable, Sendable, CustomStringConvertible {
    /// Components, none empty, none "." or "..".
    public private(set) var components: [String]

    public static let root = VirtualPath(components: [])

    public init(components: [String]) {
        self.components = components
    }

    /// Resolves `path` against `base` (used when `path` is relative).
    public init(_ path: String, relativeTo base: VirtualPath = .root) {
        var components = path.hasPrefix("/") ? [] : base.components
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(part))
            }
        }
        self.components = components
    }

    public var isRoot: Bool { self.components.isEmpty }
    public var name: String { self.components.last ?? "/" }
    public var parent: VirtualPath { VirtualPath(components: Array(self.components.dropLast())) }
    public var description: String { "/" + self.components.joined(separator: "/") }

    public func appending(_ name: String) -> VirtualPath { VirtualPath(name, relativeTo: self) }

    /// True when `self` is `other` or lies below it.
    public func isWithin(_ other: VirtualPath) -> Bool {
        self.components.count >= other.components.count
            && Array(self.components.prefix(other.components.count)) == other.components
    }

    /// Whether resolving `path` against `base` would climb above the root, which `init` silently clamps.
    public static func climbsAboveRoot(_ path: String, relativeTo base: VirtualPath) -> Bool {
        var depth = path.hasPrefix("/") ? 0 : base.components.count
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if depth == 0 { return true }
                depth -= 1
            default: depth += 1
            }
        }
        return false
    }

    /// The relative path from directory `base` to `self`, e.g. "../b/c".
    public func relative(from base: VirtualPath) -> String {
        var common = 0
        while common < base.components.count, common < self.components.count,
            base.components[common] == self.components[common]
        {
            common += 1
        }
        let ups = Array(repeating: "..", count: base.components.count - common)
        let parts = ups + self.components[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
