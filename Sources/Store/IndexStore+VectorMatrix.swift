import Foundation
import GRDB

extension IndexStore {
    /// The search rows of one kind as one matrix (the rows `searchRows`
    /// reads: embeddings of indexed images, `searchRowClause`): image ids and their vectors
    /// (ids.count, dimension), read through a cursor straight into one
    /// buffer (`vectors(kind:)` and `withSearchRows` make a Row and an array
    /// per vector: 1.33M of each at a million images). Vectors of another
    /// length are skipped.
    public func vectorMatrix(kind: EmbeddingKind, dimension: Int) throws -> (ids: [Int64], vectors: [Float]) {
        try read { db in try Self.searchMatrix(db, kind: kind, dimension: dimension) }
    }

    /// Runs `body` while no write can commit (the writer is held), with a
    /// function that reads the search rows of one kind as `vectorMatrix`
    /// does: the search matrix's bulk load, which misses no change
    /// published after (as `withSearchRows`). Take the search index's lock
    /// inside `body`, never around this call: a commit publishes its
    /// change to the index while holding the writer.
    public func withSearchMatrices(dimension: Int,
                                   _ body: (_ read: (EmbeddingKind, _ zeroShot: Bool) throws -> (ids: [Int64], vectors: [Float])) throws -> Void) throws {
        try write { db in try body { kind, zeroShot in try Self.searchMatrix(db, kind: kind, zeroShot: zeroShot, dimension: dimension) } }
    }

    /// `zeroShot`, for predictions: the zero-shot ones, or the others.
    static func searchMatrix(_ db: Database, kind: EmbeddingKind, zeroShot: Bool? = nil, dimension: Int) throws -> (ids: [Int64], vectors: [Float]) {
        let clause = searchRowClause(kind)
        var from = "FROM embedding e JOIN image i ON i.id = e.imageId WHERE i.status = 'indexed' AND " + clause.sql
        if kind == .predicted, let zeroShot { from += " AND (\(zeroShotOrigin)) IS \(zeroShot ? "TRUE" : "NOT TRUE")" }
        let count = try Int.fetchOne(db, sql: "SELECT count(*) " + from, arguments: StatementArguments(clause.arguments)) ?? 0
        var ids: [Int64] = [], vectors: [Float] = []
        ids.reserveCapacity(count); vectors.reserveCapacity(count * dimension)
        let rows = try Row.fetchCursor(db, sql: "SELECT e.imageId, e.vector " + from, arguments: StatementArguments(clause.arguments))
        while let row = try rows.next() {
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data, data.count == dimension * MemoryLayout<Float>.size else { return }
                ids.append(row[0])
                let start = vectors.count
                vectors.append(contentsOf: repeatElement(0, count: dimension))
                vectors.withUnsafeMutableBytes { out in
                    data.withUnsafeBytes { out.baseAddress!.advanced(by: start * 4).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                }
            }
        }
        return (ids, vectors)
    }
}
