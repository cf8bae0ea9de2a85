import Foundation
import GRDB
import Learning
import Metadata

/// Images to predict for: ids and features per encoder.
public struct FeatureRows: Sendable {
    public var ids: [Int64] = []
    /// The last image id looked at (with or without features); nil when none was left.
    public var lastScannedID: Int64?
    public var features: [String: [Float]] = [:]
    public var count: Int { ids.count }
    public init() {}
}

extension IndexStore {
    /// Encoders whose features are cached for indexed images (without the
    /// "features." prefix), with how many images have them.
    public func featureEncoders() throws -> [String: Int] {
        try read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n FROM embedding WHERE kind LIKE 'features.%' GROUP BY kind") {
                if case .features(let encoder)? = row["kind"] as EmbeddingKind? { out[encoder] = row["n"] }
            }
            return out
        }
    }

    /// Labelled, analysed images that have features for every encoder in `encoders`,
    /// one per content (the first indexed of identical copies).
    /// `excluding` drops images by content hash (evaluation never trains on
    /// what it evaluates). Each carries its normalised prompt
    /// (`PromptText.groupKey`) and its size, for the trainer's grouping by
    /// prompt and its exclusion of tiny images; `promptKeys: false` leaves
    /// the keys out (the prompt bank needs only prompts and targets: the
    /// key's regular expressions were 86 % of the daemon's start after the
    /// models, 3 s at 20k images, bench/scale.sh). Each distinct prompt is
    /// normalised once (4–8 seed variations share one).
    public func labelledRows(encoders: [String], excluding: Set<String> = [], promptKeys: Bool = true) throws -> TrainingSet {
        try read { db in
            var out = TrainingSet()
            var keys: [String: String] = [:]
            let kinds = [EmbeddingKind.knownPrompt] + encoders.map(EmbeddingKind.features)
            let marks = kinds.map { _ in "?" }.joined(separator: ",")
            // One pass over the embeddings of labelled images, ordered by image.
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT i.id, i.contentHash, i.prompt, i.width, i.height, e.kind, e.vector FROM image i JOIN embedding e ON e.imageId = i.id
                WHERE i.status = 'indexed' AND i.analysed = 1 AND i.prompt IS NOT NULL AND e.kind IN (\(marks))
                ORDER BY i.id
                """, arguments: StatementArguments(kinds))
            var current: (id: Int64, hash: String, prompt: String, width: Int, height: Int)?
            var vectors: [EmbeddingKind: [Float]] = [:]
            // Identical content is one example, however many copies hold it.
            var seen = Set<String>()
            func flush() {
                guard let c = current, vectors.count == kinds.count, !excluding.contains(c.hash), seen.insert(c.hash).inserted else { return }
                out.ids.append(c.id); out.contentHashes.append(c.hash); out.prompts.append(c.prompt)
                if promptKeys {
                    let key = keys[c.prompt] ?? PromptText.groupKey(c.prompt)
                    keys[c.prompt] = key
                    out.promptKeys.append(key)
                }
                out.widths.append(c.width); out.heights.append(c.height)
                out.targets.append(contentsOf: vectors[EmbeddingKind.knownPrompt]!)
                for e in encoders { out.features[e, default: []].append(contentsOf: vectors[EmbeddingKind.features(e)]!) }
            }
            while let row = try cursor.next() {
                let id: Int64 = row["id"]
                if current?.id != id {
                    flush()
                    current = (id, row["contentHash"] ?? "", row["prompt"], row["width"] ?? 0, row["height"] ?? 0)
                    vectors.removeAll(keepingCapacity: true)
                }
                vectors[row["kind"]] = [Float](blob: row["vector"])
            }
            flush()
            return out
        }
    }

    /// The vectors of `kind` of every labelled, analysed image (one per
    /// content, as `labelledRows` counts them), handed to `body` in blocks of
    /// at most `block` rows (content hashes, (rows, d) vectors), so a large
    /// library is never held whole: `eval`'s near-duplicate scan.
    public func forEachLabelledVectorBlock(_ kind: EmbeddingKind, block: Int = 2048,
                                           _ body: (_ contentHashes: [String], _ vectors: [Float]) throws -> Void) throws {
        try read { db in
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT i.contentHash, e.vector FROM image i JOIN embedding e ON e.imageId = i.id
                WHERE i.status = 'indexed' AND i.analysed = 1 AND i.prompt IS NOT NULL AND e.kind = ?
                ORDER BY i.id
                """, arguments: [kind])
            var seen = Set<String>(), hashes: [String] = [], features: [Float] = []
            while let row = try cursor.next() {
                let hash: String = row["contentHash"] ?? ""
                guard seen.insert(hash).inserted else { continue }
                hashes.append(hash)
                features.append(contentsOf: [Float](blob: row["vector"]))
                if hashes.count == block {
                    try body(hashes, features)
                    hashes.removeAll(keepingCapacity: true); features.removeAll(keepingCapacity: true)
                }
            }
            if !hashes.isEmpty { try body(hashes, features) }
        }
    }

    /// Ids of unlabelled images (no prompt in their metadata), indexed and
    /// analysed, with features for every encoder in `encoders`, not under
    /// `TrainingSet.minimumSide` pixels on a side, in id order: DAKL's target
    /// domain. `excluding` drops images by content hash (as `labelledRows`).
    public func unlabelledIDs(encoders: [String], excluding: Set<String> = []) throws -> [Int64] {
        try read { db in
            let kinds = encoders.map(EmbeddingKind.features)
            let marks = kinds.map { _ in "?" }.joined(separator: ",")
            let side = TrainingSet.minimumSide
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT i.id, i.contentHash FROM image i
                WHERE i.status = 'indexed' AND i.analysed = 1 AND i.prompt IS NULL
                    AND NOT (coalesce(i.width, 0) > 0 AND i.width < \(side)) AND NOT (coalesce(i.height, 0) > 0 AND i.height < \(side))
                    AND (SELECT count(*) FROM embedding e WHERE e.imageId = i.id AND e.kind IN (\(marks))) = \(kinds.count)
                ORDER BY i.id
                """, arguments: StatementArguments(kinds))
            var ids: [Int64] = []
            while let row = try cursor.next() {
                if !excluding.isEmpty, let hash: String = row["contentHash"], excluding.contains(hash) { continue }
                ids.append(row["id"])
            }
            return ids
        }
    }

    /// The features of the images `ids` (those still there with every
    /// encoder's features), in the order of `ids`.
    public func featureRows(encoders: [String], ids: [Int64]) throws -> FeatureRows {
        try read { db in
            var out = FeatureRows()
            let kinds = encoders.map(EmbeddingKind.features)
            let kindMarks = kinds.map { _ in "?" }.joined(separator: ",")
            var byImage: [Int64: [EmbeddingKind: [Float]]] = [:]
            try Self.forEachRow(db, in: ids, leading: kinds, {
                "SELECT e.imageId, e.kind, e.vector FROM embedding e JOIN image i ON i.id = e.imageId "
                    + "WHERE i.status = 'indexed' AND e.kind IN (\(kindMarks)) AND e.imageId IN (\($0))"
            }) { row in byImage[row["imageId"], default: [:]][row["kind"]] = [Float](blob: row["vector"]) }
            for id in ids {
                guard let v = byImage[id], v.count == kinds.count else { continue }
                out.ids.append(id)
                for e in encoders { out.features[e, default: []].append(contentsOf: v[EmbeddingKind.features(e)]!) }
            }
            out.lastScannedID = ids.last
            return out
        }
    }

    /// Indexed, analysed images with features for every encoder, in id order from
    /// `afterID`, at most `limit` of them.
    public func featureRows(encoders: [String], afterID: Int64, limit: Int) throws -> FeatureRows {
        try read { db in
            var out = FeatureRows()
            let kinds = encoders.map(EmbeddingKind.features)
            let marks = kinds.map { _ in "?" }.joined(separator: ",")
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM image WHERE status = 'indexed' AND analysed = 1 AND id > ? ORDER BY id LIMIT ?",
                                         arguments: [afterID, limit])
            guard let first = ids.first, let last = ids.last else { return out }
            out.lastScannedID = last
            var byImage: [Int64: [EmbeddingKind: [Float]]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT imageId, kind, vector FROM embedding WHERE imageId BETWEEN ? AND ? AND kind IN (\(marks))",
                                        arguments: StatementArguments([first, last] as [Int64]) + StatementArguments(kinds)) {
                byImage[row["imageId"], default: [:]][row["kind"]] = [Float](blob: row["vector"])
            }
            for id in ids {
                guard let v = byImage[id], v.count == kinds.count else { continue }
                out.ids.append(id)
                for e in encoders { out.features[e, default: []].append(contentsOf: v[EmbeddingKind.features(e)]!) }
            }
            return out
        }
    }

    /// The largest image id (0 when empty).
    public func lastImageID() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM image") ?? 0 }
    }

    /// A prediction replacing an image's zero-shot one.
    public struct Prediction: Sendable {
        public var id: Int64
        public var embedding: [Float]
        public var caption: String?
        public var keywords: [String]
        public var origin: PredictionOrigin
        public init(id: Int64, embedding: [Float], caption: String?, keywords: [String], origin: PredictionOrigin) {
            self.id = id; self.embedding = embedding; self.caption = caption; self.keywords = keywords; self.origin = origin
        }
    }

    /// Writes predictions in one transaction, skipping images gone meanwhile;
    /// returns the ids it updated.
    @discardableResult
    public func updatePredictions(_ predictions: [Prediction]) throws -> Set<Int64> {
        try write { db in
            var updated = Set<Int64>()
            for p in predictions {
                let keywords = String(decoding: try JSONEncoder().encode(p.keywords), as: UTF8.self)
                try db.execute(sql: "UPDATE image SET caption = ?, keywordsJSON = ?, predictionOrigin = ? WHERE id = ?",
                               arguments: [p.caption, keywords, p.origin.rawValue, p.id])
                guard db.changesCount > 0 else { continue }
                try db.execute(sql: "INSERT OR REPLACE INTO embedding (imageId, kind, vector) VALUES (?, ?, ?)",
                               arguments: [p.id, EmbeddingKind.predicted, p.embedding.blob])
                updated.insert(p.id)
            }
            return updated
        }
    }

    /// Replaces every alignment score and tier (one transaction); identical
    /// copies of a scored image (same content and prompt) get its score.
    public func replaceAlignments(_ rows: [(id: Int64, alignment: Float, tier: Tier)]) throws {
        try write { db in
            try db.execute(sql: "UPDATE image SET alignment = NULL, tier = NULL WHERE alignment IS NOT NULL OR tier IS NOT NULL")
            for r in rows {
                try db.execute(sql: """
                    UPDATE image SET alignment = ?, tier = ? WHERE contentHash = (SELECT contentHash FROM image WHERE id = ?)
                        AND prompt IS (SELECT prompt FROM image WHERE id = ?) AND status = 'indexed'
                    """, arguments: [Double(r.alignment), r.tier, r.id, r.id])
            }
        }
    }

    /// Adds prompts to the imported bank; returns how many were new.
    @discardableResult
    public func addBankPrompts(_ prompts: [String], vectors: [[Float]], source: String) throws -> Int {
        precondition(prompts.count == vectors.count, "one vector per prompt")
        return try write { db in
            var added = 0
            let now = Date().timeIntervalSince1970
            for (p, v) in zip(prompts, vectors) {
                try db.execute(sql: "INSERT OR IGNORE INTO prompt_bank (prompt, source, embedding, addedAt) VALUES (?, ?, ?, ?)",
                               arguments: [p, source, v.blob, now])
                added += db.changesCount
            }
            return added
        }
    }

    /// Which of `prompts` the imported bank already holds.
    public func bankContains(_ prompts: [String]) throws -> Set<String> {
        try read { db in
            var out = Set<String>()
            try Self.forEachRow(db, in: prompts, { "SELECT prompt FROM prompt_bank WHERE prompt IN (\($0))" }) { out.insert($0["prompt"]) }
            return out
        }
    }

    /// Every imported prompt with its embedding, in insertion order.
    public func bankPrompts() throws -> (prompts: [String], vectors: [Float]) {
        try read { db in
            var prompts: [String] = [], vectors: [Float] = []
            let cursor = try Row.fetchCursor(db, sql: "SELECT prompt, embedding FROM prompt_bank ORDER BY id")
            while let row = try cursor.next() {
                prompts.append(row["prompt"])
                vectors.append(contentsOf: [Float](blob: row["embedding"]))
            }
            return (prompts, vectors)
        }
    }

    public func bankCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM prompt_bank") ?? 0 }
    }

    public func trainingState(_ key: TrainingStateKey) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM training_state WHERE key = ?", arguments: [key.rawValue]) }
    }

    public func setTrainingState(_ key: TrainingStateKey, _ value: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO training_state (key, value) VALUES (?, ?)", arguments: [key.rawValue, value])
        }
    }

    /// Ids of labelled images with an alignment score, lowest first.
    public func leastAligned(maxAlignment: Double?, tier: Tier?, folder: String?, limit: Int) throws -> [Int64] {
        var clauses = ["status = 'indexed'", "alignment IS NOT NULL"]
        var args: [(any DatabaseValueConvertible)?] = []
        if let maxAlignment { clauses.append("alignment <= ?"); args.append(maxAlignment) }
        if let tier { clauses.append("tier = ?"); args.append(tier.rawValue) }
        if let folder { let scope = PathScope.sameOrInside(folder); clauses.append(scope.sql); args += scope.arguments as [(any DatabaseValueConvertible)?] }
        args.append(limit)
        return try read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM image WHERE " + clauses.joined(separator: " AND ") + " ORDER BY alignment ASC, id LIMIT ?",
                               arguments: StatementArguments(args.map { $0?.databaseValue ?? .null }))
        }
    }
}
