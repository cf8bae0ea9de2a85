import Foundation
import GRDB

/// The search rows of some images after a committed transaction: for each
/// id in `ids`, the matrix must hold exactly the rows listed for it in
/// `rows` (none: the image is gone, failed, or has no search vectors).
public struct SearchRowsChange: Sendable {
    public var ids: [Int64]
    public var rows: [SearchRow]
}

/// One row of the search matrix as the database holds it: the predicted or
/// known-prompt embedding of an indexed image (`kind` is the stored kind:
/// `prompt.search`, or `prompt.known` where that is not yet embedded).
public struct SearchRow: Sendable, Equatable {
    public var id: Int64
    public var kind: EmbeddingKind
    public var vector: [Float]
    /// For a prediction: whether it is zero-shot (`PredictionOrigin`).
    public var zeroShot = false
}

/// The status counts and the distinct labelled contents, as `index_counts` holds them.
struct StoredCounts: Sendable, Equatable {
    var counts = IndexCounts(indexed: 0, failed: 0, queued: 0, withPrompt: 0)
    var labelledContents = 0
    var phases = PhaseCounts()
}

extension IndexStore {
    /// The kinds of row the search matrix holds: the prediction, and the
    /// known prompt as search meets it (`searchRowClause`).
    public static let searchKinds: [EmbeddingKind] = [.predicted, .searchPrompt]

    static let zeroShotOrigin = "i.predictionOrigin = '\(PredictionOrigin.zeroShot.rawValue)'"

    /// The stored embeddings (`e`) a kind of search row is read from. A
    /// labelled image's row is its `prompt.search`; an image indexed before
    /// that kind existed (schema v5) has only `prompt.known` until the
    /// workers embed its search text (`promptsLackingSearchEmbedding`), and
    /// that stands in meanwhile.
    static func searchRowClause(_ kind: EmbeddingKind) -> (sql: String, arguments: [DatabaseValue]) {
        guard kind == .searchPrompt else { return ("e.kind = ?", [kind.databaseValue]) }
        return ("""
            (e.kind = ? OR (e.kind = ? AND NOT EXISTS (SELECT 1 FROM embedding s WHERE s.imageId = e.imageId AND s.kind = ?)))
            """, [EmbeddingKind.searchPrompt, EmbeddingKind.knownPrompt, EmbeddingKind.searchPrompt].map(\.databaseValue))
    }

    /// Sends every committed change of search rows to `sink`, in commit
    /// order (one sink: the search matrix). Install it before loading the
    /// matrix with `withSearchRows`.
    public func observeSearchRows(_ sink: @escaping @Sendable (SearchRowsChange) -> Void) {
        searchSink.withLock { $0 = sink }
    }

    /// Runs `body` with every search row of the index while no write can
    /// commit (the writer is held), so a matrix loaded from them misses no
    /// change published after.
    public func withSearchRows(_ body: ([SearchRow]) -> Void) throws {
        try write { db in body(try Self.searchRows(db, onlyDirty: false)) }
    }

    /// The counts of `status`, from memory: as this store's writes (and the
    /// database when it was opened) left them. Another process writing the
    /// same file is not seen; read `queuedCount()` for that.
    public func counts() -> IndexCounts { cachedCounts.withLock { $0.counts } }

    /// Distinct contents among the indexed images that carry their prompt:
    /// what training learns from and what the retrain counter counts
    /// (identical copies are one example).
    public func labelledContents() -> Int { cachedCounts.withLock { $0.labelledContents } }

    /// The two phases' counts (searchable, analysed, queued for analysis), from memory as `counts()`.
    public func phaseCounts() -> PhaseCounts { cachedCounts.withLock { $0.phases } }

    static func storedCounts(_ db: Database) throws -> StoredCounts {
        guard let r = try Row.fetchOne(db, sql: "SELECT * FROM index_counts WHERE one = 1") else { return StoredCounts() }
        return StoredCounts(counts: IndexCounts(indexed: r["indexed"], failed: r["failed"], queued: r["queued"], withPrompt: r["withPrompt"]),
                            labelledContents: r["labelledContents"],
                            phases: PhaseCounts(searchable: r["searchable"], analysed: r["analysed"], analysisQueued: r["analysisQueued"]))
    }

    /// The search rows of the whole index, or of the images in `search_dirty`.
    static func searchRows(_ db: Database, onlyDirty: Bool) throws -> [SearchRow] {
        let clauses = searchKinds.map(searchRowClause)
        let sql = """
            SELECT e.imageId, e.kind, e.vector, \(zeroShotOrigin) AS zeroShot FROM embedding e JOIN image i ON i.id = e.imageId
            WHERE i.status = 'indexed' AND (\(clauses.map(\.sql).joined(separator: " OR ")))
            """ + (onlyDirty ? " AND e.imageId IN (SELECT imageId FROM search_dirty)" : "")
        return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(clauses.flatMap(\.arguments))).compactMap { r in
            guard let kind: EmbeddingKind = r["kind"] else { return nil }
            return SearchRow(id: r["imageId"], kind: kind, vector: [Float](blob: r["vector"]), zeroShot: kind == .predicted && (r["zeroShot"] as Bool?) == true)
        }
    }

    /// Drains `search_dirty` and re-reads the counts, inside the write
    /// transaction; publishes both when it commits.
    func publishAfterCommit(_ db: Database) throws {
        let counts = try Self.storedCounts(db)
        let dirty = try Int64.fetchAll(db, sql: "SELECT imageId FROM search_dirty ORDER BY imageId")
        let change = dirty.isEmpty ? nil : SearchRowsChange(ids: dirty, rows: try Self.searchRows(db, onlyDirty: true))
        if change != nil { try db.execute(sql: "DELETE FROM search_dirty") }
        let sink = change == nil ? nil : searchSink.withLock { $0 }
        db.afterNextTransaction { [self] _ in
            cachedCounts.withLock { $0 = counts }
            if let change, let sink { sink(change) }
        }
    }
}
