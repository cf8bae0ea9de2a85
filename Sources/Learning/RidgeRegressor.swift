import CBLAS
import Foundation
import Inference

/// Closed-form ridge regression (the paper's linear baseline on frozen
/// features): W = (XcᵀXc + αI)⁻¹ XcᵀYc on centred data, b = ȳ − x̄W.
/// XᵀX and XᵀY are one sgemm each; the solve is LAPACK's Cholesky (sposv).
/// With per-example weights sᵢ it is weighted least squares: weighted means,
/// and the centred rows scaled by √sᵢ, so G = XcᵀSXc and B = XcᵀSYc.
public struct RidgeRegressor: Sendable, Equatable {
    /// (inputs, outputs), row-major.
    public let weights: [Float]
    public let bias: [Float]
    public let inputs: Int
    public let outputs: Int

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case empty
        case shape(String)
        case notPositiveDefinite(Int)
        public var description: String {
            switch self {
            case .empty: return "ridge regression needs at least one example"
            case .shape(let s): return "ridge regression: \(s)"
            case .notPositiveDefinite(let i): return "ridge regression: the regularised Gram matrix is not positive definite (minor \(i)); raise alpha"
            }
        }
    }

    /// Fits on `x` (n, inputs) and `y` (n, outputs), row-major, with penalty `alpha` > 0.
    public init(x: [Float], y: [Float], count n: Int, alpha: Float, weights: [Float]? = nil) throws(Failure) {
        self = try Self.fit(x: x, y: y, count: n, alphas: [alpha], weights: weights)[0]
    }

    /// A stored regressor.
    public init(weights: [Float], bias: [Float], inputs: Int, outputs: Int) {
        precondition(weights.count == inputs * outputs && bias.count == outputs, "ridge shapes")
        self.weights = weights; self.bias = bias; self.inputs = inputs; self.outputs = outputs
    }

    /// One regressor per penalty, sharing the Gram matrix (formed once);
    /// `weights` (n, non-negative, nil: all 1) weigh the examples.
    public static func fit(x: [Float], y: [Float], count n: Int, alphas: [Float], weights: [Float]? = nil) throws(Failure) -> [RidgeRegressor] {
        guard n > 0 else { throw .empty }
        guard x.count % n == 0, y.count % n == 0 else { throw .shape("\(x.count) and \(y.count) values for \(n) examples") }
        let d = x.count / n, m = y.count / n
        guard alphas.allSatisfy({ $0 > 0 }) else { throw .shape("alpha must be positive") }
        let s = weights ?? [Float](repeating: 1, count: n)
        guard s.count == n, s.allSatisfy({ $0 >= 0 }), s.contains(where: { $0 > 0 }) else {
            throw .shape("\(s.count) weights for \(n) examples (non-negative, not all zero)")
        }
        let total = s.reduce(0, +)
        // Weighted column means, then centred copies scaled by √s.
        var mx = [Float](repeating: 0, count: d), my = [Float](repeating: 0, count: m)
        for i in 0..<n {
            for j in 0..<d { mx[j] += s[i] * x[i * d + j] }
            for j in 0..<m { my[j] += s[i] * y[i * m + j] }
        }
        mx = mx.map { $0 / total }; my = my.map { $0 / total }
        var xc = x, yc = y
        for i in 0..<n {
            let r = s[i].squareRoot()
            for j in 0..<d { xc[i * d + j] = r * (xc[i * d + j] - mx[j]) }
            for j in 0..<m { yc[i * m + j] = r * (yc[i * m + j] - my[j]) }
        }
        // G = XcᵀXc (d, d); B = XcᵀYc (d, m).
        var g = [Float](repeating: 0, count: d * d), b = [Float](repeating: 0, count: d * m)
        xc.withUnsafeBufferPointer { xp in
            g.withUnsafeMutableBufferPointer { gp in
                BLAS.gemm(MatrixRef(xp.baseAddress!, rows: n, cols: d), transposeA: true, MatrixRef(xp.baseAddress!, rows: n, cols: d),
                          MutableMatrixRef(gp.baseAddress!, rows: d, cols: d))
            }
            yc.withUnsafeBufferPointer { yp in
                b.withUnsafeMutableBufferPointer { bp in
                    BLAS.gemm(MatrixRef(xp.baseAddress!, rows: n, cols: d), transposeA: true, MatrixRef(yp.baseAddress!, rows: n, cols: m),
                              MutableMatrixRef(bp.baseAddress!, rows: d, cols: m))
                }
            }
        }
        xc = []; yc = []
        // sposv solves (G + αI)·W = B; G is symmetric, so row-major equals
        // column-major, and B (d, m) row-major is Bᵀ column-major.
        var btSource = [Float](repeating: 0, count: d * m)
        for i in 0..<d { for j in 0..<m { btSource[j * d + i] = b[i * m + j] } }
        var out: [RidgeRegressor] = []
        for alpha in alphas {
            var ga = g
            for j in 0..<d { ga[j * d + j] += alpha }
            var bt = btSource
            var uplo: CChar = 0x55 /* U */, nn = Int32(d), nrhs = Int32(m), lda = Int32(d), ldb = Int32(d), info: Int32 = 0
            ga.withUnsafeMutableBufferPointer { gp in
                bt.withUnsafeMutableBufferPointer { bp in
                    sposv_(&uplo, &nn, &nrhs, gp.baseAddress!, &lda, bp.baseAddress!, &ldb, &info)
                }
            }
            guard info == 0 else { throw .notPositiveDefinite(Int(info)) }
            var w = [Float](repeating: 0, count: d * m)
            for i in 0..<d { for j in 0..<m { w[i * m + j] = bt[j * d + i] } }
            var bias = my
            for j in 0..<m { for i in 0..<d { bias[j] -= mx[i] * w[i * m + j] } }
            out.append(RidgeRegressor(weights: w, bias: bias, inputs: d, outputs: m))
        }
        return out
    }

    /// Predictions for `x` (rows, inputs): (rows, outputs).
    public func predict(_ x: [Float]) -> [Float] {
        let rows = x.count / inputs
        var out = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows { for j in 0..<outputs { out[r * outputs + j] = bias[j] } }
        x.withUnsafeBufferPointer { xp in
            weights.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    BLAS.gemm(MatrixRef(xp.baseAddress!, rows: rows, cols: inputs), MatrixRef(wp.baseAddress!, rows: inputs, cols: outputs),
                              MutableMatrixRef(op.baseAddress!, rows: rows, cols: outputs), beta: 1)
                }
            }
        }
        return out
    }
}
