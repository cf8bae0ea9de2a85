import Foundation
import Inference

/// The vectors of a `SearchIndex`'s rows, row r for r in 0..<count (the
/// index keeps its rows dense and moves the last row into a removed one's
/// place). Two forms:
/// - below `approximateAbove` rows, float32 in one (rows, d) matrix, which
///   the index scans exactly through BLAS (1,536 B a row);
/// - from there on (and until `removeAll`), two codes per row and no float32:
///   `ProjectedCodes` (4-bit coordinates on 128 principal axes, 64 B), which
///   a search scans in full to find its best few thousand rows, and
///   `PreciseCodes` (12 bits a component, 580 B), which scores those rows
///   for the result. 644 B a row in all: 0.86 GB at a million images
///   (1.33 rows each), against 2.05 GB of float32.
///
/// The principal axes are computed from (up to 65,536 of) the rows when the
/// index switches, and again each time the row count has grown fourfold
/// since, so that they follow a library that grows from a first folder to
/// the whole collection (every row's projected code is computed again then:
/// at most 1/3 more work in all than coding each row once, where retraining
/// at each doubling would cost as much again); the precise codes never change
/// when they are (their mean is fixed at the switch), so a retraining loses
/// nothing.
///
/// Not thread-safe: the index's lock guards it.
final class RowVectors {
    let dimension: Int
    /// Rows from which the index is approximate.
    let approximateAbove: Int
    private(set) var count = 0

    /// Small: (exactCapacity, dimension), row-major.
    private(set) var exact: UnsafeMutablePointer<Float>
    private var exactCapacity = 0

    /// Large.
    private(set) var precise: PreciseCodes?
    private(set) var projected: ProjectedCodes?
    /// Rows when the axes were last computed.
    private var rowsAtTraining = 0
    private var capacity = 0

    static let axes = 128
    static let sampleRows = 65_536

    /// Scratch of the approximate search (ApproximateScan.swift), sized on first use.
    let scratch = ScanScratch()

    init(dimension: Int, approximateAbove: Int) {
        self.dimension = dimension
        self.approximateAbove = max(1, approximateAbove)
        exact = .allocate(capacity: 0)
    }

    deinit { exact.deallocate() }

    var isApproximate: Bool { precise != nil }

    /// Appends `rows` rows (rows, dimension).
    func append(_ v: UnsafePointer<Float>, rows n: Int) {
        guard n > 0 else { return }
        let d = dimension
        if !isApproximate {
            if count + n < approximateAbove {
                if count + n > exactCapacity {
                    let bigger = UnsafeMutablePointer<Float>.allocate(capacity: grown(exactCapacity, to: count + n) * d)
                    bigger.update(from: exact, count: count * d)
                    exact.deallocate()
                    exact = bigger
                    exactCapacity = grown(exactCapacity, to: count + n)
                }
                (exact + count * d).update(from: v, count: n * d)
                count += n
                return
            }
            becomeApproximate(adding: v, rows: n)
        } else if count + n > 4 * rowsAtTraining {
            trainAxes(adding: v, rows: n)
        }
        reserve(count + n)
        code(v, rows: n, at: count)
        count += n
    }

    /// Both codes of rows `first..<first + n` from `v` (n, dimension), the
    /// rows split over the cores at multiples of 32 (a block of projected
    /// codes is written by one thread).
    private func code(_ v: UnsafePointer<Float>, rows n: Int, at first: Int) {
        guard let precise, let projected else { return }
        let d = dimension
        forEachBlockAlignedPart(first..<(first + n)) { part in
            for r in part { precise.set(r, v + (r - first) * d) }
            projected.encode(v + (part.lowerBound - first) * d, count: part.count, at: part.lowerBound, parallel: false)
        }
    }

    /// `rows` cut into one part per core (or one part when small), the
    /// inner cuts at multiples of 32.
    private func forEachBlockAlignedPart(_ rows: Range<Int>, _ body: (Range<Int>) -> Void) {
        let parts = min(Parallel.cores, max(1, rows.count / 4096))
        Parallel.forEachChunk(parts, minChunk: 1) { range in
            for p in range {
                func cut(_ i: Int) -> Int {
                    i == 0 ? rows.lowerBound : i == parts ? rows.upperBound : (rows.lowerBound + rows.count * i / parts) / 32 * 32
                }
                let lo = max(rows.lowerBound, cut(p)), hi = min(rows.upperBound, cut(p + 1))
                if lo < hi { body(lo..<hi) }
            }
        }
    }

    func replace(_ row: Int, with v: UnsafePointer<Float>) {
        precondition(row < count)
        if let precise, let projected {
            precise.set(row, v)
            projected.encode(v, count: 1, at: row, parallel: false)
        } else {
            (exact + row * dimension).update(from: v, count: dimension)
        }
    }

    /// Moves the last row into `row` and drops the last.
    func removeByMovingLast(into row: Int) {
        precondition(row < count)
        let last = count - 1
        if row != last {
            if let precise, let projected {
                precise.copy(last, to: row)
                projected.copy(last, to: row)
            } else {
                (exact + row * dimension).update(from: exact + last * dimension, count: dimension)
            }
        }
        count -= 1
    }

    /// Back to an empty, exact index.
    func removeAll() {
        precise = nil; projected = nil
        exact.deallocate(); exact = .allocate(capacity: 0)
        exactCapacity = 0; capacity = 0; count = 0; rowsAtTraining = 0
    }

    /// Decoded rows `first..<first + n` into out (n, dimension).
    func decode(_ first: Int, _ n: Int, into out: UnsafeMutablePointer<Float>) {
        if let precise {
            for r in 0..<n { precise.decode(first + r, into: out + r * dimension) }
        } else {
            out.update(from: exact + first * dimension, count: n * dimension)
        }
    }

    /// What a row set to `v` (dimension values) would decode to now: `v`
    /// while exact, else its precise codes decoded (for checks).
    func held(_ v: [Float]) -> [Float] {
        guard let precise else { return v }
        let one = PreciseCodes(dimension: dimension, mean: Array(precise.mean.prefix(dimension)))
        one.reserve(1)
        var out = [Float](repeating: 0, count: dimension)
        v.withUnsafeBufferPointer { one.set(0, $0.baseAddress!) }
        out.withUnsafeMutableBufferPointer { one.decode(0, into: $0.baseAddress!) }
        return out
    }

    private func grown(_ old: Int, to needed: Int) -> Int { max(needed, old + old / 2, 1024) }

    private func reserve(_ rows: Int) {
        guard rows > capacity, let precise, let projected else { return }
        capacity = grown(capacity, to: rows)
        precise.reserve(capacity)
        projected.reserve(capacity)
    }

    /// Up to `sampleRows` rows spread evenly over the current rows and `n` new ones.
    private func sample(adding v: UnsafePointer<Float>, rows n: Int) -> (rows: [Float], count: Int) {
        let total = count + n, s = min(total, Self.sampleRows), d = dimension
        var out = [Float](repeating: 0, count: s * d)
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<s {
                let r = i * total / s
                if r < count { decode(r, 1, into: o.baseAddress! + i * d) } else { (o.baseAddress! + i * d).update(from: v + (r - count) * d, count: d) }
            }
        }
        return (out, s)
    }

    /// Leaves float32: both codes for every row, from a sample of the rows
    /// so far and `n` new ones (which the caller then codes).
    private func becomeApproximate(adding v: UnsafePointer<Float>, rows n: Int) {
        let d = dimension
        let (rows, s) = sample(adding: v, rows: n)
        var mean = [Float](repeating: 0, count: d)
        for i in 0..<s { for t in 0..<d { mean[t] += rows[i * d + t] } }
        for t in 0..<d { mean[t] /= Float(s) }
        let precise = PreciseCodes(dimension: d, mean: mean)
        let projection = rows.withUnsafeBufferPointer { Projection(sample: $0.baseAddress!, count: s, dimension: d, axes: Self.axes) }
        let projected = ProjectedCodes(projection: projection)
        self.precise = precise; self.projected = projected
        reserve(count + n)
        code(exact, rows: count, at: 0)
        exact.deallocate(); exact = .allocate(capacity: 0); exactCapacity = 0
        rowsAtTraining = count + n
    }

    /// New principal axes from a sample of the rows so far and `n` new
    /// ones; every current row's coordinates coded again.
    private func trainAxes(adding v: UnsafePointer<Float>, rows n: Int) {
        guard let projected else { return }
        let (rows, s) = sample(adding: v, rows: n)
        projected.replaceProjection(rows.withUnsafeBufferPointer {
            Projection(sample: $0.baseAddress!, count: s, dimension: dimension, axes: Self.axes)
        })
        let chunk = 1024, d = dimension
        forEachBlockAlignedPart(0..<count) { part in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: chunk * d) { buffer in   // (chunk, d)
                var first = part.lowerBound
                while first < part.upperBound {
                    let m = min(chunk, part.upperBound - first)
                    decode(first, m, into: buffer.baseAddress!)
                    projected.encode(buffer.baseAddress!, count: m, at: first, parallel: false)
                    first += m
                }
            }
        }
        rowsAtTraining = count + n
    }
}
