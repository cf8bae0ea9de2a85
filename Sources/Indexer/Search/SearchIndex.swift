import Foundation
import Inference

/// The vectors search ranks, kept in memory as one contiguous matrix per
/// kind (predicted prompt embeddings, known prompt embeddings), in sync with
/// the database. A query is one matrix-vector product through BLAS and a
/// partial sort: an exact scan, no approximation.
public final class SearchIndex: @unchecked Sendable {
    public let dimension: Int
    let lock = NSLock()
    var matrices: [String: VectorMatrix] = [:]

    public init(dimension: Int = 384) { self.dimension = dimension }

    /// Loads every vector of the given kinds from the store.
    public func load(from store: IndexStore, kinds: [String] = [EmbeddingKind.predicted, EmbeddingKind.knownPrompt]) throws {
        for kind in kinds {
            let m = VectorMatrix(dimension: dimension)
            for (id, v) in try store.vectors(kind: kind) where v.count == dimension { m.set(id, v) }
            lock.withLock { matrices[kind] = m }
        }
    }

    public func set(_ id: Int64, kind: String, vector: [Float]) {
        guard vector.count == dimension else { return }
        lock.withLock {
            let m = matrices[kind] ?? VectorMatrix(dimension: dimension)
            matrices[kind] = m
            m.set(id, vector)
        }
    }

    public func remove(_ id: Int64) {
        lock.withLock { for m in matrices.values { m.remove(id) } }
    }

    public func removeAll() { lock.withLock { matrices.removeAll() } }

    public var count: Int { lock.withLock { matrices[EmbeddingKind.predicted]?.ids.count ?? 0 } }

    /// Best `k` images for a unit query vector: each image scores the larger
    /// of its cosines to the query over the kinds it has, best first.
    /// `allowed` restricts the candidates (filters), nil = all.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>? = nil) -> [(id: Int64, score: Float)] {
        precondition(query.count == dimension)
        return lock.withLock { () -> [(id: Int64, score: Float)] in
            // Scores aligned with the predicted matrix's rows; the other kinds
            // raise an image's score where they are higher.
            let primary = matrices[EmbeddingKind.predicted] ?? VectorMatrix(dimension: dimension)
            var scores = primary.scores(query)
            var extra: [Int64: Float] = [:]
            for (kind, m) in matrices where kind != EmbeddingKind.predicted {
                let other = m.scores(query)
                for (row, id) in m.ids.enumerated() {
                    if let r = primary.row(of: id) { scores[r] = max(scores[r], other[row]) } else { extra[id] = max(extra[id] ?? -2, other[row]) }
                }
            }
            // Top k by a bounded sorted buffer over the flat array.
            var best: [(id: Int64, score: Float)] = []
            best.reserveCapacity(k + 1)
            func offer(_ id: Int64, _ s: Float) {
                if let allowed, !allowed.contains(id) { return }
                if best.count == k, let last = best.last, s < last.score || (s == last.score && id > last.id) { return }
                var lo = 0, hi = best.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if best[mid].score > s || (best[mid].score == s && best[mid].id < id) { lo = mid + 1 } else { hi = mid }
                }
                best.insert((id, s), at: lo)
                if best.count > k { best.removeLast() }
            }
            guard k > 0 else { return [] }
            let ids = primary.ids
            for row in 0..<ids.count {
                // Cheap reject before the set lookup and the insertion.
                if best.count == k, scores[row] < best[k - 1].score { continue }
                offer(ids[row], scores[row])
            }
            for (id, s) in extra { offer(id, s) }
            return best
        }
    }

    static func top(_ scores: [Int64: Float], k: Int) -> [(id: Int64, score: Float)] {
        guard k > 0 else { return [] }
        // Partial selection: keep a sorted buffer of at most k.
        var out: [(id: Int64, score: Float)] = []
        out.reserveCapacity(k + 1)
        for (id, s) in scores {
            if out.count == k, let last = out.last, s < last.score || (s == last.score && id > last.id) { continue }
            var lo = 0, hi = out.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if out[mid].score > s || (out[mid].score == s && out[mid].id < id) { lo = mid + 1 } else { hi = mid }
            }
            out.insert((id, s), at: lo)
            if out.count > k { out.removeLast() }
        }
        return out
    }
}

/// Row-major (n, d) floats with an id per row; removal swaps the last row in.
final class VectorMatrix: @unchecked Sendable {
    let dimension: Int
    private(set) var ids: [Int64] = []
    private var rowOf: [Int64: Int] = [:]
    private var storage: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var scoreBuffer: [Float] = []

    init(dimension: Int) {
        self.dimension = dimension
        capacity = 1024
        storage = .allocate(capacity: capacity * dimension)
    }

    deinit { storage.deallocate() }

    func set(_ id: Int64, _ v: [Float]) {
        let row: Int
        if let r = rowOf[id] { row = r } else {
            if ids.count == capacity {
                let bigger = UnsafeMutablePointer<Float>.allocate(capacity: capacity * 2 * dimension)
                bigger.update(from: storage, count: ids.count * dimension)
                storage.deallocate()
                storage = bigger
                capacity *= 2
            }
            row = ids.count
            ids.append(id)
            rowOf[id] = row
        }
        v.withUnsafeBufferPointer { (storage + row * dimension).update(from: $0.baseAddress!, count: dimension) }
    }

    func row(of id: Int64) -> Int? { rowOf[id] }

    func remove(_ id: Int64) {
        guard let row = rowOf.removeValue(forKey: id) else { return }
        let last = ids.count - 1
        if row != last {
            (storage + row * dimension).update(from: storage + last * dimension, count: dimension)
            ids[row] = ids[last]
            rowOf[ids[row]] = row
        }
        ids.removeLast()
    }

    /// M · q for every row.
    func scores(_ q: [Float]) -> [Float] {
        let n = ids.count
        if scoreBuffer.count < n { scoreBuffer = [Float](repeating: 0, count: max(n, scoreBuffer.count * 2)) }
        guard n > 0 else { return [] }
        let d = dimension, base = UnsafePointer(storage)
        q.withUnsafeBufferPointer { qp in
            scoreBuffer.withUnsafeMutableBufferPointer { out in
                let o = out.baseAddress!, qv = qp.baseAddress!
                // Memory-bound: split the rows over the cores.
                Parallel.forEachChunk(n, minChunk: 4096) { rows in
                    BLAS.gemm(MatrixRef(base + rows.lowerBound * d, rows: rows.count, cols: d),
                              MatrixRef(qv, rows: 1, cols: d), transposeB: true,
                              MutableMatrixRef(o + rows.lowerBound, rows: rows.count, cols: 1), parallel: false)
                }
            }
        }
        return Array(scoreBuffer[0..<n])
    }
}
