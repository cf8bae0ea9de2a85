import CBLAS
import Foundation
import Inference

/// The paper's domain-adaptive kernel learning (DAKL) regressor: centroids
/// (from k-means over the ensemble's predicted embeddings) with targets, an
/// RBF kernel between unit vectors K(a, b) = exp(−γ·(1 − cos(a, b))/2), and
/// kernel ridge regression β = (K_cc + αI)⁻¹·T_c, applied as K_xc·β.
/// Kernels are one sgemm of cosines each; the solve is LAPACK's Cholesky.
public struct DomainAdaptiveKernelRidge: Sendable {
    public let centroids: [Float]   // (r, d), unit rows
    public let coefficients: [Float] // (r, m)
    public let gamma: Float
    public let dimension: Int
    public let outputs: Int
    public var count: Int { centroids.count / dimension }

    /// The kernel between rows of `a` (p, d) and `b` (q, d), all unit length: (p, q).
    public static func kernel(_ a: [Float], _ b: [Float], dimension d: Int, gamma: Float) -> [Float] {
        let p = a.count / d, q = b.count / d
        var k = [Float](repeating: 0, count: p * q)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                k.withUnsafeMutableBufferPointer { kp in
                    BLAS.gemm(MatrixRef(ap.baseAddress!, rows: p, cols: d), MatrixRef(bp.baseAddress!, rows: q, cols: d), transposeB: true,
                              MutableMatrixRef(kp.baseAddress!, rows: p, cols: q))
                }
            }
        }
        return k.map { Foundation.exp(-gamma * (1 - $0) / 2) }
    }

    /// Fits on centroids (r, d, unit rows) and their targets (r, m).
    public init(centroids: [Float], targets: [Float], dimension d: Int, gamma: Float = 0.01, alpha: Float = 10) throws(RidgeRegressor.Failure) {
        let r = centroids.count / d
        guard r > 0 else { throw .empty }
        guard targets.count % r == 0 else { throw .shape("\(targets.count) target values for \(r) centroids") }
        let m = targets.count / r
        var k = Self.kernel(centroids, centroids, dimension: d, gamma: gamma)
        for i in 0..<r { k[i * r + i] += alpha }
        // K is symmetric: solve K·β = T column by column (Tᵀ column-major).
        var tt = [Float](repeating: 0, count: r * m)
        for i in 0..<r { for j in 0..<m { tt[j * r + i] = targets[i * m + j] } }
        var uplo: CChar = 0x55, n = Int32(r), nrhs = Int32(m), lda = Int32(r), ldb = Int32(r), info: Int32 = 0
        k.withUnsafeMutableBufferPointer { kp in
            tt.withUnsafeMutableBufferPointer { tp in sposv_(&uplo, &n, &nrhs, kp.baseAddress!, &lda, tp.baseAddress!, &ldb, &info) }
        }
        guard info == 0 else { throw .notPositiveDefinite(Int(info)) }
        var beta = [Float](repeating: 0, count: r * m)
        for i in 0..<r { for j in 0..<m { beta[i * m + j] = tt[j * r + i] } }
        self.centroids = centroids; coefficients = beta; self.gamma = gamma; dimension = d; outputs = m
    }

    /// A stored regressor.
    public init(centroids: [Float], coefficients: [Float], dimension: Int, outputs: Int, gamma: Float) {
        precondition(centroids.count % dimension == 0 && coefficients.count == centroids.count / dimension * outputs, "DAKL shapes")
        self.centroids = centroids; self.coefficients = coefficients; self.dimension = dimension; self.outputs = outputs; self.gamma = gamma
    }

    /// Predictions for unit rows `x` (p, d): K_xc·β (p, m).
    public func predict(_ x: [Float]) -> [Float] {
        let p = x.count / dimension, r = count
        let k = Self.kernel(x, centroids, dimension: dimension, gamma: gamma)
        var out = [Float](repeating: 0, count: p * outputs)
        k.withUnsafeBufferPointer { kp in
            coefficients.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    BLAS.gemm(MatrixRef(kp.baseAddress!, rows: p, cols: r), MatrixRef(bp.baseAddress!, rows: r, cols: outputs),
                              MutableMatrixRef(op.baseAddress!, rows: p, cols: outputs))
                }
            }
        }
        return out
    }
}
