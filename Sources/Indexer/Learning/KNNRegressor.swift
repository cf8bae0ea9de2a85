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
    public let k: Int

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
    public func predict(_ queries: [Float]) -> [Float] {
        let rows = queries.count / dimension
        let q = Self.normalizedRows(queries, dimension)
        var sims = [Float](repeating: 0, count: rows * count)
        q.withUnsafeBufferPointer { qp in
            features.withUnsafeBufferPointer { fp in
                sims.withUnsafeMutableBufferPointer { sp in
                    BLAS.gemm(MatrixRef(qp.baseAddress!, rows: rows, cols: dimension), MatrixRef(fp.baseAddress!, rows: count, cols: dimension),
                              transposeB: true, MutableMatrixRef(sp.baseAddress!, rows: rows, cols: count))
                }
            }
        }
        var out = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            let row = Array(sims[(r * count)..<((r + 1) * count)])
            let nearest = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(k)
            var norm: Float = 0
            for i in nearest {
                let w = max(row[i], 0) + 1e-6   // similarity weights; never all zero
                for j in 0..<outputs { out[r * outputs + j] += w * targets[i * outputs + j] }
            }
            for j in 0..<outputs { norm += out[r * outputs + j] * out[r * outputs + j] }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for j in 0..<outputs { out[r * outputs + j] *= inv }
        }
        return out
    }
}
