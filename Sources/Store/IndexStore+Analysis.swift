import Foundation
import GRDB
import RevsdSystem

/// Phase 2. Phase 1 (the path's job, IndexStore+Commit) stores an image
/// with its metadata and known prompt's embeddings and `analysed = 0`; that
/// store queues an `analysis_queue` item for the image's id, naming the
/// content it read (migration v8). Phase 2 claims items, reads the file
/// again, and commits its pixels' analysis against the item as it is *now*:
/// the item goes with its image (a delete cascades), follows it (a move
/// keeps the id, so the item reads the new path), and is replaced when phase
/// 1 stores new content at that path (same id, new hash, fresh item). A
/// result for content the row no longer holds is dropped. Like jobs, an item
/// is marked started before its work, so one that stops the daemon
/// `maxAttempts` times is given up on.
extension IndexStore {
    /// A queued analysis: the image, where its file is now, the content phase 1 read.
    public struct AnalysisItem: Sendable, Equatable {
        public var imageID: Int64
        public var path: String
        public var contentHash: String
        public var attempts: Int
        /// The known prompt phase 1 stored (nil: none).
        public var prompt: String?
    }

    /// How long an item whose file was missing waits before it is looked at again.
    public static let missingFileRetry: Double = 5

    /// Keeps the queue in step with a stored row (called by `upsert`): an
    /// indexed, not yet analysed image has an item for its content (a fresh
    /// one: the content may be new); any other has none.
    static func queueAnalysis(of f: IndexedFile, id: Int64, _ db: Database) throws {
        if f.error == nil, !f.analysed, let hash = f.contentHash {
            try db.cachedStatement(sql: """
                INSERT INTO analysis_queue (imageId, contentHash, enqueuedAt) VALUES (?, ?, ?)
                ON CONFLICT(imageId) DO UPDATE SET contentHash = excluded.contentHash, enqueuedAt = excluded.enqueuedAt,
                    attempts = 0, startedAt = NULL, notBefore = NULL
                """).execute(arguments: [id, hash, Date().timeIntervalSince1970])
        } else {
            try db.cachedStatement(sql: "DELETE FROM analysis_queue WHERE imageId = ?").execute(arguments: [id])
        }
    }

    /// Takes up to `limit` items in queue order, marking them started, but
    /// none while a phase-1 job waits (phase 1 first). An item interrupted
    /// before (attempts > 0) is taken alone, as `claimJobs` does.
    public func claimAnalyses(limit: Int) throws -> [AnalysisItem] {
        let now = Date().timeIntervalSince1970
        return try write { db in
            guard try Int64.fetchOne(db, sql: "SELECT id FROM job WHERE startedAt IS NULL LIMIT 1") == nil else { return [] }
            let ready = "q.startedAt IS NULL AND (q.notBefore IS NULL OR q.notBefore <= ?)"
            let select = "SELECT q.imageId, q.contentHash, q.attempts, i.path, i.prompt FROM analysis_queue q JOIN image i ON i.id = q.imageId WHERE "
            guard let head = try Row.fetchOne(db, sql: select + ready + " ORDER BY q.enqueuedAt, q.imageId LIMIT 1", arguments: [now]) else {
                return []
            }
            let rows = (head["attempts"] as Int) > 0 ? [head]
                : try Row.fetchAll(db, sql: select + ready + " AND q.attempts = 0 ORDER BY q.enqueuedAt, q.imageId LIMIT ?",
                                   arguments: [now, max(1, limit)])
            return try rows.map { r in
                let item = AnalysisItem(imageID: r["imageId"], path: r["path"], contentHash: r["contentHash"], attempts: (r["attempts"] as Int) + 1,
                                        prompt: r["prompt"])
                try db.execute(sql: "UPDATE analysis_queue SET startedAt = ?, attempts = ? WHERE imageId = ?",
                               arguments: [now, item.attempts, item.imageID])
                return item
            }
        }
    }

    /// Puts claimed items back (shutdown before they ran), or, with `after`,
    /// back to wait that many seconds (the file was missing: its move or
    /// delete event is on its way).
    public func release(_ items: [AnalysisItem], after delay: Double? = nil) throws {
        let notBefore = delay.map { Date().timeIntervalSince1970 + $0 }
        try write { db in
            for i in items {
                try db.execute(sql: """
                    UPDATE analysis_queue SET startedAt = NULL, attempts = max(attempts - 1, 0), notBefore = ?
                    WHERE imageId = ? AND contentHash = ? AND startedAt IS NOT NULL
                    """, arguments: [notBefore, i.imageID, i.contentHash])
            }
        }
    }

    /// Stores phase 2's result for `item` (the full record: metadata,
    /// caption, every embedding), if its image still holds the content the
    /// item named and the item is still that one: at the image's path now,
    /// with the size and mtime phase 1 recorded; `analysed = 1`, the item
    /// deleted, in one transaction. A failed analysis (`error`: the pixels
    /// cannot be decoded) records the image failed, as one pass did.
    public func store(analysis f: IndexedFile, for item: AnalysisItem) throws -> Commit {
        try write { db in try Self.commit(analysis: f, for: item, db) }
    }

    /// Stores a batch of phase 2's results, each as `store(analysis:for:)`, in one transaction.
    public func store(analyses: [(file: IndexedFile, item: AnalysisItem)]) throws -> [Commit] {
        guard !analyses.isEmpty else { return [] }
        return try write { db in try analyses.map { try Self.commit(analysis: $0.file, for: $0.item, db) } }
    }

    static func commit(analysis f: IndexedFile, for item: AnalysisItem, _ db: Database) throws -> Commit {
            guard let row = try Row.fetchOne(db, sql: """
                SELECT i.path, i.size, i.mtimeNs, i.prompt FROM image i JOIN analysis_queue q ON q.imageId = i.id
                WHERE i.id = ? AND i.contentHash = ? AND q.contentHash = ? AND i.status = 'indexed' AND i.analysed = 0
                """, arguments: [item.imageID, item.contentHash, item.contentHash]) else { return .dropped }
            var f = f
            f.path = row["path"]; f.size = row["size"]; f.mtimeNs = row["mtimeNs"]
            f.contentHash = item.contentHash; f.analysed = true
            // Phase 1's embeddings of the same prompt stay (the analysis
            // brings them only when the pixels told a prompt of their own).
            let prompt = f.metadata?.hasRealPrompt == true ? f.metadata?.prompt : nil
            if f.error == nil, prompt != nil, prompt == row["prompt"] as String?, f.embeddings[.knownPrompt] == nil {
                for r in try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, vector FROM embedding WHERE imageId = ? AND kind IN (?, ?)"),
                                          arguments: [item.imageID, EmbeddingKind.knownPrompt, EmbeddingKind.searchPrompt]) {
                    if let kind: EmbeddingKind = r["kind"] { f.embeddings[kind] = [Float](blob: r["vector"]) }
                }
            }
            let id = try upsert(f, db)
            return .stored(id: id, path: f.path)
    }

    /// The file at the item's path is no longer the content it names (it
    /// changed, and its own event may still be on its way): the item goes
    /// and the path is queued for phase 1 again, as a reindex (read whatever
    /// its size and mtime say), which queues a fresh item for what it finds.
    public func analysisIsStale(_ item: AnalysisItem) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM analysis_queue WHERE imageId = ? AND contentHash = ?", arguments: [item.imageID, item.contentHash])
            guard db.changesCount > 0, let path = try String.fetchOne(db, sql: "SELECT path FROM image WHERE id = ?", arguments: [item.imageID]) else {
                return
            }
            try db.execute(sql: """
                INSERT INTO job (path, reason, enqueuedAt) VALUES (?, ?, ?)
                ON CONFLICT(path) DO UPDATE SET reason = CASE WHEN startedAt IS NULL THEN excluded.reason ELSE reason END,
                    requeued = CASE WHEN startedAt IS NULL THEN requeued ELSE 1 END
                """, arguments: [path, Job.reindexReason, Date().timeIntervalSince1970])
        }
    }

    /// After a crash: items found started are retried, unless they were
    /// started `maxAttempts` times: then the image is recorded failed (its
    /// file stopped the daemon's analysis) until the file changes. Returns
    /// the paths given up on.
    @discardableResult
    public func recoverInterruptedAnalyses() throws -> [String] {
        try write { db in
            var givenUp: [String] = []
            for r in try Row.fetchAll(db, sql: """
                SELECT q.imageId, q.attempts, i.path, i.size, i.mtimeNs, i.contentHash FROM analysis_queue q JOIN image i ON i.id = q.imageId
                WHERE q.startedAt IS NOT NULL
                """) {
                let (id, path, attempts): (Int64, String, Int) = (r["imageId"], r["path"], r["attempts"])
                if attempts >= Self.maxAttempts {
                    try Self.upsert(IndexedFile(path: path, contentHash: r["contentHash"], size: r["size"], mtimeNs: r["mtimeNs"],
                                                error: "\(path): analysing it stopped the daemon \(attempts) times; skipped until the file changes"), db)
                    givenUp.append(path)
                } else {
                    try db.execute(sql: "UPDATE analysis_queue SET startedAt = NULL WHERE imageId = ?", arguments: [id])
                }
            }
            return givenUp
        }
    }

    /// The known-prompt and search embeddings already stored for each of
    /// these prompts (the same text: a batch of seeds shares one), so phase
    /// 1 embeds each text once across the library.
    public func promptEmbeddings(for prompts: [String]) throws -> [String: (known: [Float], search: [Float])] {
        guard !prompts.isEmpty else { return [:] }
        return try read { db in
            var known: [String: [Float]] = [:], search: [String: [Float]] = [:]
            for p in Set(prompts) {
                guard let id = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT i.id FROM image i WHERE i.prompt = ? AND i.status = 'indexed'
                        AND EXISTS (SELECT 1 FROM embedding s WHERE s.imageId = i.id AND s.kind = ?) LIMIT 1
                    """), arguments: [p, EmbeddingKind.searchPrompt]) else { continue }
                for r in try Row.fetchAll(db.cachedStatement(sql: "SELECT kind, vector FROM embedding WHERE imageId = ? AND kind IN (?, ?)"),
                                          arguments: [id, EmbeddingKind.knownPrompt, EmbeddingKind.searchPrompt]) {
                    let kind: EmbeddingKind? = r["kind"]
                    if kind == .knownPrompt { known[p] = [Float](blob: r["vector"]) } else { search[p] = [Float](blob: r["vector"]) }
                }
            }
            var out: [String: (known: [Float], search: [Float])] = [:]
            for (p, k) in known { if let s = search[p] { out[p] = (k, s) } }
            return out
        }
    }

    public func analysisQueuedCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM analysis_queue") ?? 0 }
    }
}
