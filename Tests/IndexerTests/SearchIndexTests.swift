import Foundation
import XCTest
@testable import Search
@testable import Store

/// The in-memory search matrix against a brute-force model, through random
/// inserts, replacements and removals.
final class SearchIndexTests: XCTestCase {
    func unit(_ rng: inout SystemRandomNumberGenerator, _ d: Int) -> [Float] {
        let v = (0..<d).map { _ in Float.random(in: -1...1, using: &rng) }
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }

    func testMatchesBruteForceThroughRandomChanges() {
        var rng = SystemRandomNumberGenerator()
        let d = 16
        let index = SearchIndex(dimension: d)
        var model: [Int64: [SearchIndex.RowKind: [Float]]] = [:]
        let kinds = SearchIndex.RowKind.allCases
        for step in 0..<3000 {
            let id = Int64.random(in: 0..<400, using: &rng)
            if Int.random(in: 0..<4, using: &rng) == 0 {
                index.remove(id); model[id] = nil
            } else {
                let kind = kinds[Int.random(in: 0..<2, using: &rng)]
                let v = unit(&rng, d)
                index.set(id, kind: kind, vector: v); model[id, default: [:]][kind] = v
            }
            if step % 100 == 0 || step == 2999 {
                let q = unit(&rng, d)
                let allowed: Set<Int64>? = step % 200 == 0 ? Set((0..<400).filter { $0 % 3 == 0 }.map(Int64.init)) : nil
                var expected: [(Int64, Float)] = model.compactMap { id, vs in
                    if let allowed, !allowed.contains(id) { return nil }
                    return (id, vs.values.map { zip($0, q).reduce(0) { $0 + $1.0 * $1.1 } }.max()!)
                }
                expected.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                let got = index.search(q, k: 7, allowed: allowed)
                XCTAssertEqual(got.map(\.id), expected.prefix(7).map(\.0), "step \(step)")
                for (g, e) in zip(got, expected) { XCTAssertEqual(g.score, e.1, accuracy: 1e-5) }
                XCTAssertEqual(index.count, model.count)
            }
        }
        XCTAssertTrue(index.search(unit(&rng, d), k: 0).isEmpty)
    }

    func testAnImageScoresItsBestVector() {
        let index = SearchIndex(dimension: 2)
        index.set(1, kind: .predicted, vector: [1, 0])
        index.set(2, kind: .predicted, vector: [0.6, 0.8])
        index.set(2, kind: .knownPrompt, vector: [0, 1])
        let r = index.search([0, 1], k: 5)
        XCTAssertEqual(r.map(\.id), [2, 1])
        XCTAssertEqual(r[0].score, 1, accuracy: 1e-6, "the known prompt's vector counts")
        index.remove(2)
        XCTAssertEqual(index.search([0, 1], k: 5).map(\.id), [1])
        XCTAssertEqual(SearchIndex(dimension: 2).search([1, 0], k: 3).count, 0)
    }
}
