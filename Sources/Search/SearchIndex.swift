import Foundation
import Inference

/// The vectors search ranks, kept in memory in one contiguous (rows, d)
/// matrix in sync with the database: every image's predicted prompt
/// embedding and, where the file carries its prompt, that prompt's
/// embedding. A query is one matrix-vector product through BLAS, a scatter
/// of the row scores to their images (an image scores its best row), and a
/// bounded top-k: an exact scan, no approximation, no hashing per row.
public final class SearchIndex: @unchecked Sendable {
    public let dimension: Int
    let lock = NSLock()
    /// Row-major vectors.
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

    public init(dimension: Int = 384) {
        self.dimension = dimension
        storage = .allocate(capacity: capacity * dimension)
    }

    deinit { storage.deallocate() }

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

    public var count: Int { lock.withLock { slotIDs.count } }

    public func set(_ id: Int64, kind: RowKind, vector: [Float]) {
        guard vector.count == dimension else { return }
        lock.withLock {
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
    }

    public func remove(_ id: Int64) {
        lock.withLock {
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
    }

    /// Removes one row (lock held): the last row moves into its place.
    private func removeRow(_ row: Int) {
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

    public func removeAll() {
        lock.withLock {
            rowCount = 0; rowOwner = []; rowKind = []; slotIDs = []; slotOf = [:]; rowsOfSlot = []
        }
    }

    /// Best `k` images for a unit query vector, best first; `allowed`
    /// restricts the candidates (filters), nil = all.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>? = nil) -> [(id: Int64, score: Float)] {
        precondition(query.count == dimension)
        guard k > 0 else { return [] }
        return lock.withLock { () -> [(id: Int64, score: Float)] in
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
}
