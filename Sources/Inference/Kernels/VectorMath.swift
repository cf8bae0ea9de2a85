/// L2 normalisation, the one copy: x / max(‖x‖, 1e-12), as torch's
/// `F.normalize` and the reference CLIP and sentence-transformers code
/// normalise embeddings. ‖x‖² is summed in float32 in index order and x is
/// scaled by the reciprocal (not divided: the bits stay those of the loops
/// revsd used before). A zero vector stays zero (never NaN).
public enum VectorMath {
    /// Below this norm a vector is scaled as if its norm were this.
    public static let normEpsilon: Float = 1e-12

    /// Scales `x` to unit length in place.
    @inlinable
    public static func l2Normalize(_ x: UnsafeMutableBufferPointer<Float>) {
        var s: Float = 0
        for v in x { s += v * v }
        let inv = 1 / max(s.squareRoot(), normEpsilon)
        for i in x.indices { x[i] *= inv }
    }

    /// Scales `x` to unit length in place.
    @inlinable
    public static func l2Normalize(_ x: inout [Float]) {
        x.withUnsafeMutableBufferPointer { l2Normalize($0) }
    }

    /// Scales each row of `x` (rows, cols), stored row after row, to unit length.
    @inlinable
    public static func l2NormalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows { l2Normalize(UnsafeMutableBufferPointer(start: x + r * cols, count: cols)) }
    }

    /// Scales each row of `x` (count / cols rows of `cols`) to unit length.
    @inlinable
    public static func l2NormalizeRows(_ x: inout [Float], cols: Int) {
        let rows = x.count / cols
        guard rows > 0 else { return }
        x.withUnsafeMutableBufferPointer { l2NormalizeRows($0.baseAddress!, rows: rows, cols: cols) }
    }

    /// `x` scaled to unit length.
    @inlinable
    public static func l2Normalized(_ x: [Float]) -> [Float] {
        var out = x
        l2Normalize(&out)
        return out
    }
}
