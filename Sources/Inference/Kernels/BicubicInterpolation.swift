import Foundation

/// PyTorch's `F.interpolate(mode="bicubic", align_corners=False)` on float32
/// (the CPU kernel: cubic convolution with A = −0.75, source index
/// (dst + ½)·in/out − ½, taps clamped to the border, no antialiasing), for
/// the position-embedding grids of vision transformers.
public enum BicubicInterpolation {
    static let a: Float = -0.75

    @inline(__always)
    static func cubic1(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    @inline(__always)
    static func cubic2(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }

    /// For each output index: the four clamped input indices and their weights.
    static func taps(input: Int, output: Int) -> [(index: [Int], weight: [Float])] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { i in
            let real = scale * (Float(i) + 0.5) - 0.5
            let base = min(Int(real.rounded(.down)), input - 1)
            let t = min(max(real - Float(base), 0), 1)
            let w: [Float] = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)]
            let idx = (0..<4).map { min(max(base - 1 + $0, 0), input - 1) }
            return (idx, w)
        }
    }

    /// Resizes a (inH, inW, channels) grid, channels last, to (outH, outW, channels).
    public static func resize(_ src: UnsafePointer<Float>, height inH: Int, width inW: Int, channels: Int,
                              toHeight outH: Int, width outW: Int) -> [Float] {
        let ys = taps(input: inH, output: outH)
        let xs = taps(input: inW, output: outW)
        var out = [Float](repeating: 0, count: outH * outW * channels)
        var row = [Float](repeating: 0, count: channels)
        for oy in 0..<outH {
            for ox in 0..<outW {
                let dst = (oy * outW + ox) * channels
                // Σ_i wy_i · (Σ_j wx_j · x[y_i][x_j]), accumulated in that order.
                for i in 0..<4 {
                    for c in 0..<channels { row[c] = 0 }
                    let y = ys[oy].index[i]
                    for j in 0..<4 {
                        let w = xs[ox].weight[j]
                        let p = src + (y * inW + xs[ox].index[j]) * channels
                        if j == 0 { for c in 0..<channels { row[c] = p[c] * w } } else { for c in 0..<channels { row[c] += p[c] * w } }
                    }
                    let wy = ys[oy].weight[i]
                    if i == 0 { for c in 0..<channels { out[dst + c] = row[c] * wy } } else { for c in 0..<channels { out[dst + c] += row[c] * wy } }
                }
            }
        }
        return out
    }
}
