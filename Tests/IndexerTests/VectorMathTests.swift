import XCTest
import Inference

final class VectorMathTests: XCTestCase {
    /// The loop the copies used: x · 1/max(‖x‖, 1e-12), ‖x‖² summed in order.
    static func reference(_ v: [Float]) -> [Float] {
        var s: Float = 0
        for x in v { s += x * x }
        let inv = 1 / max(s.squareRoot(), 1e-12)
        return v.map { $0 * inv }
    }

    func testUnitLengthAndTheSameBitsAsBefore() {
        var rng = SystemRandomNumberGenerator()
        for d in [1, 2, 3, 7, 8, 384, 1280] {
            let v = (0..<d).map { _ in Float.random(in: -3...3, using: &rng) }
            let u = VectorMath.l2Normalized(v)
            XCTAssertEqual(u, Self.reference(v), "d = \(d)")
            XCTAssertEqual(u.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
        XCTAssertEqual(VectorMath.l2Normalized([3, 4])[0], 0.6, accuracy: 1e-7)
        XCTAssertEqual(VectorMath.l2Normalized([3, 4])[1], 0.8, accuracy: 1e-7)
    }

    func testAZeroOrTinyVectorStaysFinite() {
        XCTAssertEqual(VectorMath.l2Normalized([0, 0, 0]), [0, 0, 0])
        XCTAssertEqual(VectorMath.l2Normalized([]), [])
        let tiny = VectorMath.l2Normalized([1e-30, -1e-30])
        XCTAssert(tiny.allSatisfy(\.isFinite), "\(tiny)")
    }

    func testRowsAreNormalisedEachOnItsOwn() {
        var m: [Float] = [3, 4, 0, 0, 0, 5]   // (3, 2)
        VectorMath.l2NormalizeRows(&m, cols: 2)
        XCTAssertEqual(m, Self.reference([3, 4]) + [0, 0] + [0, 1])
        var buffer: [Float] = [1, 1, 2, 0]
        buffer.withUnsafeMutableBufferPointer { VectorMath.l2NormalizeRows($0.baseAddress!, rows: 2, cols: 2) }
        XCTAssertEqual(buffer, Self.reference([1, 1]) + [1, 0])
        var empty: [Float] = []
        VectorMath.l2NormalizeRows(&empty, cols: 4)
        XCTAssertEqual(empty, [])
    }
}
