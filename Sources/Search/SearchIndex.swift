import Foundation
import Inference
import Synchronization

/// The vectors search ranks, kept in memory in one contiguous (rows, d)
/// matrix in sync with the database: every image's predicted prompt
/// embedding and, where the file carries its prompt, that prompt's
/// embedding. A query is one matrix-vector product through BLAS, a scatter
/// of the row scores to their images (an image scores its best row), and a
/// bounded top-k: an exact scan, no approximation, no hashing per row.
public final class SearchIndex: Sendable {
    public let dimension: Int
    /// Everything below, behind one lock: queries (from control threads) and
    /// updates (from workers and the learning thread) never see half a change.
    let rows: Mutex<Rows>

    /// The matrix and its bookkeeping. The vectors live in a buffer of our
    /// own (grown by doubling, freed with the value), reached only through
    /// the mutex, which is why the pointer needs no Sendable promise.
    struct Rows: ~Copyable {
        typealias RowKind = SearchIndex.RowKind
        let dimension: Int
        /// Row-major vectors, (capacity, dimension).
        var storage: UnsafeMutablePointer<Float>
        var capacity = 1024
        var rowCount = 0
        /// Which image slot each row belongs to, and its (slot, kind) key.
        var rowOwner: [Int32] = []
        var rowKind: [RowKind] = []
        /// Images by dense slot; slot lookup by id; rows of each slot.
        var slotIDs: [Int64] = []
        var slotOf: [Int64: Int] = [:]
        var rowsOfSlot: [[Int]] = []
        var slotScores: [Float] = []
        var rowScores: [Float] = []

        init(dimension: Int) {
            self.dimension = dimension
            storage = .allocate(capacity: capacity * dimension)
        }

        deinit { storage.deallocate() }
    }

    public init(dimension: Int = 384) {
        self.dimension = dimension
        rows = Mutex(Rows(dimension: dimension))
    }

    /// Which of an image's vectors a row holds: an image has at most one of each.
    public enum RowKind: UInt8, Sendable, CaseIterable {
        /// The predicted prompt embedding.
        case predicted
        /// The embedding of the prompt the file carries.
        case knownPrompt
    }

    /// Adds `rows` of one kind (vectors of another dimension are skipped).
    public func load(_ rows: some Sequence<(Int64, [Float])>, kind: RowKind) {
        for (id, v) in rows where v.count == dimension { set(id, kind: kind, vector: v) }
    }

    public var count: Int { rows.withLock { $0.slotIDs.count } }

    public func set(_ id: Int64, kind: RowKind, vector: [Float]) {
        guard vector.count == dimension else { return }
        rows.withLock { $0.set(id, kind: kind, vector: vector) }
    }

    public func remove(_ id: Int64) {
        rows.withLock { $0.remove(id) }
    }

    public func removeAll() {
        rows.withLock { r in
            r.rowCount = 0; r.rowOwner = []; r.rowKind = []; r.slotIDs = []; r.slotOf = [:]; r.rowsOfSlot = []
        }
    }

    /// Best `k` images for a unit query vector, best first; `allowed`
    /// restricts the candidates (filters), nil = all.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>? = nil) -> [(id: Int64, score: Float)] {
        precondition(query.count == dimension)
        guard k > 0 else { return [] }
        return rows.withLock { $0.search(query, k: k, allowed: allowed) }
    }
}

extension SearchIndex.Rows {
    mutating func set(_ id: Int64, kind: RowKind, vector: [Float]) {
        let slot: Int
        if let s = slotOf[id] { slot = s } else {
            slot = slotIDs.count
            slotIDs.append(id); slotOf[id] = slot; rowsOfSlot.append([])
        }
        let row: Int
        if let r = rowsOfSlot[slot].first(where: { rowKind[$0] == kind }) { row = r } else {
            if rowCount == capacity {
                let bigger = UnsafeMutablePointer<Float>.allocate(capacity: capacity * 2 * dimension)
                bigger.update(from: storage, count: rowCount * dimension)
                storage.deallocate()
                storage = bigger
                capacity *= 2
            }
            row = rowCount
            rowCount += 1
            rowOwner.append(Int32(slot)); rowKind.append(kind)
            rowsOfSlot[slot].append(row)
        }
        vector.withUnsafeBufferPointer { (storage + row * dimension).update(from: $0.baseAddress!, count: dimension) }
    }

    mutating func remove(_ id: Int64) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        // Drop its rows, highest first, each replaced by the last row.
        for row in rowsOfSlot[slot].sorted(by: >) { removeRow(row) }
        // Move the last slot into the hole.
        let last = slotIDs.count - 1
        if slot != last {
            slotIDs[slot] = slotIDs[last]
            rowsOfSlot[slot] = rowsOfSlot[last]
            slotOf[slotIDs[slot]] = slot
            for r in rowsOfSlot[slot] { rowOwner[r] = Int32(slot) }
        }
        slotIDs.removeLast(); rowsOfSlot.removeLast()
    }

    /// Removes one row: the last row moves into its place.
    private mutating func removeRow(_ row: Int) {
        let last = rowCount - 1
        let owner = Int(rowOwner[row])
        rowsOfSlot[owner].removeAll { $0 == row }
        if row != last {
            (storage + row * dimension).update(from: storage + last * dimension, count: dimension)
            let movedOwner = Int(rowOwner[last])
            rowOwner[row] = rowOwner[last]; rowKind[row] = rowKind[last]
            if let i = rowsOfSlot[movedOwner].firstIndex(of: last) { rowsOfSlot[movedOwner][i] = row }
        }
        rowOwner.removeLast(); rowKind.removeLast()
        rowCount -= 1
    }

    mutating func search(_ query: [Float], k: Int, allowed: Set<Int64>?) -> [(id: Int64, score: Float)] {
        let n = rowCount, d = dimension
        guard n > 0 else { return [] }
        if rowScores.count < n { rowScores = [Float](repeating: 0, count: max(n, rowScores.count * 2)) }
        if slotScores.count < slotIDs.count { slotScores = [Float](repeating: 0, count: max(slotIDs.count, slotScores.count * 2)) }
        let base = UnsafePointer(storage)
        query.withUnsafeBufferPointer { qp in
            rowScores.withUnsafeMutableBufferPointer { out in
                let o = out.baseAddress!, qv = qp.baseAddress!
                // Memory-bound: split the rows over the cores.
                Parallel.forEachChunk(n, minChunk: 4096) { rows in
                    BLAS.gemm(MatrixRef(base + rows.lowerBound * d, rows: rows.count, cols: d),
                              MatrixRef(qv, rows: 1, cols: d), transposeB: true,
                              MutableMatrixRef(o + rows.lowerBound, rows: rows.count, cols: 1), parallel: false)
                }
            }
        }
        let slots = slotIDs.count
        for s in 0..<slots { slotScores[s] = -.infinity }
        for r in 0..<n {
            let s = Int(rowOwner[r])
            if rowScores[r] > slotScores[s] { slotScores[s] = rowScores[r] }
        }
        var best: [(id: Int64, score: Float)] = []
        best.reserveCapacity(k + 1)
        for s in 0..<slots {
            let score = slotScores[s]
            if best.count == k, score < best[k - 1].score { continue }
            let id = slotIDs[s]
            if let allowed, !allowed.contains(id) { continue }
            if best.count == k, score == best[k - 1].score, id > best[k - 1].id { continue }
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if best[mid].score > score || (best[mid].score == score && best[mid].id < id) { lo = mid + 1 } else { hi = mid }
            }
            best.insert((id, score), at: lo)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
