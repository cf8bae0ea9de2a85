import Foundation
import Inference
import Synchronization

/// The vectors search ranks, kept in memory in sync with the database:
/// every image's predicted prompt embedding and, where the file carries its
/// prompt, that prompt's embedding. Below `approximateAbove` rows, one
/// contiguous (rows, d) float32 matrix: a query is one matrix-vector product
/// through BLAS, a scatter of the row scores to their images (an image
/// scores its best row), and a bounded top-k, an exact scan. From
/// `approximateAbove` rows on (50,000: a 2 GB float32 matrix at a million
/// images does not fit, nor does its 238 ms scan), the rows are held as
/// codes and searched in two passes (`RowVectors`, ApproximateScan.swift).
/// Every change (set, remove, replace, load) updates the codes with the rows.
public final class SearchIndex: Sendable {
    public let dimension: Int
    /// Everything below, behind one lock: queries (from control threads) and
    /// updates (from the store's change feed) never see half a change.
    let rows: Mutex<Rows>

    /// The matrix and its bookkeeping, reached only through the mutex. The
    /// vectors (float32 or codes) live in `vectors`, which is not
    /// thread-safe: the mutex guards it.
    struct Rows: ~Copyable {
        typealias RowKind = SearchIndex.RowKind
        let dimension: Int
        /// The rows' vectors: float32 while small, codes when large.
        let vectors: RowVectors
        var rowCount = 0
        /// Which image slot each row belongs to, and its (slot, kind) key.
        var rowOwner: [Int32] = []
        var rowKind: [RowKind] = []
        /// Images by dense slot; slot lookup by id; rows of each slot.
        var slotIDs: [Int64] = []
        var slotOf: [Int64: Int] = [:]
        var rowsOfSlot: [SlotRows] = []
        var slotScores: [Float] = []
        var slotKinds: [RowKind?] = []
        /// Bumped by every change of the rows; the agreement cached for one.
        var generation = 0
        var agreement: (generation: Int, at: ContinuousClock.Instant, value: (mean: Float, images: Int)?)?
        var rowScores: [Float] = []

        init(dimension: Int, approximateAbove: Int) {
            self.dimension = dimension
            vectors = RowVectors(dimension: dimension, approximateAbove: approximateAbove)
        }
    }

    public convenience init(dimension: Int = 384) { self.init(dimension: dimension, approximateAbove: 50_000) }

    /// `approximateAbove`: the row count from which rows are held as codes
    /// (`Int.max`: always float32 and exact, 1,536 B a row).
    public init(dimension: Int, approximateAbove: Int) {
        self.dimension = dimension
        rows = Mutex(Rows(dimension: dimension, approximateAbove: approximateAbove))
    }

    /// Which of an image's vectors a row holds: an image has at most one
    /// prediction (of either origin) and one known prompt.
    public enum RowKind: UInt8, Sendable, CaseIterable {
        /// The predicted prompt embedding: a learned model's (or of unknown origin).
        case predicted
        /// The embedding of the prompt the file carries.
        case knownPrompt
        /// A zero-shot predicted prompt embedding (`Ranking` weighs it by
        /// zero-shot's own confidence).
        case zeroShotPredicted

        public var isPrediction: Bool { self != .knownPrompt }
    }

    /// Adds `rows` of one kind (vectors of another dimension are skipped),
    /// handed to `load(ids:vectors:kind:)` in batches.
    public func load(_ rows: some Sequence<(Int64, [Float])>, kind: RowKind) {
        var ids: [Int64] = [], batch: [Float] = []
        for (id, v) in rows where v.count == dimension {
            ids.append(id); batch += v
            if ids.count == 65_536 { load(ids: ids, vectors: batch, kind: kind); ids = []; batch = [] }
        }
        load(ids: ids, vectors: batch, kind: kind)
    }

    /// Sets row `kind` of each image `ids[i]` to vector i of `vectors`
    /// (ids.count, dimension), in one step: the codes of a large index are
    /// computed for the whole batch (through BLAS), not row by row.
    public func load(ids: [Int64], vectors matrix: [Float], kind: RowKind) {
        precondition(matrix.count == ids.count * dimension, "load: \(matrix.count) values for \(ids.count) rows of \(dimension)")
        guard !ids.isEmpty else { return }
        rows.withLock { $0.load(ids: ids, vectors: matrix, kind: kind) }
    }

    public var count: Int { rows.withLock { $0.slotIDs.count } }

    public func set(_ id: Int64, kind: RowKind, vector: [Float]) {
        guard vector.count == dimension else { return }
        rows.withLock { $0.set(id, kind: kind, vector: vector) }
    }

    public func remove(_ id: Int64) {
        rows.withLock { $0.remove(id) }
    }

    /// Empty, and exact again (the codes and their axes go).
    public func removeAll() {
        rows.withLock { $0.removeAll() }
    }

    /// Best `k` images for a unit query vector, best first; `allowed`
    /// restricts the candidates (filters), nil = all. Each image scores its
    /// best row (`Ranking.bestRow`).
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>? = nil) -> [(id: Int64, score: Float)] {
        search(query, k: k, allowed: allowed, ranking: .bestRow).map { ($0.id, $0.score) }
    }

    /// Best `k` images under `ranking`, best first (score descending, then
    /// id ascending), each with the kind of row that ranked it.
    public func search(_ query: [Float], k: Int, allowed: Set<Int64>?, ranking: Ranking) -> [Hit] {
        precondition(query.count == dimension)
        guard k > 0 else { return [] }
        return rows.withLock { $0.search(query, k: k, allowed: allowed, ranking: ranking) }
    }
}

extension SearchIndex.Rows {
    mutating func search(_ query: [Float], k: Int, allowed: Set<Int64>?, ranking: Ranking) -> [SearchIndex.Hit] {
        let n = rowCount, d = dimension
        guard n > 0 else { return [] }
        let ranking = ranking.liftsPredictions ? ranking.forQuery(spread: knownSpread(query)) : ranking
        if vectors.isApproximate {
            return vectors.approximateSearch(query, k: k, allowed: allowed, ranking: ranking, owners: rowOwner, kinds: rowKind,
                                             slotIDs: slotIDs, slotOf: slotOf, rowsOfSlot: rowsOfSlot)
        }
        if rowScores.count < n { rowScores = [Float](repeating: 0, count: max(n, rowScores.count * 2)) }
        let slots = slotIDs.count
        if slotScores.count < slots {
            slotScores = [Float](repeating: 0, count: max(slots, slotScores.count * 2))
            slotKinds = [SearchIndex.RowKind?](repeating: nil, count: slotScores.count)
        }
        let base = UnsafePointer(vectors.exact)
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
        for s in 0..<slots { slotScores[s] = -.infinity; slotKinds[s] = nil }
        for r in 0..<n {
            let s = Int(rowOwner[r])
            (slotScores[s], slotKinds[s]) = ranking.fold((slotScores[s], slotKinds[s]), kind: rowKind[r], cosine: rowScores[r])
        }
        var best = TopImages(k: k)
        for s in 0..<slots {
            guard let kind = slotKinds[s] else { continue }
            let score = slotScores[s], id = slotIDs[s]
            guard best.admits(id, score) else { continue }
            if let allowed, !allowed.contains(id) { continue }
            best.insert(id, score, kind)
        }
        return best.items
    }
}

extension SearchIndex.Rows {
    /// σ of `Ranking`: the standard deviation of the query's cosine to the
    /// known-prompt rows, over an even sample of at most `sample` rows of
    /// the index (the rows as held: codes decoded in a large index); 0 with
    /// fewer than two known prompts.
    func knownSpread(_ query: [Float], sample: Int = 4096) -> Float {
        let d = dimension, step = max(1, rowCount / max(1, sample))
        var v = [Float](repeating: 0, count: d)
        var sum: Double = 0, squares: Double = 0, n = 0
        v.withUnsafeMutableBufferPointer { out in
            query.withUnsafeBufferPointer { q in
                for r in stride(from: 0, to: rowCount, by: step) where rowKind[r] == .knownPrompt {
                    vectors.decode(r, 1, into: out.baseAddress!)
                    var dot: Float = 0
                    for j in 0..<d { dot += out[j] * q[j] }
                    sum += Double(dot); squares += Double(dot) * Double(dot); n += 1
                }
            }
        }
        guard n >= 2 else { return 0 }
        let mean = sum / Double(n)
        return Float(max(0, squares / Double(n) - mean * mean).squareRoot())
    }
}
