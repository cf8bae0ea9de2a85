import Foundation
import Inference

/// k-means with k-means++ seeding (the paper's DAKL clusters its predicted
/// embeddings), distances through BLAS: ‖x − c‖² = ‖x‖² + ‖c‖² − 2·x·c.
public struct KMeans: Sendable {
    /// (k, d) row-major.
    public let centroids: [Float]
    public let assignments: [Int]
    public let k: Int
    public let dimension: Int
    public let iterations: Int

    /// Floats of point-centre products held at once (16 Mi: 64 MiB).
    static let productFloats = 1 << 24

    /// Clusters `points` (n, d). Deterministic for a given `seed`.
    /// Lloyd iterations stop when at most `tolerance`·n assignments change
    /// (0: until none does) or after `maxIterations`.
    public init(points: [Float], count n: Int, k requested: Int, seed: UInt64 = 1, maxIterations: Int = 50, tolerance: Double = 0) {
        self.init(points: points, count: n, k: requested, seed: seed, maxIterations: maxIterations, tolerance: tolerance,
                  productFloats: Self.productFloats)
    }

    /// `productFloats`: the bound on point-centre products held at once (tests choose it).
    init(points: [Float], count n: Int, k requested: Int, seed: UInt64, maxIterations: Int, tolerance: Double, productFloats: Int) {
        precondition(n > 0 && points.count % n == 0, "points must hold n rows")
        let d = points.count / n
        let k = max(1, min(requested, n))
        var rng = SeededGenerator(seed: seed)
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n { var s: Float = 0; for j in 0..<d { s += points[i * d + j] * points[i * d + j] }; norms[i] = s }
        // k-means++: first centre uniform, each next one with probability ∝ D².
        // D² to a new centre is ‖x‖² + ‖c‖² − 2·X·c, one matrix-vector product.
        var centres = [Float](repeating: 0, count: k * d)
        var dot = [Float](repeating: 0, count: n)
        func distances(toCentre c: Int) -> [Float] {
            var cn: Float = 0
            for j in 0..<d { cn += centres[c * d + j] * centres[c * d + j] }
            points.withUnsafeBufferPointer { pp in
                centres.withUnsafeBufferPointer { cp in
                    dot.withUnsafeMutableBufferPointer { dp in
                        BLAS.gemm(MatrixRef(pp.baseAddress!, rows: n, cols: d), MatrixRef(cp.baseAddress! + c * d, rows: d, cols: 1, ld: 1),
                                  MutableMatrixRef(dp.baseAddress!, rows: n, cols: 1))
                    }
                }
            }
            return (0..<n).map { max(0, norms[$0] + cn - 2 * dot[$0]) }
        }
        let first = Int(rng.next() % UInt64(n))
        for j in 0..<d { centres[j] = points[first * d + j] }
        var closest = distances(toCentre: 0)
        for c in 1..<k {
            let total = closest.reduce(0, +)
            var pick = 0
            if total > 0 {
                var r = Float(Double(rng.next() >> 11) / Double(1 << 53)) * total
                for i in 0..<n { r -= closest[i]; if r <= 0 { pick = i; break }; pick = i }
            } else {
                pick = Int(rng.next() % UInt64(n))
            }
            for j in 0..<d { centres[c * d + j] = points[pick * d + j] }
            let fresh = distances(toCentre: c)
            for i in 0..<n { closest[i] = min(closest[i], fresh[i]) }
        }
        // Lloyd iterations until no assignment changes. The point-centre
        // products a block of rows at a time: (n, k) at once was the largest
        // allocation of a 100k-row training run (90k × 4,496 floats, 1.6 GB).
        var assign = [Int](repeating: -1, count: n)
        let block = max(1, min(n, productFloats / k))
        var dots = [Float](repeating: 0, count: block * k)
        var iterations = 0
        for it in 0..<maxIterations {
            iterations = it + 1
            var cnorm = [Float](repeating: 0, count: k)
            for c in 0..<k { var s: Float = 0; for j in 0..<d { s += centres[c * d + j] * centres[c * d + j] }; cnorm[c] = s }
            var changed = 0
            for lo in stride(from: 0, to: n, by: block) {
                let rows = min(block, n - lo)
                points.withUnsafeBufferPointer { pp in
                    centres.withUnsafeBufferPointer { cp in
                        dots.withUnsafeMutableBufferPointer { dp in
                            BLAS.gemm(MatrixRef(pp.baseAddress! + lo * d, rows: rows, cols: d), MatrixRef(cp.baseAddress!, rows: k, cols: d), transposeB: true,
                                      MutableMatrixRef(dp.baseAddress!, rows: rows, cols: k))
                        }
                    }
                }
                for r in 0..<rows {
                    let i = lo + r
                    var best = 0, bestD = Float.infinity
                    for c in 0..<k {
                        let dist = norms[i] + cnorm[c] - 2 * dots[r * k + c]
                        if dist < bestD { bestD = dist; best = c }
                    }
                    if assign[i] != best { assign[i] = best; changed += 1 }
                }
            }
            if changed == 0 || (it > 0 && Double(changed) <= tolerance * Double(n)) { break }
            var sums = [Float](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
            for i in 0..<n { counts[assign[i]] += 1; for j in 0..<d { sums[assign[i] * d + j] += points[i * d + j] } }
            for c in 0..<k where counts[c] > 0 { for j in 0..<d { centres[c * d + j] = sums[c * d + j] / Float(counts[c]) } }
        }
        centroids = centres; assignments = assign; self.k = k; dimension = d; self.iterations = iterations
    }
}

/// A small deterministic generator (SplitMix64) so training is reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
