import Foundation

/// How the matrix follows the database: whole images at a time, under the
/// lock, so a query sees an image either before or after a change.
extension SearchIndex {
    public typealias Row = (id: Int64, kind: RowKind, vector: [Float])

    /// Replaces every row of the images `ids` with `rows` (rows of other
    /// ids are ignored; vectors of another dimension are skipped): an id
    /// given without rows is dropped.
    public func replace(ids: [Int64], with rows: [Row]) {
        let wanted = Set(ids)
        self.rows.withLock { r in
            for id in ids { r.remove(id) }
            for row in rows where wanted.contains(row.id) && row.vector.count == dimension {
                r.set(row.id, kind: row.kind, vector: row.vector)
            }
        }
    }

    /// Replaces the whole matrix with `rows`.
    public func replaceAll(with rows: [Row]) {
        self.rows.withLock { r in
            r.rowCount = 0; r.rowOwner = []; r.rowKind = []; r.slotIDs = []; r.slotOf = [:]; r.rowsOfSlot = []
            for row in rows where row.vector.count == dimension { r.set(row.id, kind: row.kind, vector: row.vector) }
        }
    }

    /// Every row, by image and kind (for checks: tests and debug builds).
    public func snapshot() -> [Int64: [RowKind: [Float]]] {
        rows.withLock { r in
            var out: [Int64: [RowKind: [Float]]] = [:]
            for (slot, id) in r.slotIDs.enumerated() {
                var kinds: [RowKind: [Float]] = [:]
                for row in r.rowsOfSlot[slot] {
                    kinds[r.rowKind[row]] = Array(UnsafeBufferPointer(start: r.storage + row * r.dimension, count: r.dimension))
                }
                out[id] = kinds
            }
            return out
        }
    }
}
