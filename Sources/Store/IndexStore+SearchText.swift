import Foundation
import GRDB
import Metadata

/// The known prompt as search meets it (issue #12): `image.searchText`
/// (`PromptText.searchText`) in the full-text index, and `prompt.search`
/// (`ImageAnalyzer.searchEmbeddings`) as the image's search row.
/// `prompt.known`, the raw prompt's embedding, stays the training target.
extension IndexStore {
    /// A labelled image indexed before schema v6: no `searchText` (the
    /// full-text index holds its raw prompt) and no `prompt.search` (its
    /// `prompt.known` is its search row) until `storeSearchTexts`.
    public struct PendingSearchText: Sendable, Equatable {
        public var id: Int64
        public var prompt: String
        /// The raw prompt's embedding: the search row's too when nothing is stripped.
        public var known: [Float]
    }

    /// At most `limit` labelled images that lack `prompt.search`, in id order.
    public func promptsLackingSearchEmbedding(limit: Int) throws -> [PendingSearchText] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT i.id, i.prompt, k.vector FROM image i JOIN embedding k ON k.imageId = i.id AND k.kind = ?
                WHERE i.status = 'indexed' AND i.prompt IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM embedding s WHERE s.imageId = i.id AND s.kind = ?)
                ORDER BY i.id LIMIT ?
                """, arguments: [EmbeddingKind.knownPrompt, EmbeddingKind.searchPrompt, limit]).map {
                PendingSearchText(id: $0["id"], prompt: $0["prompt"], known: [Float](blob: $0["vector"]))
            }
        }
    }

    /// Stores the search text (`PromptText.searchText`) and the search row
    /// of these images, in one transaction, each only if the image still
    /// has that prompt and no `prompt.search` (a file indexed again
    /// meanwhile brought its own). Returns how many were stored.
    @discardableResult
    public func storeSearchTexts(_ rows: [(id: Int64, prompt: String, vector: [Float])]) throws -> Int {
        try write { db in
            var stored = 0
            for r in rows {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO embedding (imageId, kind, vector)
                    SELECT id, ?, ? FROM image WHERE id = ? AND prompt = ?
                    """, arguments: [EmbeddingKind.searchPrompt, r.vector.blob, r.id, r.prompt])
                guard db.changesCount > 0 else { continue }
                try db.execute(sql: "UPDATE image SET searchText = ? WHERE id = ?", arguments: [PromptText.searchText(r.prompt), r.id])
                stored += 1
            }
            return stored
        }
    }

    /// The search-row vectors of these labelled images (`prompt.search`,
    /// else `prompt.known`): what a query's cosine to their prompt is.
    public func searchPromptVectors(ids: [Int64]) throws -> [Int64: [Float]] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var out: [Int64: [Float]] = [:]
            let clause = Self.searchRowClause(.searchPrompt)
            try Self.forEachRow(db, in: ids, leading: clause.arguments, {
                "SELECT e.imageId, e.vector FROM embedding e WHERE \(clause.sql) AND e.imageId IN (\($0))"
            }) { row in
                out[row["imageId"]] = [Float](blob: row["vector"])
            }
            return out
        }
    }
}
