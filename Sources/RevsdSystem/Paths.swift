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

    /// `path` moved along with its ancestor `old` to `new` (`/a/b/c` from
    /// `/a/b` to `/x` is `/x/c`); nil when `path` is not `old` or under it.
    public static func relocated(_ path: String, from old: String, to new: String) -> String? {
        guard isSameOrInside(path, root: old) else { return nil }
        return new + Substring(path.utf8.dropFirst(old.utf8.count))
    }
}
