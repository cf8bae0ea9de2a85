import CBLAS

/// A row-major matrix view: `rows` × `cols` with leading dimension `ld`.
public struct MatrixRef {
    public var pointer: UnsafePointer<Float>
    public var rows: Int
    public var cols: Int
    public var ld: Int

    public init(_ pointer: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        self.pointer = pointer; self.rows = rows; self.cols = cols; self.ld = ld ?? cols
    }
}

public struct MutableMatrixRef {
    public var pointer: UnsafeMutablePointer<Float>
    public var rows: Int
    public var cols: Int
    public var ld: Int

    public init(_ pointer: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
        self.pointer = pointer; self.rows = rows; self.cols = cols; self.ld = ld ?? cols
    }
}

/// The one matrix-multiply entry point of revsd: `cblas_sgemm`, with shapes
/// checked before the call (a wrong shape is a programmer error).
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, row-major.
    /// op(A) is `rows(C)` × k and op(B) is k × `cols(C)`.
    @inline(__always)
    public static func gemm(_ a: MatrixRef, transposeA: Bool = false,
                            _ b: MatrixRef, transposeB: Bool = false,
                            _ c: MutableMatrixRef, alpha: Float = 1, beta: Float = 0, parallel: Bool = true) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "gemm: inner dimensions \(k) and \(kb) differ")
        precondition(c.rows == m && c.cols == n, "gemm: C is \(c.rows)x\(c.cols), expected \(m)x\(n)")
        precondition(a.ld >= a.cols && b.ld >= b.cols && c.ld >= c.cols, "gemm: leading dimension too small")
        if m == 0 || n == 0 { return }
        // Split the product over the threads `Parallel.width` allows now
        // when it is big enough to pay for the hop (OpenBLAS itself runs
        // single-threaded: see `BLAS.useCallerThreads`): by output columns
        // when there are enough of them, else by rows (a 1×1 convolution
        // to 16 or 24 channels over 12,544 pixels is tall and narrow).
        let width = parallel ? Parallel.width : 1
        if width > 1 && m * n * k >= 1 << 18 {
            if n >= 32 {
                let parts = min(width, n / 16)
                let per = ((n + parts - 1) / parts + 15) / 16 * 16
                Parallel.forEachChunk(parts, minChunk: 1) { range in
                    for part in range {
                        let lo = part * per
                        let hi = min(n, lo + per)
                        if lo >= hi { continue }
                        let bPart = transposeB ? MatrixRef(b.pointer + lo * b.ld, rows: hi - lo, cols: b.cols, ld: b.ld)
                                               : MatrixRef(b.pointer + lo, rows: b.rows, cols: hi - lo, ld: b.ld)
                        let cPart = MutableMatrixRef(c.pointer + lo, rows: c.rows, cols: hi - lo, ld: c.ld)
                        gemm(a, transposeA: transposeA, bPart, transposeB: transposeB, cPart, alpha: alpha, beta: beta, parallel: false)
                    }
                }
                return
            }
            if m >= 64 * width {
                let per = ((m + width - 1) / width + 7) / 8 * 8
                Parallel.forEachChunk(width, minChunk: 1) { range in
                    for part in range {
                        let lo = part * per
                        let hi = min(m, lo + per)
                        if lo >= hi { continue }
                        let aPart = transposeA ? MatrixRef(a.pointer + lo, rows: a.rows, cols: hi - lo, ld: a.ld)
                                               : MatrixRef(a.pointer + lo * a.ld, rows: hi - lo, cols: a.cols, ld: a.ld)
                        let cPart = MutableMatrixRef(c.pointer + lo * c.ld, rows: hi - lo, cols: c.cols, ld: c.ld)
                        gemm(aPart, transposeA: transposeA, b, transposeB: transposeB, cPart, alpha: alpha, beta: beta, parallel: false)
                    }
                }
                return
            }
        }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k),
                    alpha, a.pointer, Int32(a.ld), b.pointer, Int32(b.ld),
                    beta, c.pointer, Int32(c.ld))
    }

    /// y(n, out) = x(n, in) · Wᵀ + bias, with W stored (out, in) as PyTorch's
    /// `nn.Linear` does: the weight is used in place, never transposed.
    public static func linear(_ x: MatrixRef, weight: FloatTensor, bias: FloatTensor?, into y: MutableMatrixRef) {
        precondition(weight.shape.count == 2, "linear: weight must be 2-D, got \(weight.shape)")
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        precondition(x.cols == inF && y.cols == outF && y.rows == x.rows,
                     "linear: x \(x.rows)x\(x.cols), W \(weight.shape), y \(y.rows)x\(y.cols)")
        var beta: Float = 0
        if let bias {
            precondition(bias.count == outF, "linear: bias has \(bias.count) values, expected \(outF)")
            for r in 0..<y.rows {
                (y.pointer + r * y.ld).update(from: bias.pointer, count: outF)
            }
            beta = 1
        }
        gemm(x, MatrixRef(weight.pointer, rows: outF, cols: inF), transposeB: true, y, beta: beta)
    }

    /// Threads OpenBLAS uses inside one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// revsd parallelises matrix products itself (`gemm` splits the output
    /// over `Parallel.cores` threads of one pool), so OpenBLAS runs each call
    /// on the calling thread. Two thread pools on few cores spin and yield
    /// against each other (measured: a fifth of the time at batch 1).
    public static let useCallerThreads: Void = {
        openblas_set_num_threads(1)
    }()
}
