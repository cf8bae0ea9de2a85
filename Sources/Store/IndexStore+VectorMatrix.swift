import Foundation
import GRDB

extension IndexStore {
    /// Every vector of one kind as one matrix, for the search index's bulk
    /// load: image ids and their vectors (ids.count, dimension), read through
    /// a cursor straight into one buffer (`vectors(kind:)` makes a Row and an
    /// array per vector: 1.33M of each at a million images). Vectors of
    /// another length are skipped.
    public func vectorMatrix(kind: EmbeddingKind, dimension: Int) throws -> (ids: [Int64], vectors: [Float]) {
        try read { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM embedding WHERE kind = ?", arguments: [kind]) ?? 0
            var ids: [Int64] = [], vectors: [Float] = []
            ids.reserveCapacity(count); vectors.reserveCapacity(count * dimension)
            let rows = try Row.fetchCursor(db, sql: "SELECT imageId, vector FROM embedding WHERE kind = ?", arguments: [kind])
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
}
