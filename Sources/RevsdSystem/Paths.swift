/// Path comparisons as the filesystem makes them: byte for byte.
///
/// Swift's `String ==` and `hasPrefix` compare Characters under canonical
/// equivalence, so "Café" spelled precomposed (NFC) and decomposed (NFD)
/// compare equal in Swift, though on disk they are two different folders.
/// These compare the UTF-8 bytes, as the kernel and SQLite do.
public enum Paths {
    /// Whether `path` is `root` itself or lies anywhere under it
    /// (`/a/b` holds `/a/b/c`, not `/a/bc`).
    public static func isSameOrInside(_ path: String, root: String) -> Bool {
        let p = path.utf8, r = root.utf8
        guard p.count >= r.count, p.starts(with: r) else { return false }
        if p.count == r.count { return true }
        return p[p.index(p.startIndex, offsetBy: r.count)] == UInt8(ascii: "/")
    }

    /// The folder holding `path` (`/a/b/c.png` → `/a/b`, `/c.png` → `/`), bytes kept as they are.
    public static func parent(of path: String) -> String {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
    }

    /// `path` moved along with its ancestor `old` to `new` (`/a/b/c` from
    /// `/a/b` to `/x` is `/x/c`); nil when `path` is not `old` or under it.
    public static func relocated(_ path: String, from old: String, to new: String) -> String? {
        guard isSameOrInside(path, root: old) else { return nil }
        return new + Substring(path.utf8.dropFirst(old.utf8.count))
    }
}

/// A path as a dictionary key or set member, equal and hashed by its UTF-8
/// bytes. A `[String: …]` keyed by path merges "Café.png" precomposed and
/// decomposed (equal Strings, two files on disk): the second overwrites the
/// first, and a file deleted beside its look-alike is never seen as gone.
public struct PathKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let path: String
    public init(_ path: String) { self.path = path }

    public static func == (a: PathKey, b: PathKey) -> Bool { a.path.utf8.elementsEqual(b.path.utf8) }
    public func hash(into h: inout Hasher) {
        h.combine(path.utf8.count)
        for b in path.utf8 { h.combine(b) }
    }
    /// Byte order, as SQLite's BINARY collation sorts paths.
    public static func < (a: PathKey, b: PathKey) -> Bool { a.path.utf8.lexicographicallyPrecedes(b.path.utf8) }
    public var description: String { path }
}
