import CBLAS
import Foundation
import Inference

/// The principal axes of a sample of rows, and a 4-bit grid on each: what
/// the first pass of a large search reads (64 B a row at 128 axes, against
/// 1,536 B of float32).
///
/// Measured on 1.33M rows of the bench's library (bench/search_candidates.py,
/// exact final scores; bench/RESULTS.md): 128 axes at 4 bits keep the true
/// top 10 within the first 2,000 rows for short-text queries (recall 1.000),
/// where 64 axes at 8 bits (same bytes) reach 0.983 with 4,000: a
/// coordinate's variance matters more than its precision.
struct Projection {
    let dimension: Int
    /// Axes kept, a multiple of 16 (those past the real axes have zero weight).
    let axes: Int
    /// (axes, dimension) row-major: the principal axes, largest variance first.
    let basis: [Float]
    /// (axes): basis · mean, so that a row's coordinates are basis · (v − mean).
    let centre: [Float]
    /// (axes): code c (0...15) stands for low + c · step; the grid spans ±2.5 σ.
    let low: [Float]
    let step: [Float]

    static let clip: Float = 2.5

    /// PCA of `count` rows (count, dimension): the covariance through BLAS,
    /// its top `wanted` eigenvectors through LAPACK's ssyevr.
    init(sample: UnsafePointer<Float>, count: Int, dimension d: Int, axes wanted: Int) {
        precondition(count > 0 && d > 0)
        dimension = d
        let real = min(wanted, d)
        axes = (real + 15) / 16 * 16
        var mean = [Float](repeating: 0, count: d)
        for r in 0..<count { for i in 0..<d { mean[i] += sample[r * d + i] } }
        for i in 0..<d { mean[i] /= Float(count) }
        // (d, d) covariance: Xᵀ X / n − mean meanᵀ.
        var cov = [Float](repeating: 0, count: d * d)
        cov.withUnsafeMutableBufferPointer { c in
            BLAS.gemm(MatrixRef(sample, rows: count, cols: d), transposeA: true, MatrixRef(sample, rows: count, cols: d),
                      MutableMatrixRef(c.baseAddress!, rows: d, cols: d), alpha: 1 / Float(count))
        }
        for i in 0..<d { for j in 0..<d { cov[i * d + j] -= mean[i] * mean[j] } }
        let (values, vectors) = Self.topEigen(&cov, d, real)
        // (axes, d): rows of `vectors` are eigenvectors, ascending; largest first here.
        var basis = [Float](repeating: 0, count: axes * d)
        var low = [Float](repeating: 0, count: axes), step = [Float](repeating: 1, count: axes)
        for a in 0..<real {
            let src = real - 1 - a
            for i in 0..<d { basis[a * d + i] = vectors[src * d + i] }
            let sigma = max(values[src], 0).squareRoot()
            if sigma > 0 { low[a] = -Self.clip * sigma; step[a] = 2 * Self.clip * sigma / 15 }
        }
        var centre = [Float](repeating: 0, count: axes)
        for a in 0..<axes { for i in 0..<d { centre[a] += basis[a * d + i] * mean[i] } }
        self.basis = basis; self.centre = centre; self.low = low; self.step = step
    }

    /// The `m` largest eigenpairs of the symmetric (n, n) matrix `a`
    /// (destroyed): eigenvalues ascending, eigenvectors as rows (m, n).
    private static func topEigen(_ a: inout [Float], _ n: Int, _ m: Int) -> ([Float], [Float]) {
        var jobz = CChar(UInt8(ascii: "V")), range = CChar(UInt8(ascii: "I")), uplo = CChar(UInt8(ascii: "U"))
        var nn = Int32(n), lda = Int32(n), il = Int32(n - m + 1), iu = Int32(n), found: Int32 = 0, ldz = Int32(n)
        var vl: Float = 0, vu: Float = 0, abstol: Float = 0, info: Int32 = 0
        var values = [Float](repeating: 0, count: n), vectors = [Float](repeating: 0, count: n * m)
        var support = [Int32](repeating: 0, count: 2 * m)
        var lwork: Int32 = -1, liwork: Int32 = -1, workSize: Float = 0, iworkSize: Int32 = 0
        ssyevr_(&jobz, &range, &uplo, &nn, &a, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz,
                &support, &workSize, &lwork, &iworkSize, &liwork, &info)
        lwork = Int32(workSize); liwork = iworkSize
        var work = [Float](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        ssyevr_(&jobz, &range, &uplo, &nn, &a, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &vectors, &ldz,
                &support, &work, &lwork, &iwork, &liwork, &info)
        precondition(info == 0 && Int(found) == m, "ssyevr: info \(info), \(found) of \(m) eigenpairs")
        return (Array(values.prefix(m)), vectors)   // column-major (n, m) = row-major (m, n)
    }

    /// Coordinates of `count` rows (count, dimension) into `out` (count, axes).
    func project(_ rows: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>, parallel: Bool) {
        basis.withUnsafeBufferPointer { b in
            BLAS.gemm(MatrixRef(rows, rows: count, cols: dimension), MatrixRef(b.baseAddress!, rows: axes, cols: dimension),
                      transposeB: true, MutableMatrixRef(out, rows: count, cols: axes), parallel: parallel)
        }
        for r in 0..<count { for a in 0..<axes { out[r * axes + a] -= centre[a] } }
    }

    /// The codes of 16 coordinates of axes a..<a+16, rounded to nearest
    /// (the float trick of `PreciseCodes.rounded`) and clamped to 0...15.
    @inline(__always)
    static func gridCodes(_ x: SIMD16<Float>, low: SIMD16<Float>, inverseStep: SIMD16<Float>) -> SIMD16<Int32> {
        let g = (x - low) * inverseStep
        let c = g.replacing(with: 15, where: g .> 15).replacing(with: 0, where: g .< 0)
        return SIMD16<Int32>(truncatingIfNeeded: unsafeBitCast(c + SIMD16(repeating: 12_582_912), to: SIMD16<UInt32>.self)) &- 0x4B40_0000
    }

    /// Integer weights of a unit query (dimension) for the scan, (axes, 16):
    /// score ∝ Σ weight[a] · code[a] + a constant, each weight written 16
    /// times (one 16-lane load per axis in the scan, not a broadcast);
    /// |weight| ≤ 127, so 16 products of a code (≤ 15) add up within Int16.
    func weights(_ query: UnsafePointer<Float>, into out: UnsafeMutablePointer<Int16>) {
        var w = [Float](repeating: 0, count: axes)
        var largest: Float = 0
        for a in 0..<axes {
            var s: Float = 0
            for i in 0..<dimension { s += basis[a * dimension + i] * query[i] }
            w[a] = s * step[a]
            largest = max(largest, abs(w[a]))
        }
        let unit = largest > 0 ? 127 / largest : 0
        for a in 0..<axes {
            let v = Int16((w[a] * unit).rounded())
            for t in 0..<16 { out[a * 16 + t] = v }
        }
    }
}

/// Every row's 4-bit coordinates on a `Projection`, laid out for the scan:
/// blocks of 32 rows, and in a block, for each axis, 16 bytes whose byte b
/// holds row b's code (low nibble) and row b + 16's (high nibble). A block
/// is (axes, 16) bytes; the scan reads each once and scores 32 rows with
/// 16-lane integer multiply-adds (SSE2 on any x86-64).
final class ProjectedCodes {
    static let blockRows = 32
    private(set) var projection: Projection
    /// Rows (a multiple of 32).
    private(set) var capacity = 0
    /// (capacity / 32, axes, 16).
    private(set) var codes: UnsafeMutablePointer<UInt8>
    /// (axes): 1 / step of the projection.
    private var inverseSteps: [Float]
    private static let chunk = 1024

    init(projection: Projection) {
        self.projection = projection
        codes = calloc(1, 1)!.assumingMemoryBound(to: UInt8.self)
        inverseSteps = projection.step.map { 1 / $0 }
    }

    deinit { free(codes) }

    var axes: Int { projection.axes }
    var blockBytes: Int { projection.axes * 16 }

    func reserve(_ rows: Int) {
        let rows = (rows + 31) / 32 * 32
        guard rows > capacity else { return }
        // calloc: zeroed pages that stay out of memory until a row is written.
        let bigger = calloc(rows / 32 * blockBytes, 1)!.assumingMemoryBound(to: UInt8.self)
        bigger.update(from: codes, count: capacity / 32 * blockBytes)
        free(codes)
        codes = bigger
        capacity = rows
    }

    /// A new projection: every row must be coded again (`encode`).
    func replaceProjection(_ p: Projection) {
        precondition(p.axes == projection.axes)
        projection = p
        inverseSteps = p.step.map { 1 / $0 }
    }

    @inline(__always)
    private func place(_ row: Int, axis a: Int) -> (UnsafeMutablePointer<UInt8>, UInt8) {
        let lane = row % 32
        return (codes + (row / 32) * blockBytes + a * 16 + lane % 16, lane < 16 ? 0 : 4)
    }

    /// Codes rows `first..<first + count` from their float values (count,
    /// dimension). Ranges that share no block of 32 rows may be coded from
    /// several threads at once (`parallel: false` then).
    func encode(_ rows: UnsafePointer<Float>, count: Int, at first: Int, parallel: Bool = true) {
        precondition(first + count <= capacity)
        let m = axes, d = projection.dimension
        let chunk = min(Self.chunk, count)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk * m) { buffer in
            let c = buffer.baseAddress!   // (chunk, axes) coordinates
            projection.low.withUnsafeBufferPointer { lowp in
                inverseSteps.withUnsafeBufferPointer { invp in
                    let low = UnsafeRawPointer(lowp.baseAddress!), inv = UnsafeRawPointer(invp.baseAddress!)
                    var done = 0
                    while done < count {
                        let n = min(chunk, count - done)
                        projection.project(rows + done * d, count: n, into: c, parallel: parallel)
                        let x = UnsafeRawPointer(c)
                        for r in 0..<n {
                            for a in stride(from: 0, to: m, by: 16) {
                                let codes = Projection.gridCodes(x.loadUnaligned(fromByteOffset: (r * m + a) * 4, as: SIMD16<Float>.self),
                                                       low: low.loadUnaligned(fromByteOffset: a * 4, as: SIMD16<Float>.self),
                                                       inverseStep: inv.loadUnaligned(fromByteOffset: a * 4, as: SIMD16<Float>.self))
                                for t in 0..<16 { store(first + done + r, axis: a + t, UInt8(truncatingIfNeeded: codes[t])) }
                            }
                        }
                        done += n
                    }
                }
            }
        }
    }

    @inline(__always)
    private func store(_ row: Int, axis a: Int, _ code: UInt8) {
        let (p, shift) = place(row, axis: a)
        p.pointee = (p.pointee & ~(15 << shift)) | (code << shift)
    }

    func copy(_ from: Int, to: Int) {
        for a in 0..<axes {
            let (p, shift) = place(from, axis: a)
            store(to, axis: a, (p.pointee >> shift) & 15)
        }
    }

    /// Scores the rows of `blocks` (rows ≥ `rows` are padding) and keeps
    /// the best `keep` of those `admit` accepts, as keys (score, row) packed
    /// so that a larger key is a better row (`Candidates`), in `buffer`
    /// (room for 2 · keep). Returns how many keys it holds: the best `keep`
    /// among them, fewer than 2 · keep in all.
    func scan(blocks: Range<Int>, rows: Int, weights: UnsafePointer<Int16>, keep: Int,
              buffer: UnsafeMutablePointer<UInt64>, admit: (Int) -> Bool) -> Int {
        let m = axes, bytes = blockBytes
        var count = 0
        var threshold = Int32.min
        for b in blocks {
            let base = UnsafeRawPointer(codes + b * bytes)
            var acc0 = SIMD16<Int32>(repeating: 0), acc1 = SIMD16<Int32>(repeating: 0)
            var a = 0
            while a < m {
                var s0 = SIMD16<Int16>(repeating: 0), s1 = SIMD16<Int16>(repeating: 0)
                for j in a..<(a + 16) {
                    let v = base.loadUnaligned(fromByteOffset: j * 16, as: SIMD16<UInt8>.self)
                    let w = UnsafeRawPointer(weights).loadUnaligned(fromByteOffset: j * 32, as: SIMD16<Int16>.self)
                    s0 &+= SIMD16<Int16>(truncatingIfNeeded: v & 15) &* w
                    s1 &+= SIMD16<Int16>(truncatingIfNeeded: v &>> 4) &* w
                }
                acc0 &+= SIMD16<Int32>(truncatingIfNeeded: s0)
                acc1 &+= SIMD16<Int32>(truncatingIfNeeded: s1)
                a += 16
            }
            let t = SIMD16<Int32>(repeating: threshold)
            guard any(acc0 .> t) || any(acc1 .> t) else { continue }
            for lane in 0..<32 {
                let score = lane < 16 ? acc0[lane] : acc1[lane - 16]
                let row = b * 32 + lane
                guard score > threshold, row < rows, admit(row) else { continue }
                buffer[count] = Candidates.key(score: score, row: row)
                count += 1
                if count == 2 * keep {
                    count = Candidates.keepBest(buffer, count: count, keep: keep)
                    threshold = Candidates.score(buffer[keep - 1])
                }
            }
        }
        return count
    }
}

/// Rows found by a scan, as UInt64 keys: the biased score in the high
/// half, the row in the low half, so a larger key is a better row.
enum Candidates {
    @inline(__always)
    static func key(score: Int32, row: Int) -> UInt64 {
        UInt64(UInt32(bitPattern: score) ^ 0x8000_0000) << 32 | UInt64(UInt32(truncatingIfNeeded: row))
    }

    @inline(__always)
    static func score(_ key: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: key >> 32) ^ 0x8000_0000) }

    @inline(__always)
    static func row(_ key: UInt64) -> Int { Int(UInt32(truncatingIfNeeded: key)) }

    /// Moves the best `keep` of `count` keys to the front (in no order;
    /// the one at keep − 1 is the worst of them) and returns how many there
    /// are: Hoare's quickselect, O(count), no allocation.
    static func keepBest(_ keys: UnsafeMutablePointer<UInt64>, count: Int, keep: Int) -> Int {
        guard keep < count else { return count }
        let keys = UnsafeMutableBufferPointer(start: keys, count: count)
        var lo = 0, hi = count - 1
        let target = keep - 1
        while lo < hi {
            let pivot = median(keys[lo], keys[(lo + hi) / 2], keys[hi])
            var i = lo, j = hi
            while i <= j {   // descending: larger keys to the left
                while keys[i] > pivot { i += 1 }
                while keys[j] < pivot { j -= 1 }
                if i <= j { keys.swapAt(i, j); i += 1; j -= 1 }
            }
            if target <= j { hi = j } else if target >= i { lo = i } else { break }
        }
        return keep
    }

    @inline(__always)
    private static func median(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        max(min(a, b), min(max(a, b), c))
    }
}
