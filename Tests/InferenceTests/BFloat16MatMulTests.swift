@testable import Inference
import XCTest

/// The bfloat16 products (`BFloat16MatMul`, oneDNN) against the exact sum
/// of the same rounded inputs, and the rounding against its definition.
final class BFloat16MatMulTests: XCTestCase {
    func testRoundingIsToNearestWithTiesToEven() {
        // 1 + 2⁻⁸ lies exactly between 1 and 1 + 2⁻⁷ (the two nearest
        // bfloat16 values): it goes to the even one, 1. Just above, it goes up.
        let one: Float = 1, tie = Float(bitPattern: 0x3F80_8000), above = Float(bitPattern: 0x3F80_8001)
        XCTAssertEqual(BFloat16.one(one), 0x3F80)
        XCTAssertEqual(BFloat16.one(tie), 0x3F80, "a tie goes to the even neighbour")
        XCTAssertEqual(BFloat16.one(above), 0x3F81)
        // 1 + 3·2⁻⁸ is a tie between 1 + 2⁻⁷ (odd) and 1 + 2·2⁻⁷ (even): up.
        XCTAssertEqual(BFloat16.one(Float(bitPattern: 0x3F81_8000)), 0x3F82)
        XCTAssertEqual(BFloat16.one(-2.5), 0xC020)
        XCTAssertEqual(BFloat16.value(0x3F81), 1 + 1 / 128)
        // The eight-wide loop and the scalar tail round alike.
        let xs: [Float] = (0..<37).map { Float(bitPattern: 0x3F80_0000 &+ UInt32($0) &* 0x2F11) * ($0 % 2 == 0 ? 1 : -1) }
        var out = [UInt16](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { BFloat16.round($0.baseAddress!, into: &out, count: xs.count) }
        XCTAssertEqual(out, xs.map(BFloat16.one))
    }

    /// y (+)= x·W[columns]ᵀ against the double-precision sum of the rounded
    /// inputs, for shapes that are not multiples of any block size, an output
    /// with a wider leading dimension, a column range that does not start at
    /// 0, and accumulation onto what y holds.
    func testProductsEqualTheExactSumOfTheRoundedInputs() throws {
        guard BFloat16MatMul.isAvailable else {
            throw XCTSkip("this CPU has no AVX-512 BF16 (or REVSD_MATMUL=fp32): the bfloat16 products are not used here")
        }
        for (m, k, n, columns, accumulate) in [(1, 8, 16, 0..<16, false), (37, 384, 100, 20..<84, true), (130, 65, 48, 0..<48, true),
                                              (5, 1536, 40, 8..<40, false)] {
            let xs = (0..<(m * k)).map { Float(sin(Double($0) * 0.37)) }
            let w = FloatTensor(shape: [n, k], values: (0..<(n * k)).map { Float(cos(Double($0) * 0.11)) * 0.1 })
            let weight = BFloat16Weight(w)
            var x16 = [UInt16](repeating: 0, count: m * k)
            xs.withUnsafeBufferPointer { BFloat16.round($0.baseAddress!, into: &x16, count: m * k) }
            let ldy = n + 3
            let start = (0..<(m * ldy)).map { Float($0 % 7) }
            var y = start
            let ok = x16.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    BFloat16MatMul.product(xp.baseAddress!, rows: m, weight: weight, columns: columns,
                                           into: $0.baseAddress! + columns.lowerBound, ldy: ldy, accumulate: accumulate)
                }
            }
            XCTAssertTrue(ok, "m \(m) k \(k) n \(n)")
            var worst = 0.0
            for r in 0..<m {
                for c in 0..<ldy {
                    let got = Double(y[r * ldy + c])
                    guard columns.contains(c) else { XCTAssertEqual(got, Double(start[r * ldy + c]), "column \(c) outside the range is untouched"); continue }
                    var s = accumulate ? Double(start[r * ldy + c]) : 0
                    for j in 0..<k { s += Double(BFloat16.value(x16[r * k + j])) * Double(BFloat16.value(weight.bits[c * k + j])) }
                    worst = max(worst, abs(got - s) / max(1, abs(s)))
                }
            }
            // fp32 accumulation of k exact bfloat16 products: a few ulps of the sum.
            XCTAssertLessThan(worst, 1e-5, "m \(m) k \(k) n \(n): relative error \(worst)")
        }
    }

    /// The bias and the activations oneDNN applies as it stores the sums:
    /// y = act(x·Wᵀ + b) against GELU (erf) and quick_gelu computed in
    /// double from the exact sums, and `linear` with a residual that is
    /// not y against x·Wᵀ + b + residual.
    func testFusedBiasActivationAndResidualAreWhatTheyName() throws {
        guard BFloat16MatMul.isAvailable else {
            throw XCTSkip("this CPU has no AVX-512 BF16 (or REVSD_MATMUL=fp32): the bfloat16 products are not used here")
        }
        let (m, k, n) = (9, 96, 40)
        let x = FloatTensor(shape: [m, k], values: (0..<(m * k)).map { Float(sin(Double($0) * 0.23)) })
        let w = FloatTensor(shape: [n, k], values: (0..<(n * k)).map { Float(cos(Double($0) * 0.07)) * 0.2 })
        let bias = FloatTensor(shape: [n], values: (0..<n).map { Float($0) / 20 - 1 })
        let weight = BFloat16Weight(w)
        var x16 = [UInt16](repeating: 0, count: m * k)
        BFloat16.round(x.pointer, into: &x16, count: m * k)
        func exact(_ r: Int, _ c: Int) -> Double {
            var s = Double(bias.pointer[c])
            for j in 0..<k { s += Double(BFloat16.value(x16[r * k + j])) * Double(BFloat16.value(weight.bits[c * k + j])) }
            return s
        }
        let scratch = UnsafeMutablePointer<UInt16>.allocate(capacity: m * k)
        defer { scratch.deallocate() }
        for (activation, f) in [(BFloat16MatMul.Activation.none, { (v: Double) in v }),
                                (.gelu, { (v: Double) in 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }),
                                (.quickGelu, { (v: Double) in v / (1 + exp(-1.702 * v)) })] {
            var y = [Float](repeating: .nan, count: m * n)
            y.withUnsafeMutableBufferPointer {
                BFloat16MatMul.linear(MatrixRef(x.pointer, rows: m, cols: k), weight: w, rounded: weight, bias: bias,
                                      into: MutableMatrixRef($0.baseAddress!, rows: m, cols: n), activation: activation, scratch: scratch)
            }
            let worst = (0..<(m * n)).map { abs(Double(y[$0]) - f(exact($0 / n, $0 % n))) }.max()!
            XCTAssertLessThan(worst, 1e-4, "\(activation): worst |Δ| \(worst)")
        }
        let residual = (0..<(m * n)).map { Float($0 % 5) }
        var y = [Float](repeating: .nan, count: m * n)
        residual.withUnsafeBufferPointer { rp in
            y.withUnsafeMutableBufferPointer {
                BFloat16MatMul.linear(MatrixRef(x.pointer, rows: m, cols: k), weight: w, rounded: weight, bias: bias, residual: rp.baseAddress!,
                                      into: MutableMatrixRef($0.baseAddress!, rows: m, cols: n), scratch: scratch)
            }
        }
        let worst = (0..<(m * n)).map { abs(Double(y[$0]) - exact($0 / n, $0 % n) - Double(residual[$0])) }.max()!
        XCTAssertLessThan(worst, 1e-4, "residual: worst |Δ| \(worst)")
    }

    /// A transformer's forward pass in bfloat16 against the same weights in
    /// fp32, on a random BERT-shaped stack (post-LN) and a CLIP-shaped one
    /// (pre-LN, quick_gelu): the last hidden states agree to a cosine of
    /// 0.9999 per token, and a batch gives each sequence what it gets alone.
    func testATransformerInBFloat16FollowsItsFloat32Twin() throws {
        guard BFloat16MatMul.isAvailable else {
            throw XCTSkip("this CPU has no AVX-512 BF16 (or REVSD_MATMUL=fp32): the bfloat16 products are not used here")
        }
        for (activation, placement) in [(TransformerConfig.Activation.gelu, TransformerConfig.NormPlacement.post), (.quickGelu, .pre)] {
            let config = TransformerConfig(hidden: 64, heads: 4, intermediate: 256, layers: 3, layerNormEps: 1e-5,
                                           activation: activation, normPlacement: placement, causal: false)
            var seed: UInt64 = 42
            func random(_ shape: [Int], scale: Float) -> FloatTensor {
                FloatTensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    return (Float(seed >> 40) / Float(1 << 24) - 0.5) * scale
                })
            }
            let H = config.hidden, I = config.intermediate
            let layers = (0..<config.layers).map { _ in
                TransformerLayerWeights(qW: random([H, H], scale: 0.3), qB: random([H], scale: 0.1), kW: random([H, H], scale: 0.3), kB: random([H], scale: 0.1),
                                        vW: random([H, H], scale: 0.3), vB: random([H], scale: 0.1), oW: random([H, H], scale: 0.3), oB: random([H], scale: 0.1),
                                        norm1W: FloatTensor(shape: [H], values: [Float](repeating: 1, count: H)), norm1B: random([H], scale: 0.1),
                                        fc1W: random([I, H], scale: 0.3), fc1B: random([I], scale: 0.1), fc2W: random([H, I], scale: 0.15), fc2B: random([H], scale: 0.1),
                                        norm2W: FloatTensor(shape: [H], values: [Float](repeating: 1, count: H)), norm2B: random([H], scale: 0.1))
            }
            let exact = TransformerEncoder(config: config, layers: layers, precision: .float32)
            let reduced = TransformerEncoder(config: config, layers: layers, precision: .bfloat16)
            XCTAssertEqual(exact.precision, .float32)
            XCTAssertEqual(reduced.precision, .bfloat16)
            let lengths = [7, 33, 1, 120]
            let input = random([lengths.reduce(0, +), H], scale: 2)
            func run(_ e: TransformerEncoder, _ lengths: [Int], from row: Int) -> [Float] {
                let ws = TransformerWorkspace(config: config)
                let T = lengths.reduce(0, +)
                ws.reserve(tokens: T, longest: lengths.max()!)
                ws.x.update(from: input.pointer + row * H, count: T * H)
                e.forward(lengths: lengths, workspace: ws)
                return Array(UnsafeBufferPointer(start: ws.x, count: T * H))
            }
            let a = run(exact, lengths, from: 0), b = run(reduced, lengths, from: 0)
            var worst: Float = 1
            for t in 0..<(a.count / H) {
                let (x, y) = (a[(t * H)..<((t + 1) * H)], b[(t * H)..<((t + 1) * H)])
                let dot = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
                let nx = x.reduce(0) { $0 + $1 * $1 }.squareRoot(), ny = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
                worst = min(worst, dot / (nx * ny))
            }
            XCTAssertGreaterThan(worst, 0.9999, "\(placement)-LN: lowest per-token cosine \(worst)")
            XCTAssertNotEqual(a, b, "the bfloat16 pass rounds: it cannot equal fp32 to the bit")
            // The 120-token sequence alone gives what it gets in the batch.
            let alone = run(reduced, [120], from: 41)
            let inBatch = Array(b[(41 * H)...])
            XCTAssertEqual(alone.count, inBatch.count)
            let delta = zip(alone, inBatch).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(delta, 1e-4, "batching moved a sequence's states by \(delta)")
        }
    }
}
