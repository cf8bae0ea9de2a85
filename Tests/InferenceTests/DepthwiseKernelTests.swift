import XCTest
@testable import Inference

/// EfficientNet-Lite's depthwise convolution against the definition: every
/// output is bias + Σ over the window (row by row) of x·w, zero outside the
/// image, then ReLU6. The kernel sums in that order on every path, so the
/// comparison is exact (the AVX2 edge path adds 0·w for a tap outside the
/// image, which can change only the sign of a zero, and == ignores it).
final class DepthwiseKernelTests: XCTestCase {
    func testDepthwiseEqualsTheDefinitionOnEveryPath() throws {
        // The SSE path everywhere, and the AVX2 one where this CPU has it
        // (DepthwiseAVX2: channel counts that are multiples of 8; four outputs
        // at once inside and at the edges, one at a time where fewer than four
        // outputs make a row).
        try checkEveryPath(avx2: false)
        guard EfficientNetLite.depthwiseAVX2 else { throw XCTSkip("this CPU has no AVX2: the SSE path alone was checked") }
        try checkEveryPath(avx2: true)
    }

    func checkEveryPath(avx2: Bool) throws {
        var rng = SplitMix(seed: 11)
        // (side, channels, k, stride): interiors, edges, odd widths, channels not a multiple of 8 or of 4
        // (6 and 3: the scalar channel tail, and every pixel on the checked path), tiny images.
        for (side, C, k, s) in [(14, 16, 3, 1), (15, 24, 3, 2), (9, 40, 5, 1), (10, 48, 5, 2), (7, 12, 5, 1), (3, 8, 5, 2), (1, 8, 3, 1), (28, 96, 3, 1), (9, 6, 3, 1), (8, 3, 5, 2)] {
            let (out, pad) = EfficientNetLite.samePadding(side, k: k, stride: s)
            let x = (0..<(side * side * C)).map { _ in (rng.nextFloat() - 0.5) * 8 }
            let weight = (0..<(k * k * C)).map { _ in rng.nextFloat() - 0.5 }
            let bias = (0..<C).map { _ in rng.nextFloat() - 0.3 }
            let conv = EfficientNetLite.Conv(weight: weight, bias: bias, cin: C, cout: C, k: k, stride: s)
            var input = x
            var y = [Float](repeating: .nan, count: out * out * C)
            input.withUnsafeMutableBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    EfficientNetLite.depthwise(xp.baseAddress!, side: side, conv: conv, out: out, pad: pad, into: yp.baseAddress!, avx2: avx2)
                }
            }
            var mismatches = 0
            for oy in 0..<out { for ox in 0..<out { for ch in 0..<C {
                var acc = bias[ch]
                for ky in 0..<k {
                    let iy = oy * s + ky - pad
                    guard iy >= 0 && iy < side else { continue }
                    for kx in 0..<k {
                        let ix = ox * s + kx - pad
                        guard ix >= 0 && ix < side else { continue }
                        acc += x[(iy * side + ix) * C + ch] * weight[(ky * k + kx) * C + ch]
                    }
                }
                if y[(oy * out + ox) * C + ch] != min(max(acc, 0), 6) { mismatches += 1 }
            } } }
            XCTAssertEqual(mismatches, 0, "side \(side), C \(C), k \(k), stride \(s), avx2 \(avx2)")
        }
    }
}
