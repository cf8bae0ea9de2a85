import Foundation
import Inference

/// The paper's "encoder + k-NN" baseline: the predicted prompt embedding is
/// the similarity-weighted mean of the prompt embeddings of the k labelled
/// images nearest in the encoder's feature space (cosine, through BLAS).
public struct KNNRegressor: Sendable {
    let features: [Float]   // (n, d), unit rows
    let targets: [Float]    // (n, m)
    public let count: Int
    public let dimension: Int
    public let outputs: Int
    public private(set) var k: Int

    public init(features: [Float], targets: [Float], count n: Int, k: Int) {
        precondition(n > 0 && features.count % n == 0 && targets.count % n == 0, "rows must match")
        dimension = features.count / n
        outputs = targets.count / n
        count = n
        self.k = max(1, min(k, n))
        self.features = Self.normalizedRows(features, dimension)
        self.targets = targets
    }

    static func normalizedRows(_ x: [Float], _ d: Int) -> [Float] {
        var out = x
        for r in 0..<(x.count / d) {
            var s: Float = 0
            for j in 0..<d { s += x[r * d + j] * x[r * d + j] }
            let inv = 1 / max(s.squareRoot(), 1e-12)
            for j in 0..<d { out[r * d + j] *= inv }
        }
        return out
    }

    /// Unit-length predictions for `queries` (rows, d): (rows, outputs).
    public func predict(_ queries: [Float], k requested: Int? = nil) -> [Float] {
        predict(queries, ks: [requested ?? k])[0]
    }

    /// Predictions for several k at once (one similarity pass, the largest k
    /// neighbours kept): one (rows, outputs) matrix per k. Similarities are
    /// computed a block of queries at a time (≤ 64 MiB of scores) and the
    /// best kept by insertion, so memory stays bounded.
    public func predict(_ queries: [Float], ks requested: [Int]) -> [[Float]] {
        let rows = queries.count / dimension
        let ks = requested.map { max(1, min($0, count)) }
        let kMax = ks.max() ?? 1
        let q = Self.normalizedRows(queries, dimension)
        var outs = ks.map { _ in [Float](repeating: 0, count: rows * outputs) }
        let block = max(1, min(rows, (1 << 24) / count))
        var sims = [Float](repeating: 0, count: block * count)
        var best: [(Int, Float)] = []
        best.reserveCapacity(kMax + 1)
        var start = 0
        while start < rows {
            let n = min(block, rows - start)
            q.withUnsafeBufferPointer { qp in
                features.withUnsafeBufferPointer { fp in
                    sims.withUnsafeMutableBufferPointer { sp in
                        BLAS.gemm(MatrixRef(qp.baseAddress! + start * dimension, rows: n, cols: dimension),
                                  MatrixRef(fp.baseAddress!, rows: count, cols: dimension), transposeB: true,
                                  MutableMatrixRef(sp.baseAddress!, rows: n, cols: count))
                    }
                }
            }
            for local in 0..<n {
                best.removeAll(keepingCapacity: true)
                let base = local * count
                for i in 0..<count {
                    let s = sims[base + i]
                    if best.count == kMax, s <= best[kMax - 1].1 { continue }
                    var pos = best.count
                    while pos > 0 && best[pos - 1].1 < s { pos -= 1 }
                    best.insert((i, s), at: pos)
                    if best.count > kMax { best.removeLast() }
                }
                let r = start + local
                for (which, k) in ks.enumerated() {
                    outs[which].withUnsafeMutableBufferPointer { out in
                        for (i, s) in best.prefix(k) {
                            let w = max(s, 0) + 1e-6   // similarity weights; never all zero
                            for j in 0..<outputs { out[r * outputs + j] += w * targets[i * outputs + j] }
                        }
                        var norm: Float = 0
                        for j in 0..<outputs { norm += out[r * outputs + j] * out[r * outputs + j] }
                        let inv = 1 / max(norm.squareRoot(), 1e-12)
                        for j in 0..<outputs { out[r * outputs + j] *= inv }
                    }
                }
            }
            start += n
        }
        return outs
    }

    /// The same neighbours with another k (no copy of the stored rows).
    public func with(k newK: Int) -> KNNRegressor {
        var copy = self
        copy.k = max(1, min(newK, count))
        return copy
    }

    /// The stored (unit) features and targets, for saving.
    public var storedFeatures: [Float] { features }
    public var storedTargets: [Float] { targets }
}
