import GRDB
import RevsdSystem

/// The library as a gallery shows it: indexed images newest first (file
/// mtime, then id, both descending), one card per content. Identical copies
/// (one content hash) are one picture, as in search: a page shows the
/// newest copy that matches the filters, and `image` lists the others. All
/// of it walks the `image_by_mtime` index (migration v6); nothing sorts the
/// library in memory.
extension IndexStore {
    /// "No newer copy of this content passes the same filters": `image` is
    /// the card of its content.
    static func newestCopyClause(_ filter: ImageFilter) -> (sql: String, arguments: [DatabaseValue]) {
        let j = filter.clauses(table: "j")
        return ("""
            (image.contentHash IS NULL OR NOT EXISTS (SELECT 1 FROM image j WHERE j.contentHash = image.contentHash
                AND (j.mtimeNs, j.id) > (image.mtimeNs, image.id) AND \(j.sql.joined(separator: " AND "))))
            """, j.arguments)
    }

    static func galleryWhere(_ filter: ImageFilter) -> (sql: String, arguments: StatementArguments) {
        let own = filter.clauses()
        let copies = newestCopyClause(filter)
        return ((own.sql + [copies.sql]).joined(separator: " AND "), StatementArguments(own.arguments + copies.arguments))
    }

    /// One page of the gallery within `filter`, and how many cards match in all.
    public func galleryPage(_ filter: ImageFilter, limit: Int, offset: Int) throws -> (total: Int, images: [ImageRecord]) {
        let w = Self.galleryWhere(filter)
        return try read { db in
            // A content with any copy within the filters is one card: count
            // contents (grouped along the index) and hash-less images, rather
            // than asking every row whether it is its content's newest.
            let own = filter.clauses()
            let kept = own.sql.joined(separator: " AND ")
            let total = try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM (SELECT 1 FROM image WHERE \(kept) AND contentHash IS NOT NULL GROUP BY contentHash))
                     + (SELECT count(*) FROM image WHERE \(kept) AND contentHash IS NULL)
                """, arguments: StatementArguments(own.arguments + own.arguments)) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM image WHERE \(w.sql) ORDER BY mtimeNs DESC, id DESC LIMIT ? OFFSET ?",
                                        arguments: w.arguments + [limit, offset])
            return (total, rows.map(Self.record))
        }
    }

    /// The cards just newer and just older than `rec` in the unfiltered gallery.
    public func galleryNeighbours(of rec: ImageRecord) throws -> (newer: Int64?, older: Int64?) {
        let w = Self.galleryWhere(ImageFilter())
        let at: StatementArguments = [rec.mtimeNs, rec.id]
        return try read { db in
            let newer = try Int64.fetchOne(db, sql: "SELECT id FROM image WHERE \(w.sql) AND (mtimeNs, id) > (?, ?) ORDER BY mtimeNs, id LIMIT 1",
                                           arguments: w.arguments + at)
            let older = try Int64.fetchOne(db, sql: "SELECT id FROM image WHERE \(w.sql) AND (mtimeNs, id) < (?, ?) ORDER BY mtimeNs DESC, id DESC LIMIT 1",
                                           arguments: w.arguments + at)
            return (newer, older)
        }
    }

    /// The contents whose last indexed image went since the last call
    /// (deleted, changed or failed; see migration v6), now held by no
    /// indexed image; the record of them is cleared.
    public func takeGoneContents() throws -> [String] {
        // Read first: most calls find nothing, and need no write transaction.
        guard try read({ db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM content_gone)") }) == true else { return [] }
        return try write { db in
            let gone = try String.fetchAll(db, sql: """
                SELECT contentHash FROM content_gone g WHERE NOT EXISTS
                    (SELECT 1 FROM image WHERE image.contentHash = g.contentHash AND image.status = 'indexed')
                """)
            try db.execute(sql: "DELETE FROM content_gone")
            return gone
        }
    }

    /// Which of these contents an indexed image holds.
    public func indexedContents(among hashes: [String]) throws -> Set<String> {
        try read { db in
            var out = Set<String>()
            try Self.forEachRow(db, in: hashes, { "SELECT DISTINCT contentHash FROM image WHERE status = 'indexed' AND contentHash IN (\($0))" }) {
                out.insert($0["contentHash"])
            }
            return out
        }
    }
}
