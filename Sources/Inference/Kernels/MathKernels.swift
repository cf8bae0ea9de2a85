/// Vectorised float32 kernels for the element-wise parts of a transformer.
/// SIMD8 keeps them portable (SSE2 or AVX, as the compiler targets).
public enum MathKernels {
    public typealias V = SIMD8<Float>

    /// exp(x), Cephes-style: range reduction by ln 2 and a degree-6
    /// polynomial; relative error below 2e-7 over [-87, 88].
    @inline(__always)
    public static func exp(_ x: V) -> V {
        let lo = V(repeating: -87.33), hi = V(repeating: 88.3)
        var xc = x.replacing(with: lo, where: x .< lo)
        xc.replace(with: hi, where: xc .> hi)
        // Round x·log2(e) to the nearest integer n by adding 1.5·2^23: the sum's
        // low mantissa bits then hold n (vector-friendly rounding and float→int).
        let magic = V(repeating: 12_582_912.0)
        let t = xc * 1.44269504088896341 + magic
        let n = t - magic
        var r = xc - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * r * r + r + 1
        // 2^n through the exponent bits.
        let biased = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127
        return p * unsafeBitCast(biased &<< 23, to: V.self)
    }

    /// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
    @inline(__always)
    public static func erf(_ x: V) -> V {
        let ax = x.replacing(with: -x, where: x .< 0)
        let one = V(repeating: 1)
        let t = one / (one + ax * 0.3275911)
        var y = V(repeating: 1.061405429)
        y = y * t - 1.453152027
        y = y * t + 1.421413741
        y = y * t - 0.284496736
        y = y * t + 0.254829592
        y = y * t
        let r = one - y * Self.exp(-(ax * ax))
        return r.replacing(with: -r, where: x .< 0)
    }

    /// GELU as BERT defines it: 0.5·x·(1 + erf(x/√2)).
    public static func gelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count / 8, minChunk: 2048) { r in
            for i in r {
                let q = p + i * 8
                let x = UnsafeRawPointer(q).loadUnaligned(as: V.self)
                let y = 0.5 * x * (1 + Self.erf(x * 0.7071067811865476))
                UnsafeMutableRawPointer(q).storeBytes(of: y, as: V.self)
            }
        }
        for i in (count / 8 * 8)..<count {
            let x = p[i]
            p[i] = 0.5 * x * (1 + Float(erfScalar(Double(x) * 0.7071067811865476)))
        }
    }

    /// quick_gelu as CLIP defines it: x·σ(1.702·x).
    public static func quickGelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count / 8, minChunk: 2048) { r in
            for i in r {
                let q = p + i * 8
                let x = UnsafeRawPointer(q).loadUnaligned(as: V.self)
                let y = x / (1 + Self.exp(-1.702 * x))
                UnsafeMutableRawPointer(q).storeBytes(of: y, as: V.self)
            }
        }
        for i in (count / 8 * 8)..<count {
            let x = p[i]
            p[i] = x / (1 + expf(-1.702 * x))
        }
    }

    @inline(__always)
    static func erfScalar(_ x: Double) -> Double {
        // Tail elements only; the libm call is fine here.
        return Foundation_erf(x)
    }

    /// In-place layer norm over each row of a (rows, n) matrix:
    /// (x − mean)/√(var + eps)·γ + β, with the biased variance as PyTorch uses.
    public static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        layerNorm(UnsafePointer(x), into: x, rows: rows, n: n, gamma: gamma, beta: beta, eps: eps)
    }

    /// Layer norm of each row of `src` (rows, n) written to `dst` (rows, n),
    /// which may be `src` itself: the copy and the norm in one pass over the
    /// cores instead of a copy on one core first.
    public static func layerNorm(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        Parallel.forEachChunk(rows, minChunk: 16) { range in
            for r in range {
                let row = src + r * n
                let out = dst + r * n
                var sum: Double = 0
                for i in 0..<n { sum += Double(row[i]) }
                let mean = Float(sum / Double(n))
                var sq: Double = 0
                for i in 0..<n { let d = row[i] - mean; sq += Double(d * d) }
                let inv = 1 / (Float(sq / Double(n)) + eps).squareRoot()
                for i in 0..<n { out[i] = (row[i] - mean) * inv * gamma[i] + beta[i] }
            }
        }
    }

    /// In-place row softmax of a (rows, n) matrix with leading dimension ld,
    /// over the first `valid(row)` columns; the rest of the row is set to 0
    /// (a causal mask without writing −∞).
    @inline(__always)
    public static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, n: Int, ld: Int, causal: Bool) {
        for r in 0..<rows {
            let row = s + r * ld
            let len = causal ? r + 1 : n
            var m = -Float.infinity
            for i in 0..<len where row[i] > m { m = row[i] }
            var sum: Float = 0
            var i = 0
            while i + 8 <= len {
                let v = Self.exp(UnsafeRawPointer(row + i).loadUnaligned(as: V.self) - m)
                UnsafeMutableRawPointer(row + i).storeBytes(of: v, as: V.self)
                sum += v.sum()
                i += 8
            }
            while i < len { let e = expf(row[i] - m); row[i] = e; sum += e; i += 1 }
            let inv = 1 / sum
            for j in 0..<len { row[j] *= inv }
            if len < n { for j in len..<n { row[j] = 0 } }
        }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func Foundation_erf(_ x: Double) -> Double { Glibc.erf(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func Foundation_erf(_ x: Double) -> Double { Darwin.erf(x) }
#endif
