import Foundation
import XCTest
@testable import Inference

final class MathKernelsTests: XCTestCase {
    func testVectorExpMatchesLibmToSinglePrecision() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let v = MathKernels.exp(MathKernels.V(repeating: x))
            let ref = Foundation.exp(Double(x))
            let rel = Float(abs(Double(v[0]) - ref) / ref)
            worst = max(worst, rel)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 4e-7, "worst relative error \(worst)")
        XCTAssertEqual(MathKernels.exp(MathKernels.V(repeating: -1000))[0], Float(Foundation.exp(-87.33)), accuracy: 1e-38)
        XCTAssertTrue(MathKernels.exp(MathKernels.V(repeating: 1000))[0].isFinite)
    }

    func testVectorErfMatchesLibm() {
        var worst = 0.0
        var x: Float = -6
        while x < 6 {
            let v = MathKernels.erf(MathKernels.V(repeating: x))
            worst = max(worst, abs(Double(v[0]) - Foundation.erf(Double(x))))
            x += 0.001
        }
        XCTAssertLessThan(worst, 1e-6, "worst absolute error \(worst)")
    }

    func testGeluIsBertsExactGelu() {
        // 8-lane body and the scalar tail both.
        var xs: [Float] = stride(from: -5, through: 5, by: 0.37).map { Float($0) }
        let ref = xs.map { x in 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot())) }
        xs.withUnsafeMutableBufferPointer { MathKernels.gelu($0.baseAddress!, count: $0.count) }
        for (a, b) in zip(xs, ref) { XCTAssertEqual(Double(a), b, accuracy: 2e-6) }
        XCTAssertNotEqual(xs.count % 8, 0, "test must exercise the scalar tail")
    }

    func testQuickGelu() {
        var xs: [Float] = stride(from: -6, through: 6, by: 0.5).map { Float($0) }
        let ref = xs.map { x in Double(x) / (1 + Foundation.exp(-1.702 * Double(x))) }
        xs.withUnsafeMutableBufferPointer { MathKernels.quickGelu($0.baseAddress!, count: $0.count) }
        for (a, b) in zip(xs, ref) { XCTAssertEqual(Double(a), b, accuracy: 2e-6) }
    }

    func testLayerNormMatchesDefinition() {
        var rng = SplitMix(seed: 7)
        let rows = 5, n = 37
        var x = (0..<(rows * n)).map { _ in rng.nextFloat() * 4 - 1 }
        let gamma = (0..<n).map { _ in rng.nextFloat() }
        let beta = (0..<n).map { _ in rng.nextFloat() - 0.5 }
        var expected: [Double] = []
        for r in 0..<rows {
            let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            for i in 0..<n { expected.append((row[i] - mean) / (variance + 1e-5).squareRoot() * Double(gamma[i]) + Double(beta[i])) }
        }
        x.withUnsafeMutableBufferPointer { MathKernels.layerNorm($0.baseAddress!, rows: rows, n: n, gamma: gamma, beta: beta, eps: 1e-5) }
        for (a, b) in zip(x, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-5) }
    }

    func testSoftmaxRowsAndCausalMask() {
        var s: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                          -1, 5, 100, 3, 0, 0, 0, 0, 0, 0]
        var c = s
        s.withUnsafeMutableBufferPointer { MathKernels.softmaxRows($0.baseAddress!, rows: 3, n: 10, ld: 10, causal: false) }
        for r in 0..<3 { XCTAssertEqual(s[(r * 10)..<(r * 10 + 10)].reduce(0, +), 1, accuracy: 1e-6) }
        let e = (1...10).map { Foundation.exp(Double($0 - 10)) }
        XCTAssertEqual(Double(s[9]), e[9] / e.reduce(0, +), accuracy: 1e-6)
        XCTAssertEqual(s[10], 0.1, accuracy: 1e-6)
        c.withUnsafeMutableBufferPointer { MathKernels.softmaxRows($0.baseAddress!, rows: 3, n: 10, ld: 10, causal: true) }
        XCTAssertEqual(c[0], 1)
        XCTAssertEqual(Array(c[1..<10]), [Float](repeating: 0, count: 9))
        XCTAssertEqual(c[10], 0.5, accuracy: 1e-6); XCTAssertEqual(c[11], 0.5, accuracy: 1e-6)
        XCTAssertEqual(c[22], 1, accuracy: 1e-6)   // row 2 sees -1, 5, 100
        XCTAssertEqual(c[23], 0)
    }

    func testGemmSplitOverCoresEqualsNaiveProduct() {
        var rng = SplitMix(seed: 3)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (34, 384, 384), (70, 1152, 64), (5, 40, 2000), (4003, 16, 96), (12544, 24, 32)] {
            let a = (0..<(m * k)).map { _ in rng.nextFloat() - 0.5 }
            let w = (0..<(n * k)).map { _ in rng.nextFloat() - 0.5 }   // (n, k) like nn.Linear
            let bias = (0..<n).map { _ in rng.nextFloat() }
            var y = [Float](repeating: .nan, count: m * n)
            let wt = FloatTensor(shape: [n, k], values: w), bt = FloatTensor(shape: [n], values: bias)
            a.withUnsafeBufferPointer { ap in
                y.withUnsafeMutableBufferPointer { yp in
                    BLAS.linear(MatrixRef(ap.baseAddress!, rows: m, cols: k), weight: wt, bias: bt,
                                into: MutableMatrixRef(yp.baseAddress!, rows: m, cols: n))
                }
            }
            var worst = 0.0
            for i in 0..<m { for j in 0..<n {
                var acc = Double(bias[j])
                for t in 0..<k { acc += Double(a[i * k + t]) * Double(w[j * k + t]) }
                worst = max(worst, abs(acc - Double(y[i * n + j])))
            } }
            XCTAssertLessThan(worst, 1e-3, "m=\(m) n=\(n) k=\(k)")
        }
    }
}

extension MathKernelsTests {
    /// Tall, narrow products (a 1×1 convolution to few channels) are split
    /// by rows: each part, with A transposed or not, lands where it belongs.
    func testGemmSplitByRowsEqualsNaiveProduct() {
        var rng = SplitMix(seed: 5)
        for (m, n, k) in [(4003, 16, 96), (1030, 8, 300)] {
            for transposeA in [false, true] {
                let a = (0..<(m * k)).map { _ in rng.nextFloat() - 0.5 }   // (m, k), or (k, m) when transposed
                let b = (0..<(k * n)).map { _ in rng.nextFloat() - 0.5 }   // (k, n)
                var c = [Float](repeating: 1, count: m * n)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            BLAS.gemm(transposeA ? MatrixRef(ap.baseAddress!, rows: k, cols: m) : MatrixRef(ap.baseAddress!, rows: m, cols: k),
                                      transposeA: transposeA, MatrixRef(bp.baseAddress!, rows: k, cols: n),
                                      MutableMatrixRef(cp.baseAddress!, rows: m, cols: n), beta: 1)
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<m { for j in 0..<n {
                    var acc = 1.0
                    for t in 0..<k { acc += Double(transposeA ? a[t * m + i] : a[i * k + t]) * Double(b[t * n + j]) }
                    worst = max(worst, abs(acc - Double(c[i * n + j])))
                } }
                XCTAssertLessThan(worst, 1e-3, "m=\(m) n=\(n) k=\(k) transposeA=\(transposeA)")
            }
        }
    }
}

extension MathKernelsTests {
    /// `linear` fills y with bias + residual (`BLAS.fillRow`) and adds the
    /// product onto it: every combination (neither, bias, residual, both;
    /// the residual y itself, as the transformer's residual adds do), at
    /// widths that leave a tail past the four-lane loop, split over the
    /// cores and not.
    func testLinearAddsBiasAndResidualOntoTheProduct() {
        var rng = SplitMix(seed: 11)
        for (m, n, k) in [(3, 7, 5), (34, 37, 384), (70, 1154, 64)] {
            let a = (0..<(m * k)).map { _ in rng.nextFloat() - 0.5 }
            let w = (0..<(n * k)).map { _ in rng.nextFloat() - 0.5 }
            let bias = (0..<n).map { _ in rng.nextFloat() }
            let residual = (0..<(m * n)).map { _ in rng.nextFloat() * 4 - 2 }
            let wt = FloatTensor(shape: [n, k], values: w), bt = FloatTensor(shape: [n], values: bias)
            for (useBias, useResidual, inPlace) in [(false, false, false), (true, false, false), (false, true, false), (true, true, false),
                                                    (false, true, true), (true, true, true)] {
                var y = inPlace ? residual : [Float](repeating: .nan, count: m * n)
                let separate = residual
                a.withUnsafeBufferPointer { ap in
                    separate.withUnsafeBufferPointer { rp in
                        y.withUnsafeMutableBufferPointer { yp in
                            let r: UnsafePointer<Float>? = useResidual ? (inPlace ? UnsafePointer(yp.baseAddress!) : rp.baseAddress!) : nil
                            BLAS.linear(MatrixRef(ap.baseAddress!, rows: m, cols: k), weight: wt, bias: useBias ? bt : nil, residual: r,
                                        into: MutableMatrixRef(yp.baseAddress!, rows: m, cols: n))
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<m { for j in 0..<n {
                    var acc = (useBias ? Double(bias[j]) : 0) + (useResidual ? Double(residual[i * n + j]) : 0)
                    for t in 0..<k { acc += Double(a[i * k + t]) * Double(w[j * k + t]) }
                    worst = max(worst, abs(acc - Double(y[i * n + j])))
                } }
                XCTAssertLessThan(worst, 1e-3, "m=\(m) n=\(n) k=\(k) bias=\(useBias) residual=\(useResidual) in place=\(inPlace)")
            }
        }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
