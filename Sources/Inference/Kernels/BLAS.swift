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

extension MatrixRef {
    /// The columns `cols` of op(self): of self when not transposed, of its
    /// rows when it is used transposed.
    @inline(__always)
    func columns(_ cols: Range<Int>, transposed: Bool) -> MatrixRef {
        transposed ? MatrixRef(pointer + cols.lowerBound * ld, rows: cols.count, cols: self.cols, ld: ld)
                   : MatrixRef(pointer + cols.lowerBound, rows: rows, cols: cols.count, ld: ld)
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

extension MutableMatrixRef {
    /// The columns `cols`, all rows.
    @inline(__always)
    func columns(_ cols: Range<Int>) -> MutableMatrixRef {
        MutableMatrixRef(pointer + cols.lowerBound, rows: rows, cols: cols.count, ld: ld)
    }
}

/// The one matrix-multiply entry point of revsd: `cblas_sgemm` (`cblas_sgemv`
/// for a single row), with shapes checked before the call (a wrong shape is
/// a programmer error).
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
        if m == 1 {
            // One row (a pooled feature vector through a classifier or a
            // head): a matrix-vector product. OpenBLAS 0.3.21's sgemm packs
            // all of B even for one row; for EfficientNet's 1,280 × 1,000
            // classifier sgemv took a fifth of sgemm's time (one core, measured).
            let incX = Int32(transposeA ? a.ld : 1)
            cblas_sgemv(CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans,
                        Int32(b.rows), Int32(b.cols), alpha, b.pointer, Int32(b.ld), a.pointer, incX, beta, c.pointer, 1)
            return
        }
        if parallel && columnParts(m: m, n: n, k: k) > 1 {
            forEachColumnPart(m: m, n: n, k: k) { cols in
                gemm(a, transposeA: transposeA, b.columns(cols, transposed: transposeB), transposeB: transposeB,
                     c.columns(cols), alpha: alpha, beta: beta, parallel: false)
            }
            return
        }
        // Too few output columns to split (a 1×1 convolution to 16 or 24
        // channels over 12,544 pixels is tall and narrow): split the rows.
        let width = parallel ? Parallel.width : 1
        if width > 1 && m * n * k >= 1 << 18 && m >= 64 * width {
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
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k),
                    alpha, a.pointer, Int32(a.ld), b.pointer, Int32(b.ld),
                    beta, c.pointer, Int32(c.ld))
    }

    /// y(n, out) = x(n, in) · Wᵀ + bias (+ residual), with W stored (out, in)
    /// as PyTorch's `nn.Linear` does: the weight is used in place, never
    /// transposed. `residual` (n, out), dense, may alias y. The output columns
    /// are split over the cores; each fills its own columns of y with bias
    /// (+ residual) right before its part of the product (beta = 1), so no
    /// pass over y runs on one core alone, then calls `epilogue` on each row's
    /// piece of its columns (an activation, applied while they are in cache).
    public static func linear(_ x: MatrixRef, weight: FloatTensor, bias: FloatTensor?,
                              residual: UnsafePointer<Float>? = nil, into y: MutableMatrixRef,
                              epilogue: (UnsafeMutablePointer<Float>, Int) -> Void = { _, _ in }) {
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        if columnParts(m: x.rows, n: outF, k: inF) > 1 {
            forEachColumnPart(m: x.rows, n: outF, k: inF) { cols in
                linear(x, weight: weight, bias: bias, residual: residual, into: y, columns: cols, epilogue: epilogue)
            }
        } else {
            linear(x, weight: weight, bias: bias, residual: residual, into: y, columns: 0..<outF, epilogue: epilogue)
        }
    }

    /// The columns `columns` of `linear`'s y, on the calling thread: for
    /// callers that split several products over the cores in one hop.
    static func linear(_ x: MatrixRef, weight: FloatTensor, bias: FloatTensor?,
                       residual: UnsafePointer<Float>?, into y: MutableMatrixRef, columns cols: Range<Int>,
                       epilogue: (UnsafeMutablePointer<Float>, Int) -> Void = { _, _ in }) {
        precondition(weight.shape.count == 2, "linear: weight must be 2-D, got \(weight.shape)")
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        precondition(x.cols == inF && y.cols == outF && y.rows == x.rows && cols.upperBound <= outF,
                     "linear: x \(x.rows)x\(x.cols), W \(weight.shape), y \(y.rows)x\(y.cols), columns \(cols)")
        if let bias { precondition(bias.count == outF, "linear: bias has \(bias.count) values, expected \(outF)") }
        if cols.isEmpty { return }
        let w = MatrixRef(weight.pointer, rows: outF, cols: inF)
        let b = bias?.pointer
        let beta: Float = (bias != nil || residual != nil) ? 1 : 0
        if beta != 0 {
            let lo = cols.lowerBound
            for r in 0..<y.rows {
                fillRow(y.pointer + r * y.ld + lo, count: cols.count, bias: b.map { $0 + lo }, residual: residual.map { $0 + r * outF + lo })
            }
        }
        gemm(x, w.columns(cols, transposed: true), transposeB: true, y.columns(cols), beta: beta, parallel: false)
        for r in 0..<y.rows { epilogue(y.pointer + r * y.ld + cols.lowerBound, cols.count) }
    }

    /// `count` floats of an output row set to `bias` + `residual` (either
    /// may be nil, both nil: zeros): what a product with beta = 1 then adds
    /// onto, so OpenBLAS neither zeroes the row nor needs a second pass over
    /// it for the bias. Four lanes at a time: rows are as short as 16
    /// channels, too short for a copy call each. `residual` may alias `y`.
    @inline(__always)
    static func fillRow(_ y: UnsafeMutablePointer<Float>, count: Int, bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?) {
        var j = 0
        func load(_ p: UnsafePointer<Float>, _ j: Int) -> SIMD4<Float> { UnsafeRawPointer(p + j).loadUnaligned(as: SIMD4<Float>.self) }
        switch (bias, residual) {
        case let (b?, r?):
            while j &+ 4 <= count { UnsafeMutableRawPointer(y + j).storeBytes(of: load(r, j) + load(b, j), as: SIMD4<Float>.self); j &+= 4 }
            while j < count { y[j] = r[j] + b[j]; j &+= 1 }
        case let (b?, nil):
            while j &+ 4 <= count { UnsafeMutableRawPointer(y + j).storeBytes(of: load(b, j), as: SIMD4<Float>.self); j &+= 4 }
            while j < count { y[j] = b[j]; j &+= 1 }
        case let (nil, r?):
            while j &+ 4 <= count { UnsafeMutableRawPointer(y + j).storeBytes(of: load(r, j), as: SIMD4<Float>.self); j &+= 4 }
            while j < count { y[j] = r[j]; j &+= 1 }
        case (nil, nil):
            y.update(repeating: 0, count: count)
        }
    }

    /// How many parts the output columns of an m×n×k product are split into:
    /// one per thread `Parallel.width` allows now when the product is big
    /// enough to pay for the hop (OpenBLAS itself runs single-threaded: see
    /// `BLAS.useCallerThreads`).
    @inline(__always)
    static func columnParts(m: Int, n: Int, k: Int) -> Int {
        let width = Parallel.width
        guard width > 1 && m * n * k >= 1 << 18 && n >= 32 else { return 1 }
        return min(width, n / 16)
    }

    /// Calls `body(columns)` for each part of 0..<n, on the cores in parallel;
    /// the parts are multiples of 16 columns (the kernels' panel width).
    @inline(__always)
    static func forEachColumnPart(m: Int, n: Int, k: Int, _ body: (Range<Int>) -> Void) {
        let parts = columnParts(m: m, n: n, k: k)
        let per = ((n + parts - 1) / parts + 15) / 16 * 16
        Parallel.forEachChunk(parts, minChunk: 1) { range in
            for part in range {
                let lo = part * per
                let hi = min(n, lo + per)
                if lo < hi { body(lo..<hi) }
            }
        }
    }

    /// Threads OpenBLAS uses inside one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// revsd parallelises matrix products itself (`gemm` splits the output
    /// over `Parallel.width` threads of one pool), so OpenBLAS runs each call
    /// on the calling thread. Two thread pools on few cores spin and yield
    /// against each other (measured: a fifth of the time at batch 1).
    public static let useCallerThreads: Void = {
        openblas_set_num_threads(1)
    }()
}
