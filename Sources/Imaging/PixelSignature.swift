/// A picture's pixels at 32 × 32: the RGB of a bicubic resize (aspect
/// ignored), each channel less its mean, the whole at unit length (3,072
/// floats). Two files of one picture (re-encoded, resized, metadata
/// stripped) have signatures whose cosine is near 1; another picture, even
/// of the same prompt and model (another seed), lays its shapes and colours
/// elsewhere and scores far lower (`NearDuplicates` holds the measured
/// threshold). A flat image has a zero signature, which matches nothing.
public enum PixelSignature {
    public static let side = 32
    public static let dimension = side * side * 3

    public static func of(_ image: RGBAImage) -> [Float] {
        let rgb = PILResample.bicubic(image, width: side, height: side)   // (32, 32, 3)
        var out = rgb.map(Float.init)
        for c in 0..<3 {
            var mean: Float = 0
            for i in stride(from: c, to: dimension, by: 3) { mean += out[i] }
            mean /= Float(side * side)
            for i in stride(from: c, to: dimension, by: 3) { out[i] -= mean }
        }
        let norm = out.reduce(0) { $0 + $1 * $1 }
        // Below one level of spread per value on average: flat, no signature.
        guard norm > Float(dimension) else { return [Float](repeating: 0, count: dimension) }
        let s = 1 / norm.squareRoot()
        return out.map { $0 * s }
    }
}
