import GRDB

/// "This path, or anything under it" as SQL over a path column, as a range
/// that the column's index answers:
///
///     path = root OR (path >= root || '/' AND path < root || '0')
///
/// ('0' is the byte after '/'.) SQLite's default BINARY collation compares
/// UTF-8 bytes, and the bounds are bound as the exact strings, so a folder
/// matches the files whose paths start with its bytes: a folder named in NFD
/// finds its own files and not those of its NFC twin (two folders on disk),
/// and `/a/b` never matches `/a/bc/x.png`. Nothing counts characters, so
/// nothing can disagree about what a character is.
struct PathScope {
    /// A boolean SQL expression; bind `arguments` in order.
    let sql: String
    let arguments: [String]

    /// `root` itself or any path under it.
    static func sameOrInside(_ root: String, column: String = "path") -> PathScope {
        PathScope(sql: "(\(column) = ? OR (\(column) >= ? AND \(column) < ?))", arguments: [root, root + "/", root + "0"])
    }

    /// Any path under `root`, not `root` itself.
    static func inside(_ root: String, column: String = "path") -> PathScope {
        PathScope(sql: "(\(column) >= ? AND \(column) < ?)", arguments: [root + "/", root + "0"])
    }

    /// The new value of a path under `old` when `old` becomes `new`
    /// (`new` followed by what came after `old`); use with `inside(old)`.
    /// SQLite's `length` and `substr` both count code points of the same
    /// bytes, so they agree with each other whatever the spelling.
    static func relocated(from old: String, to new: String, column: String = "path") -> PathScope {
        PathScope(sql: "? || substr(\(column), length(?) + 1)", arguments: [new, old])
    }

    var statementArguments: StatementArguments { StatementArguments(arguments) }
}
