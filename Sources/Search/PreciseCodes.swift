/// The rows of a large index as 12-bit integers, what its final scores are
/// computed from (float32 for every row does not fit the memory goal: 1.33
/// rows per image × 384 × 4 B = 2 GB at a million images; these are 580 B a
/// row, 0.77 GB).
///
/// Row r stores v − mean (the fixed `mean` of the rows it was created
/// from) as code · scale, each code a signed 12-bit integer (|code| ≤ 2047)
/// and scale = max |v − mean| / 2047, split into two planes:
/// - `high`: code >> 4, an Int8 per component, (capacity, paddedDimension);
/// - `low`: code & 15, a nibble per component, (capacity, paddedDimension / 2),
///   byte t of each 32-component group holding component t (low nibble) and
///   t + 16 (high nibble), so that a 16-byte load gives 32 components;
/// - `scales`: (capacity).
///
/// Error of a score, for a unit query q: each component is off by at most
/// scale / 2, so |q·v − q·v̂| ≤ ‖v − v̂‖₂ ≤ (scale / 2) · √d (Cauchy–Schwarz).
/// On the bench's rows (max |v − mean| 0.13 on average, 0.29 at most) that
/// bound is 6.2e-4 on average and 1.4e-3 at most; the rounding errors being
/// independent, the error itself is about scale / √12 ≈ 1.8e-5.
final class PreciseCodes {
    static let codeLimit: Float = 2047
    let dimension: Int
    /// `dimension` rounded up to 32; the padding components are zero.
    let padded: Int
    /// (padded): subtracted from every row before it is coded.
    let mean: [Float]
    private(set) var capacity = 0
    private(set) var high: UnsafeMutablePointer<Int8>
    private(set) var low: UnsafeMutablePointer<UInt8>
    private(set) var scales: UnsafeMutablePointer<Float>

    init(dimension: Int, mean: [Float]) {
        precondition(mean.count == dimension)
        self.dimension = dimension
        padded = (dimension + 31) / 32 * 32
        self.mean = mean + [Float](repeating: 0, count: padded - dimension)
        high = .allocate(capacity: 0); low = .allocate(capacity: 0); scales = .allocate(capacity: 0)
    }

    deinit { high.deallocate(); low.deallocate(); scales.deallocate() }

    /// Room for `rows` rows (the contents of rows below the old capacity kept).
    func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        let h = UnsafeMutablePointer<Int8>.allocate(capacity: rows * padded)
        let l = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * padded / 2)
        let s = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        h.update(from: high, count: capacity * padded)
        l.update(from: low, count: capacity * padded / 2)
        s.update(from: scales, count: capacity)
        high.deallocate(); low.deallocate(); scales.deallocate()
        high = h; low = l; scales = s
        capacity = rows
    }

    /// Codes `v` (dimension values) as row `row` (< capacity). Rows apart
    /// may be coded from several threads at once.
    func set(_ row: Int, _ v: UnsafePointer<Float>) {
        precondition(row < capacity)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: padded) { buffer in
            let r = buffer.baseAddress!   // (padded): v − mean, zero-padded
            for i in 0..<dimension { r[i] = v[i] - mean[i] }
            for i in dimension..<padded { r[i] = 0 }
            let x = UnsafeRawPointer(r)
            var largest = SIMD16<Float>(repeating: 0)
            for g in stride(from: 0, to: padded, by: 16) {
                let c = x.loadUnaligned(fromByteOffset: g * 4, as: SIMD16<Float>.self)
                let magnitude = c.replacing(with: -c, where: c .< 0)
                largest.replace(with: magnitude, where: magnitude .> largest)   // (pointwiseMax compiles to a scalar loop)
            }
            let scale = largest.max() / Self.codeLimit
            let inverse = SIMD16<Float>(repeating: scale > 0 ? 1 / scale : 0)
            let h = UnsafeMutableRawPointer(high + row * padded), l = UnsafeMutableRawPointer(low + row * padded / 2)
            for group in stride(from: 0, to: padded, by: 32) {
                let a = Self.rounded(x.loadUnaligned(fromByteOffset: group * 4, as: SIMD16<Float>.self) * inverse)
                let b = Self.rounded(x.loadUnaligned(fromByteOffset: (group + 16) * 4, as: SIMD16<Float>.self) * inverse)
                h.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: a &>> 4), toByteOffset: group, as: SIMD16<Int8>.self)
                h.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: b &>> 4), toByteOffset: group + 16, as: SIMD16<Int8>.self)
                l.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (a & 15) | ((b & 15) &<< 4)), toByteOffset: group / 2, as: SIMD16<UInt8>.self)
            }
            scales[row] = scale
        }
    }

    /// Round to nearest, clamped to ±2047: for |x| < 2²², adding 1.5 · 2²³
    /// leaves round(x) in the low bits of the float (no libm call per lane).
    @inline(__always)
    static func rounded(_ x: SIMD16<Float>) -> SIMD16<Int32> {
        let limit = SIMD16<Float>(repeating: codeLimit)
        let c = x.replacing(with: limit, where: x .> limit).replacing(with: -limit, where: x .< -limit) + SIMD16<Float>(repeating: 12_582_912)
        return SIMD16<Int32>(truncatingIfNeeded: unsafeBitCast(c, to: SIMD16<UInt32>.self)) &- 0x4B40_0000
    }

    /// The 32 codes of one group of a row, as floats, in two halves.
    @inline(__always)
    private func codes(_ h: UnsafePointer<Int8>, _ l: UnsafePointer<UInt8>, group: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let hi = UnsafeRawPointer(h + group), lo = UnsafeRawPointer(l + group / 2)
        let nibbles = lo.loadUnaligned(as: SIMD16<UInt8>.self)
        let a = SIMD16<Int16>(truncatingIfNeeded: hi.loadUnaligned(as: SIMD16<Int8>.self)) &<< 4
            | SIMD16<Int16>(truncatingIfNeeded: nibbles & 15)
        let b = SIMD16<Int16>(truncatingIfNeeded: hi.loadUnaligned(fromByteOffset: 16, as: SIMD16<Int8>.self)) &<< 4
            | SIMD16<Int16>(truncatingIfNeeded: nibbles &>> 4)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: a)), SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: b)))
    }

    /// q · (v̂ − mean) for row `row`, q (padded) with zero padding: add
    /// q · mean once per query for the score.
    @inline(__always)
    func dot(_ row: Int, _ query: UnsafePointer<Float>) -> Float {
        let h = UnsafePointer(high + row * padded), l = UnsafePointer(low + row * padded / 2)
        let q = UnsafeRawPointer(query)
        var acc = SIMD16<Float>(repeating: 0)
        for group in stride(from: 0, to: padded, by: 32) {
            let (a, b) = codes(h, l, group: group)
            acc += a * q.loadUnaligned(fromByteOffset: group * 4, as: SIMD16<Float>.self)
            acc += b * q.loadUnaligned(fromByteOffset: (group + 16) * 4, as: SIMD16<Float>.self)
        }
        return acc.sum() * scales[row]
    }

    /// Row `row` as floats (dimension values, mean added back).
    func decode(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        let h = UnsafePointer(high + row * padded), l = UnsafePointer(low + row * padded / 2)
        let s = scales[row]
        for group in stride(from: 0, to: padded, by: 32) {
            let (a, b) = codes(h, l, group: group)
            for t in 0..<16 {
                if group + t < dimension { out[group + t] = a[t] * s + mean[group + t] }
                if group + t + 16 < dimension { out[group + t + 16] = b[t] * s + mean[group + t + 16] }
            }
        }
    }

    /// Copies row `from` over row `to`.
    func copy(_ from: Int, to: Int) {
        (high + to * padded).update(from: high + from * padded, count: padded)
        (low + to * padded / 2).update(from: low + from * padded / 2, count: padded / 2)
        scales[to] = scales[from]
    }
}
