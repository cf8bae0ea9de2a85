import Foundation
import GRDB
import Learning
import Metadata
import RevsdSystem

extension IndexStore {
    // MARK: Reading

    static func record(_ row: Row) -> ImageRecord {
        let metadata: GenerationMetadata? = (row["metadataJSON"] as String?).flatMap {
            try? JSONDecoder().decode(GenerationMetadata.self, from: Data($0.utf8))
        }
        let keywords: [String] = (row["keywordsJSON"] as String?).flatMap {
            try? JSONDecoder().decode([String].self, from: Data($0.utf8))
        } ?? []
        return ImageRecord(
            id: row["id"], path: row["path"], contentHash: row["contentHash"], size: row["size"], mtimeNs: row["mtimeNs"],
            width: row["width"], height: row["height"], format: row["format"],
            status: ImageRecord.Status(rawValue: row["status"]) ?? .failed, error: row["error"],
            metadata: metadata, caption: row["caption"], keywords: keywords,
            indexedAt: Date(timeIntervalSince1970: row["indexedAt"]),
            alignment: (row["alignment"] as Double?).map(Float.init), tier: row["tier"],
            analysed: (row["analysed"] as Int? ?? 1) != 0,
            predictionOrigin: (row["predictionOrigin"] as String?).flatMap(PredictionOrigin.init))
    }

    public func image(path: String) throws -> ImageRecord? {
        try read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM image WHERE path = ?"), arguments: [path]).map(Self.record) }
    }

    public func images(ids: [Int64]) throws -> [Int64: ImageRecord] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var out: [Int64: ImageRecord] = [:]
            try Self.forEachRow(db, in: ids, { "SELECT * FROM image WHERE id IN (\($0))" }) { row in
                let r = Self.record(row); out[r.id] = r
            }
            return out
        }
    }

    /// An indexed and analysed image with this content, preferring one whose
    /// file is gone (a move) over a live one (a copy).
    public func indexedImage(contentHash: String) throws -> ImageRecord? {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM image WHERE contentHash = ? AND status = 'indexed' AND analysed = 1"),
                             arguments: [contentHash]).map(Self.record)
        }.sorted { a, _ in !FileManager.default.fileExists(atPath: a.path) }.first
    }

    public func embeddings(imageID: Int64) throws -> [EmbeddingKind: [Float]] {
        try read { db in
            var out: [EmbeddingKind: [Float]] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, vector FROM embedding WHERE imageId = ?"), arguments: [imageID]) {
                guard let kind: EmbeddingKind = row["kind"] else { continue }   // a kind this revsd does not know
                out[kind] = [Float](blob: row["vector"])
            }
            return out
        }
    }

    /// The vectors of one kind of these images (those that have one).
    public func vectors(kind: EmbeddingKind, ids: [Int64]) throws -> [Int64: [Float]] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var out: [Int64: [Float]] = [:]
            try Self.forEachRow(db, in: ids, leading: [kind], { "SELECT imageId, vector FROM embedding WHERE kind = ? AND imageId IN (\($0))" }) { row in
                out[row["imageId"]] = [Float](blob: row["vector"])
            }
            return out
        }
    }

    /// Every vector of one kind: (image id, vector), for the search matrix.
    public func vectors(kind: EmbeddingKind) throws -> [(Int64, [Float])] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT imageId, vector FROM embedding WHERE kind = ?", arguments: [kind]).map {
                ($0["imageId"], [Float](blob: $0["vector"]))
            }
        }
    }

    /// What reconciliation compares with the disk: path → (size, mtime).
    /// Size and mtime of each record under `root` (nil: all), keyed by the
    /// path's bytes (two names that differ only in Unicode normalization are
    /// two files).
    public func fileStates(under root: String? = nil) throws -> [PathKey: (size: Int64, mtimeNs: Int64)] {
        try read { db in
            var out: [PathKey: (Int64, Int64)] = [:]
            let rows: [Row]
            if let root {
                let scope = PathScope.sameOrInside(root)
                rows = try Row.fetchAll(db, sql: "SELECT path, size, mtimeNs FROM image WHERE " + scope.sql, arguments: scope.statementArguments)
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT path, size, mtimeNs FROM image")
            }
            for r in rows { out[PathKey(r["path"])] = (r["size"], r["mtimeNs"]) }
            return out
        }
    }

    /// Files recorded failed, most recent first (`limit` from `offset`).
    public func failedImages(limit: Int, offset: Int = 0) throws -> [ImageRecord] {
        try read { db in
            try Row.fetchAll(db, sql: Self.failedImagesSQL, arguments: [limit, offset]).map(Self.record)
        }
    }

    /// Along `image_failed_by_time` (migration v9), newest first.
    static let failedImagesSQL = "SELECT * FROM image WHERE status = 'failed' ORDER BY indexedAt DESC, id DESC LIMIT ? OFFSET ?"

    /// Image ids whose known prompt (its search text) matches an FTS5 query.
    public func promptMatches(_ query: String) throws -> Set<Int64> {
        try read { db in
            let pattern = FTS5Pattern(matchingAllPrefixesIn: query)
            guard let pattern else { return [] }
            return Set(try Int64.fetchAll(db, sql: "SELECT rowid FROM image_prompt WHERE image_prompt MATCH ?", arguments: [pattern]))
        }
    }

    // MARK: Writing

    /// Image ids at `path` or under it (for a folder).
    public func imageIDs(under path: String) throws -> [Int64] {
        try read { db in
            let scope = PathScope.sameOrInside(path)
            return try Int64.fetchAll(db, sql: "SELECT id FROM image WHERE " + scope.sql, arguments: scope.statementArguments)
        }
    }

    @discardableResult
    static func upsert(_ f: IndexedFile, _ db: Database) throws -> Int64 {
        let metadataJSON = try f.metadata.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let keywordsJSON = String(decoding: try JSONEncoder().encode(f.keywords), as: UTF8.self)
        let prompt = f.metadata?.hasRealPrompt == true ? f.metadata?.prompt : nil
        try db.cachedStatement(sql: """
            INSERT INTO image (path, contentHash, size, mtimeNs, width, height, format, status, error, metadataJSON,
                               prompt, searchText, negativePrompt, source, caption, keywordsJSON, indexedAt, analysed, predictionOrigin)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(path) DO UPDATE SET contentHash = excluded.contentHash, size = excluded.size,
                mtimeNs = excluded.mtimeNs, width = excluded.width, height = excluded.height, format = excluded.format,
                status = excluded.status, error = excluded.error, metadataJSON = excluded.metadataJSON,
                prompt = excluded.prompt, searchText = excluded.searchText, negativePrompt = excluded.negativePrompt, source = excluded.source,
                caption = excluded.caption, keywordsJSON = excluded.keywordsJSON, indexedAt = excluded.indexedAt,
                analysed = excluded.analysed,
                predictionOrigin = CASE WHEN excluded.predictionOrigin IS NOT NULL THEN excluded.predictionOrigin
                                        WHEN contentHash IS excluded.contentHash THEN predictionOrigin END,
                alignment = CASE WHEN contentHash IS excluded.contentHash AND prompt IS excluded.prompt THEN alignment END,
                tier = CASE WHEN contentHash IS excluded.contentHash AND prompt IS excluded.prompt THEN tier END
            """).execute(arguments: [f.path, f.contentHash, f.size, f.mtimeNs, f.width, f.height, f.format,
                             f.error == nil ? "indexed" : "failed", f.error, metadataJSON, prompt, prompt.map(PromptText.searchText),
                             f.metadata?.negativePrompt, f.metadata?.source, f.caption, keywordsJSON,
                             Date().timeIntervalSince1970, f.analysed || f.error != nil,
                             f.embeddings[.predicted] == nil ? nil : f.predictionOrigin?.rawValue])
        let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM image WHERE path = ?"), arguments: [f.path])!
        // Identical content is one example: a copy takes the alignment and
        // tier its twin was scored with (the same file content and prompt).
        try db.cachedStatement(sql: """
            UPDATE image SET (alignment, tier) = (SELECT j.alignment, j.tier FROM image j
                WHERE j.contentHash = image.contentHash AND j.prompt IS image.prompt AND j.id != image.id AND j.alignment IS NOT NULL LIMIT 1)
            WHERE id = ? AND alignment IS NULL AND status = 'indexed' AND prompt IS NOT NULL AND contentHash IS NOT NULL
            """).execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM embedding WHERE imageId = ?").execute(arguments: [id])
        for (kind, v) in f.embeddings {
            try db.cachedStatement(sql: "INSERT INTO embedding (imageId, kind, vector) VALUES (?, ?, ?)").execute(arguments: [id, kind, v.blob])
        }
        try queueAnalysis(of: f, id: id, db)
        return id
    }

    /// A file moved: its record (and, for a folder, every record under it)
    /// takes the new path; nothing is re-encoded.
    @discardableResult
    public func move(from old: String, to new: String) throws -> Int {
        try write { db in
            // Whatever the destination held is replaced: its record and its
            // job go (a worker holding that job drops its result on commit).
            if new != old {
                let target = PathScope.sameOrInside(new)
                try db.execute(sql: "DELETE FROM image WHERE " + target.sql, arguments: target.statementArguments)
                try db.execute(sql: "DELETE FROM job WHERE " + target.sql, arguments: target.statementArguments)
            }
            try db.execute(sql: "UPDATE image SET path = ? WHERE path = ?", arguments: [new, old])
            var n = db.changesCount
            let inside = PathScope.inside(old), relocated = PathScope.relocated(from: old, to: new)
            try db.execute(sql: "UPDATE image SET path = \(relocated.sql) WHERE \(inside.sql)",
                           arguments: StatementArguments(relocated.arguments + inside.arguments))
            n += db.changesCount
            try db.execute(sql: "UPDATE job SET path = ? WHERE path = ?", arguments: [new, old])
            try db.execute(sql: "UPDATE job SET path = \(relocated.sql) WHERE \(inside.sql)",
                           arguments: StatementArguments(relocated.arguments + inside.arguments))
            return n
        }
    }

    /// Files that are gone (exactly these paths, not what is under them),
    /// `batch` to a transaction: a folder reconciled at start may have lost
    /// a million, and one commit each made 10,000 of them take 20 s
    /// (bench/RESULTS.md, start).
    /// Returns how many records went.
    @discardableResult
    public func remove(files paths: [String], batch: Int = 5_000) throws -> Int {
        var n = 0
        for lo in stride(from: 0, to: paths.count, by: max(1, batch)) {
            let chunk = paths[lo..<min(paths.count, lo + max(1, batch))]
            n += try write { db in
                var removed = 0
                let image = try db.makeStatement(sql: "DELETE FROM image WHERE path = ?")
                let job = try db.makeStatement(sql: "DELETE FROM job WHERE path = ?")
                for p in chunk {
                    try image.execute(arguments: [p]); removed += db.changesCount
                    try job.execute(arguments: [p])
                }
                return removed
            }
        }
        return n
    }

    /// A file (or a folder's worth of files) is gone.
    @discardableResult
    public func remove(path: String) throws -> Int {
        try write { db in
            let scope = PathScope.sameOrInside(path)
            try db.execute(sql: "DELETE FROM image WHERE " + scope.sql, arguments: scope.statementArguments)
            let n = db.changesCount
            try db.execute(sql: "DELETE FROM job WHERE " + scope.sql, arguments: scope.statementArguments)
            return n
        }
    }
}

extension IndexStore {
    /// Ids of indexed images matching the search filters (nil filter = any).
    public func filteredIDs(folder: String?, hasPrompt: Bool?, since: Double?, until: Double?,
                            model: String?, text: String?, maxAlignment: Double? = nil, tier: Tier? = nil) throws -> Set<Int64> {
        let filter = ImageFilter(folder: folder, hasPrompt: hasPrompt, model: model, since: since, until: until, tier: tier)
        var (clauses, args) = filter.clauses()
        if let maxAlignment { clauses.append("alignment IS NOT NULL AND alignment <= ?"); args.append(maxAlignment.databaseValue) }
        var ids = try read { db in
            Set(try Int64.fetchAll(db, sql: "SELECT id FROM image WHERE " + clauses.joined(separator: " AND "),
                                   arguments: StatementArguments(args)))
        }
        if let text { ids.formIntersection(try promptMatches(text)) }
        return ids
    }
}

extension IndexStore {
    /// The indexed images holding each of these contents (copies of one
    /// picture): id and path, sorted by path.
    public func copies(contentHashes: [String]) throws -> [String: [(id: Int64, path: String)]] {
        guard !contentHashes.isEmpty else { return [:] }
        return try read { db in
            var out: [String: [(id: Int64, path: String)]] = [:]
            try Self.forEachRow(db, in: contentHashes, {
                "SELECT id, contentHash, path FROM image WHERE status = 'indexed' AND contentHash IN (\($0)) ORDER BY path"
            }) { r in
                out[r["contentHash"], default: []].append((r["id"], r["path"]))
            }
            return out
        }
    }

    /// The indexed images carrying each of these prompts (the same text):
    /// id, path and content, sorted by path.
    public func images(prompts: [String]) throws -> [String: [(id: Int64, path: String, contentHash: String?)]] {
        guard !prompts.isEmpty else { return [:] }
        return try read { db in
            var out: [String: [(id: Int64, path: String, contentHash: String?)]] = [:]
            try Self.forEachRow(db, in: prompts, {
                "SELECT id, prompt, path, contentHash FROM image WHERE status = 'indexed' AND prompt IN (\($0)) ORDER BY path"
            }) { r in
                out[r["prompt"], default: []].append((r["id"], r["path"], r["contentHash"]))
            }
            return out
        }
    }

    /// Drops the records (and queued jobs) of every path outside `roots`:
    /// the index holds what the watched folders hold. Returns how many
    /// records went.
    @discardableResult
    public func removeRecords(outside roots: [String]) throws -> Int {
        let scopes = roots.map { PathScope.sameOrInside($0) }
        let inside = scopes.isEmpty ? "0" : scopes.map(\.sql).joined(separator: " OR ")
        let args = StatementArguments(scopes.flatMap(\.arguments))
        return try write { db in
            try db.execute(sql: "DELETE FROM image WHERE NOT (\(inside))", arguments: args)
            let n = db.changesCount
            try db.execute(sql: "DELETE FROM job WHERE NOT (\(inside))", arguments: args)
            return n
        }
    }

    /// Queues a rebuild in place of every record under `root` (nil: all) and
    /// of `files`, in one transaction: the records stay and answer until
    /// their new results replace them (same id). Jobs already waiting become
    /// reindex jobs. Returns the number of files queued.
    @discardableResult
    public func enqueueReindex(under root: String?, files: [String]) throws -> Int {
        let now = Date().timeIntervalSince1970
        let reason = Job.reindexReason
        return try write { db in
            let scope = root.map { PathScope.sameOrInside($0) }
            // The path index answers the range; one statement for the records.
            try db.execute(sql: """
                INSERT INTO job (path, reason, enqueuedAt) SELECT path, ?, ? FROM image WHERE \(scope?.sql ?? "1")
                ON CONFLICT(path) DO UPDATE SET reason = excluded.reason WHERE startedAt IS NULL
                """, arguments: StatementArguments([reason, now] as [any DatabaseValueConvertible]) + StatementArguments(scope?.arguments ?? []))
            for p in files {
                try db.execute(sql: """
                    INSERT INTO job (path, reason, enqueuedAt) VALUES (?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET reason = excluded.reason WHERE startedAt IS NULL
                    """, arguments: [p, reason, now])
            }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE reason = ? AND \(scope?.sql ?? "1")",
                                    arguments: StatementArguments([reason]) + StatementArguments(scope?.arguments ?? [])) ?? 0
        }
    }
}
