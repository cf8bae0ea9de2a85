import Foundation
import Inference

/// The ensemble's combination rule: the normalised weighted mean of the
/// members' unit predictions, with non-negative weights fitted on held-out predictions (`TrainingRun`: grouped k-fold)
/// to maximise the mean cosine with the true prompt embeddings (projected
/// gradient ascent from equal weights; the objective is scale-free, so the
/// weights are kept summing to one).
public enum EnsembleWeights {
    /// Normalised weighted mean of `members` (each (rows, d), unit rows).
    public static func combine(_ members: [[Float]], weights: [Float], dimension d: Int) -> [Float] {
        precondition(members.count == weights.count && !members.isEmpty, "one weight per member")
        let n = members[0].count
        var out = [Float](repeating: 0, count: n)
        for (m, w) in zip(members, weights) where w > 0 {
            precondition(m.count == n, "members must have the same shape")
            for i in 0..<n { out[i] += w * m[i] }
        }
        normalizeRows(&out, d)
        return out
    }

    public static func normalizeRows(_ x: inout [Float], _ d: Int) { VectorMath.l2NormalizeRows(&x, cols: d) }

    /// Mean over rows of cos(a_r, b_r); with `weights` (one per row) the
    /// weighted mean (training weighs each distinct prompt once).
    public static func meanCosine(_ a: [Float], _ b: [Float], dimension d: Int, weights: [Float]? = nil) -> Float {
        let rows = a.count / d
        guard rows > 0 else { return 0 }
        let c = cosines(a, b, dimension: d)
        guard let weights else { return c.reduce(0, +) / Float(rows) }
        precondition(weights.count == rows, "one weight per row")
        let total = weights.reduce(0, +)
        return total > 0 ? zip(c, weights).reduce(0) { $0 + $1.0 * $1.1 } / total : 0
    }

    /// cos(a_r, b_r) per row.
    public static func cosines(_ a: [Float], _ b: [Float], dimension d: Int) -> [Float] {
        precondition(a.count == b.count, "shapes differ")
        return (0..<(a.count / d)).map { r in
            var ab: Float = 0, aa: Float = 0, bb: Float = 0
            for j in 0..<d {
                let x = a[r * d + j], y = b[r * d + j]
                ab += x * y; aa += x * x; bb += y * y
            }
            return ab / max((aa * bb).squareRoot(), 1e-12)
        }
    }

    /// Fits weights on held-out predictions `members` (each (rows, d), unit
    /// rows; a zero row is a member with no prediction for that row, which
    /// then simply does not count there) against `targets` (rows, d, unit
    /// rows). Equal weights when there are no rows. `rowWeights` weigh the
    /// rows (nil: all 1). A member with no prediction on any of the rows is
    /// unmeasured and weighs 0. The result is never worse on these rows than
    /// any single member alone: the ascent starts from equal weights (over
    /// the measured members) and, when a member alone scores better, again
    /// from that member.
    public static func fit(members: [[Float]], targets: [Float], dimension d: Int, rowWeights: [Float]? = nil,
                           iterations: Int = 300) -> [Float] {
        let k = members.count
        precondition(k > 0, "no members")
        let rows = targets.count / d
        guard rows > 0, k > 1 else { return [Float](repeating: 1 / Float(k), count: k) }
        let measured = members.map { $0.contains { $0 != 0 } }
        let count = measured.filter { $0 }.count
        guard count > 0 else { return [Float](repeating: 1 / Float(k), count: k) }
        let equal = measured.map { $0 ? 1 / Float(count) : 0 }
        let rw = rowWeights ?? [Float](repeating: 1, count: rows)
        func objective(_ w: [Float]) -> Float { meanCosine(combine(members, weights: w, dimension: d), targets, dimension: d, weights: rw) }
        var best = ascend(from: equal, members: members, targets: targets, dimension: d, rowWeights: rw, iterations: iterations,
                          objective: objective)
        let alone = (0..<k).filter { measured[$0] }.map { i in (0..<k).map { $0 == i ? Float(1) : 0 } }
        if let vertex = alone.map({ ($0, objective($0)) }).max(by: { $0.1 < $1.1 }), vertex.1 > best.value {
            let fromVertex = ascend(from: vertex.0, members: members, targets: targets, dimension: d, rowWeights: rw,
                                    iterations: iterations, objective: objective)
            if fromVertex.value > best.value { best = fromVertex }
        }
        return best.weights
    }

    /// Projected gradient ascent of the weighted mean cosine from `start`
    /// (weights summing to one); accepts only steps that improve it.
    static func ascend(from start: [Float], members: [[Float]], targets: [Float], dimension d: Int, rowWeights rw: [Float],
                       iterations: Int, objective: ([Float]) -> Float) -> (weights: [Float], value: Float) {
        let k = members.count, rows = targets.count / d
        var w = start
        var best = objective(w)
        var step: Float = 0.5
        for _ in 0..<iterations {
            // Gradient of mean cos(p/‖p‖, y) with p = Σ wᵢ mᵢ.
            var grad = [Float](repeating: 0, count: k)
            for r in 0..<rows {
                var p = [Float](repeating: 0, count: d)
                for (m, wi) in zip(members, w) where wi > 0 { for j in 0..<d { p[j] += wi * m[r * d + j] } }
                let norm = max(p.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                var py: Float = 0
                for j in 0..<d { p[j] /= norm; py += p[j] * targets[r * d + j] }
                for i in 0..<k {
                    var my: Float = 0, mp: Float = 0
                    for j in 0..<d { my += members[i][r * d + j] * targets[r * d + j]; mp += members[i][r * d + j] * p[j] }
                    grad[i] += rw[r] * (my - py * mp) / norm
                }
            }
            let scale = grad.map { abs($0) }.max() ?? 0
            if scale < 1e-9 { break }
            var improved = false
            while step > 1e-4 {
                var trial = zip(w, grad).map { max(0, $0 + step * $1 / scale) }
                let s = trial.reduce(0, +)
                if s <= 0 { step /= 2; continue }
                trial = trial.map { $0 / s }
                let value = objective(trial)
                if value > best + 1e-7 { w = trial; best = value; improved = true; step = min(step * 1.5, 1); break }
                step /= 2
            }
            if !improved { break }
        }
        return (w, best)
    }
}
