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
        try read { db in
            let m = try Self.searchMatrices(db, kind: kind, byOrigin: false, dimension: dimension)[0]
            return (m.ids, m.vectors)
        }
    }

    /// One part of the search matrix: the rows of one kind, and for
    /// predictions of one origin (`zeroShot`).
    public typealias SearchMatrix = (zeroShot: Bool, ids: [Int64], vectors: [Float])

    /// Runs `body` while no write can commit (the writer is held), with a
    /// function that reads the search rows of one kind as `vectorMatrix`
    /// does, predictions as two matrices (learned or of unknown origin, then
    /// zero-shot; `PredictionOrigin`), in one pass: the search matrix's bulk
    /// load, which misses no change published after (as `withSearchRows`).
    /// Take the search index's lock inside `body`, never around this call: a
    /// commit publishes its change to the index while holding the writer.
    public func withSearchMatrices(dimension: Int, _ body: (_ read: (EmbeddingKind) throws -> [SearchMatrix]) throws -> Void) throws {
        try write { db in try body { kind in try Self.searchMatrices(db, kind: kind, byOrigin: kind == .predicted, dimension: dimension) } }
    }

    /// The rows of `kind`, split by origin when `byOrigin` (two matrices,
    /// learned first), else one; sized by a count first, filled through one cursor.
    static func searchMatrices(_ db: Database, kind: EmbeddingKind, byOrigin: Bool, dimension: Int) throws -> [SearchMatrix] {
        let clause = searchRowClause(kind), arguments = StatementArguments(clause.arguments)
        let from = "FROM embedding e JOIN image i ON i.id = e.imageId WHERE i.status = 'indexed' AND " + clause.sql
        let origin = byOrigin ? "(\(zeroShotOrigin)) IS TRUE" : "0"
        let counts = try Row.fetchOne(db, sql: "SELECT count(*), total(\(origin)) " + from, arguments: arguments)
        let all: Int = counts?[0] ?? 0, zeroShot = Int(counts?[1] as Double? ?? 0)
        var parts: [SearchMatrix] = byOrigin ? [(false, [], []), (true, [], [])] : [(false, [], [])]
        for (p, n) in zip(parts.indices, byOrigin ? [all - zeroShot, zeroShot] : [all]) {
            parts[p].ids.reserveCapacity(n); parts[p].vectors.reserveCapacity(n * dimension)
        }
        let rows = try Row.fetchCursor(db, sql: "SELECT e.imageId, e.vector, \(origin) " + from, arguments: arguments)
        while let row = try rows.next() {
            let p = byOrigin && (row[2] as Bool) ? 1 : 0
            try row.withUnsafeData(atIndex: 1) { data in
                guard let data, data.count == dimension * MemoryLayout<Float>.size else { return }
                parts[p].ids.append(row[0])
                let start = parts[p].vectors.count
                parts[p].vectors.append(contentsOf: repeatElement(0, count: dimension))
                parts[p].vectors.withUnsafeMutableBytes { out in
                    data.withUnsafeBytes { out.baseAddress!.advanced(by: start * 4).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                }
            }
        }
        return parts
    }
}
