import Foundation

/// How the matrix follows the database: whole images at a time, under the
/// lock, so a query sees an image either before or after a change. The rows
/// given are loaded in bulk, a kind at a time (`Rows.load`): in a large index
/// their codes are computed together, and the axes retrained when the rows
/// have grown fourfold, as for any other append.
extension SearchIndex {
    public typealias Row = (id: Int64, kind: RowKind, vector: [Float])

    /// Replaces every row of the images `ids` with `rows` (rows of other
    /// ids are ignored; vectors of another dimension are skipped): an id
    /// given without rows is dropped.
    public func replace(ids: [Int64], with rows: [Row]) {
        let wanted = Set(ids)
        let batches = Self.batches(rows.filter { wanted.contains($0.id) }, dimension: dimension)
        self.rows.withLock { r in
            for id in ids { r.remove(id) }
            for b in batches { r.load(ids: b.ids, vectors: b.vectors, kind: b.kind) }
        }
    }

    /// Replaces the whole matrix with `rows`: codes and axes computed afresh.
    public func replaceAll(with rows: [Row]) {
        let batches = Self.batches(rows, dimension: dimension)
        self.rows.withLock { r in
            r.removeAll()
            for b in batches { r.load(ids: b.ids, vectors: b.vectors, kind: b.kind) }
        }
    }

    /// Replaces the whole matrix with the rows `source` hands to its
    /// argument, a matrix of one kind at a time (ids.count, dimension): the
    /// bulk load at start, without an array per vector. The lock is held
    /// throughout, so no query sees a partial matrix; codes and axes are
    /// computed afresh.
    public func replaceAll(loading source: (_ add: (_ kind: RowKind, _ ids: [Int64], _ vectors: [Float]) -> Void) throws -> Void) throws {
        let d = dimension
        try self.rows.withLock { r in
            r.removeAll()
            try source { kind, ids, vectors in
                precondition(vectors.count == ids.count * d, "replaceAll: \(vectors.count) values for \(ids.count) rows of \(d)")
                if !ids.isEmpty { r.load(ids: ids, vectors: vectors, kind: kind) }
            }
        }
    }

    /// `rows` of the right dimension as one matrix per kind, in order.
    private static func batches(_ rows: [Row], dimension: Int) -> [(kind: RowKind, ids: [Int64], vectors: [Float])] {
        var out: [(kind: RowKind, ids: [Int64], vectors: [Float])] = []
        for kind in RowKind.allCases {
            var ids: [Int64] = [], vectors: [Float] = []
            for row in rows where row.kind == kind && row.vector.count == dimension {
                ids.append(row.id)
                vectors.append(contentsOf: row.vector)
            }
            if !ids.isEmpty { out.append((kind, ids, vectors)) }
        }
        return out
    }

    /// Every row, by image and kind, as the index holds it: float32, or in a
    /// large index decoded from its precise codes (for checks: tests and
    /// debug builds; compare with `held(_:)` of the stored vector).
    public func snapshot() -> [Int64: [RowKind: [Float]]] {
        rows.withLock { r in
            let held = r.heldRows(), d = r.dimension
            var out: [Int64: [RowKind: [Float]]] = [:]
            for (i, (id, kind)) in zip(held.ids, held.kinds).enumerated() {
                out[id, default: [:]][kind] = Array(held.vectors[(i * d)..<(i * d + d)])
            }
            return out
        }
    }

    /// What the index holds for a row set to `vector` now: the vector
    /// itself while exact; in a large index, its precise codes decoded
    /// (deterministic: their mean is fixed when the index turns approximate).
    public func held(_ vector: [Float]) -> [Float] {
        guard vector.count == dimension else { return vector }
        return rows.withLock { $0.vectors.held(vector) }
    }

    /// Whether the rows are held as codes (for tests and the bench).
    public var isApproximate: Bool { rows.withLock { $0.vectors.isApproximate } }

    /// Rows in the matrix (an image has one or two).
    var rowCount: Int { rows.withLock { $0.rowCount } }

    /// Every row as held, with its image and kind (for tests).
    func heldRows() -> (ids: [Int64], kinds: [RowKind], vectors: [Float]) { rows.withLock { $0.heldRows() } }
}
