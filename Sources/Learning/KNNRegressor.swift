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

    /// `features` is taken over (scaled in place when the caller gives it
    /// up with `consume`, instead of copied).
    public init(features: consuming [Float], targets: [Float], count n: Int, k: Int) {
        precondition(n > 0 && features.count % n == 0 && targets.count % n == 0, "rows must match")
        let d = features.count / n
        dimension = d
        outputs = targets.count / n
        count = n
        self.k = max(1, min(k, n))
        self.features = Self.normalizedRows(consume features, d)
        self.targets = targets
    }

    /// `x`'s rows scaled to unit length (in place when the caller gives `x` up).
    static func normalizedRows(_ x: consuming [Float], _ d: Int) -> [Float] {
        VectorMath.l2NormalizeRows(&x, cols: d)
        return x
    }

    /// Unit-length predictions for `queries` (rows, d): (rows, outputs).
    public func predict(_ queries: [Float], k requested: Int? = nil) -> [Float] {
        predict(queries, ks: [requested ?? k])[0]
    }

    /// Predictions for several k at once (one similarity pass, the largest k
    /// neighbours kept): one (rows, outputs) matrix per k.
    public func predict(_ queries: [Float], ks requested: [Int]) -> [[Float]] {
        predictWithNearest(queries, ks: requested).predictions
    }

    /// `predict` with each query's cosine to its nearest stored row, from the same pass.
    public func predictWithNearest(_ queries: [Float], ks requested: [Int]? = nil) -> (predictions: [[Float]], nearest: [Float]) {
        let rows = queries.count / dimension
        let ks = (requested ?? [k]).map { max(1, min($0, count)) }
        let kMax = ks.max() ?? 1
        let q = Self.normalizedRows(queries, dimension)
        var outs = ks.map { _ in [Float](repeating: 0, count: rows * outputs) }
        var nearest = [Float](repeating: -1, count: rows)
        NearestRows.scan(queries: q, matrix: features, count: count, dimension: dimension, k: kMax) { r, best in
            if let first = best.first { nearest[r] = first.1 }
            for (which, k) in ks.enumerated() {
                outs[which].withUnsafeMutableBufferPointer { out in
                    for (i, s) in best.prefix(k) {
                        let w = max(s, 0) + 1e-6   // similarity weights; never all zero
                        for j in 0..<outputs { out[r * outputs + j] += w * targets[i * outputs + j] }
                    }
                    VectorMath.l2Normalize(UnsafeMutableBufferPointer(rebasing: out[(r * outputs)..<((r + 1) * outputs)]))
                }
            }
        }
        return (outs, nearest)
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
