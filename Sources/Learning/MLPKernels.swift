import Foundation
import Inference

/// The element-wise and matrix pieces an MLP head is made of, shared by
/// inference (`MLPHead.predict`), validation and training, so all three
/// compute the same function. Row-major throughout; every product is a
/// `BLAS.gemm`.
enum MLPKernels {
    typealias V = SIMD8<Float>

    /// PyTorch's BatchNorm1d defaults.
    static let batchNormEpsilon: Float = 1e-5
    static let batchNormMomentum: Float = 0.1

    /// y (rows, out) = x (rows, fanIn) · Wᵀ + b, with W (out, fanIn) as `nn.Linear` stores it.
    @inline(__always)
    static func linear(_ x: UnsafePointer<Float>, rows: Int, fanIn: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, out: Int,
                       into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (y + r * out).update(from: bias, count: out) }
        BLAS.gemm(MatrixRef(x, rows: rows, cols: fanIn), MatrixRef(weight, rows: out, cols: fanIn), transposeB: true,
                  MutableMatrixRef(y, rows: rows, cols: out), beta: 1)
    }

    /// Exact (erf) GELU in place: 0.5·z·(1 + erf(z/√2)).
    @inline(__always)
    static func gelu(_ p: UnsafeMutablePointer<Float>, count: Int) {
        MathKernels.gelu(p, count: count)
    }

    /// grad ← grad · GELU′(z), GELU′(z) = Φ(z) + z·φ(z).
    static func geluBackward(_ grad: UnsafeMutablePointer<Float>, preActivation z: UnsafePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.7071067811865476, invSqrt2Pi: Float = 0.3989422804014327
        let groups = count / 8
        Parallel.forEachChunk(groups, minChunk: 2048) { range in
            for i in range {
                let zv = UnsafeRawPointer(z + i * 8).loadUnaligned(as: V.self)
                let g = UnsafeRawPointer(grad + i * 8).loadUnaligned(as: V.self)
                let cdf = 0.5 * (1 + MathKernels.erf(zv * invSqrt2))
                let pdf = MathKernels.exp(-0.5 * zv * zv) * invSqrt2Pi
                UnsafeMutableRawPointer(grad + i * 8).storeBytes(of: g * (cdf + zv * pdf), as: V.self)
            }
        }
        for i in (groups * 8)..<count {
            let v = z[i]
            let cdf = 0.5 * (1 + Float(Foundation.erf(Double(v * invSqrt2))))
            grad[i] *= cdf + v * expf(-0.5 * v * v) * invSqrt2Pi
        }
    }

    /// Each row of x (rows, cols) scaled to unit length (a zero row stays zero).
    static func normalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        VectorMath.l2NormalizeRows(x, rows: rows, cols: cols)
    }

    /// σ(l), stable for either sign.
    @inline(__always)
    static func sigmoid(_ l: Float) -> Float {
        if l >= 0 { return 1 / (1 + expf(-l)) }
        let e = expf(l)
        return e / (1 + e)
    }

    /// out (cols) = Σ over rows of x (rows, cols).
    @inline(__always)
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: cols)
        for r in 0..<rows {
            let row = x + r * cols
            for j in 0..<cols { out[j] += row[j] }
        }
    }

    /// Scratch for eval-mode forward passes over `rows` rows at a time.
    final class EvalScratch {
        let rows: Int
        let a: FloatBuffer       // (rows, widest hidden)
        let b: FloatBuffer       // (rows, widest hidden)
        let scale: FloatBuffer   // (widest hidden)
        let shift: FloatBuffer   // (widest hidden)

        init(layout: MLPLayout, rows: Int) {
            BLAS.useCallerThreads   // revsd splits products over the cores itself
            let wide = layout.hidden.max() ?? 1
            self.rows = max(1, rows)
            a = FloatBuffer(count: self.rows * wide); b = FloatBuffer(count: self.rows * wide)
            scale = FloatBuffer(count: wide); shift = FloatBuffer(count: wide)
        }
    }

    /// The head in eval mode (BatchNorm from running statistics, no dropout)
    /// on x (rows, inputs): unit embeddings (rows, outputs) and, when asked
    /// and the head has one, keyword probabilities (rows, keywords). Works in
    /// chunks of `scratch.rows`; allocates nothing.
    static func evaluate(_ layout: MLPLayout, parameters p: UnsafePointer<Float>, statistics s: UnsafePointer<Float>,
                         x: UnsafePointer<Float>, rows: Int, scratch: EvalScratch,
                         embeddings: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>?) {
        let d = layout.outputs, m = layout.keywords
        var start = 0
        while start < rows {
            let n = min(scratch.rows, rows - start)
            var input = UnsafePointer(x + start * layout.inputs)   // (n, width)
            var width = layout.inputs
            var intoA = true
            for block in layout.blocks {
                let h = block.width
                let out = intoA ? scratch.a.pointer : scratch.b.pointer   // (n, h)
                linear(input, rows: n, fanIn: width, weight: p + block.weight, bias: p + block.bias, out: h, into: out)
                gelu(out, count: n * h)
                // BatchNorm with running statistics folded into one scale and shift.
                let scale = scratch.scale.pointer, shift = scratch.shift.pointer
                for j in 0..<h {
                    scale[j] = p[block.gamma + j] / (s[block.variance + j] + batchNormEpsilon).squareRoot()
                    shift[j] = p[block.beta + j] - s[block.mean + j] * scale[j]
                }
                for r in 0..<n {
                    let row = out + r * h
                    for j in 0..<h { row[j] = row[j] * scale[j] + shift[j] }
                }
                input = UnsafePointer(out); width = h; intoA.toggle()
            }
            let o = embeddings + start * d   // (n, outputs), raw until normalised below
            linear(input, rows: n, fanIn: width, weight: p + layout.outputWeight, bias: p + layout.outputBias, out: d, into: o)
            if let probabilities, m > 0 {
                let l = probabilities + start * m   // (n, keywords)
                linear(o, rows: n, fanIn: d, weight: p + layout.keywordWeight, bias: p + layout.keywordBias, out: m, into: l)
                for i in 0..<(n * m) { l[i] = sigmoid(l[i]) }
            }
            normalizeRows(o, rows: n, cols: d)
            start += n
        }
    }
}
