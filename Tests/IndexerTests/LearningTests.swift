import Foundation
import XCTest
@testable import Learning
@testable import RevsdSystem

/// The learning pieces on data where the answer is known.
final class LearningTests: XCTestCase {
    func testRidgeEqualsTheNormalEquationSolution() throws {
        var rng = SeededGenerator(seed: 5)
        let n = 40, d = 5, m = 3, alpha: Float = 0.7
        let x = (0..<(n * d)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let y = (0..<(n * m)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let r = try RidgeRegressor(x: x, y: y, count: n, alpha: alpha)
        // Reference in Double: centre, form (XᵀX + αI) and XᵀY, Gaussian elimination.
        let mx = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + Double(x[$1 * d + j]) } / Double(n) }
        let my = (0..<m).map { j in (0..<n).reduce(0.0) { $0 + Double(y[$1 * m + j]) } / Double(n) }
        var a = [[Double]](repeating: [Double](repeating: 0, count: d + m), count: d)
        for i in 0..<d {
            for j in 0..<d { a[i][j] = (0..<n).reduce(0.0) { $0 + (Double(x[$1 * d + i]) - mx[i]) * (Double(x[$1 * d + j]) - mx[j]) } + (i == j ? Double(alpha) : 0) }
            for j in 0..<m { a[i][d + j] = (0..<n).reduce(0.0) { $0 + (Double(x[$1 * d + i]) - mx[i]) * (Double(y[$1 * m + j]) - my[j]) } }
        }
        for c in 0..<d {
            for rIndex in 0..<d where rIndex != c {
                let f = a[rIndex][c] / a[c][c]
                for j in c..<(d + m) { a[rIndex][j] -= f * a[c][j] }
            }
        }
        for i in 0..<d { for j in 0..<m { XCTAssertEqual(Double(r.weights[i * m + j]), a[i][d + j] / a[i][i], accuracy: 1e-4) } }
        let pred = r.predict(Array(x[0..<d]))
        for j in 0..<m {
            var expected = my[j]
            for i in 0..<d { expected += (Double(x[i]) - mx[i]) * a[i][d + j] / a[i][i] }
            XCTAssertEqual(Double(pred[j]), expected, accuracy: 1e-4)
        }
        XCTAssertThrowsError(try RidgeRegressor(x: [], y: [], count: 0, alpha: 1)) { XCTAssertEqual($0 as? RidgeRegressor.Failure, .empty) }
    }

    func testRidgeRecoversAPlantedLinearMap() throws {
        var rng = SeededGenerator(seed: 9)
        let n = 500, d = 8, m = 4
        let w = (0..<(d * m)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let x = (0..<(n * d)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        var y = [Float](repeating: 0.5, count: n * m)
        for i in 0..<n { for j in 0..<m { for t in 0..<d { y[i * m + j] += x[i * d + t] * w[t * m + j] } } }
        let r = try RidgeRegressor(x: x, y: y, count: n, alpha: 1e-3)
        for (a, b) in zip(r.weights, w) { XCTAssertEqual(a, b, accuracy: 1e-3) }
        for b in r.bias { XCTAssertEqual(b, 0.5, accuracy: 1e-3) }
    }

    func testKMeansRecoversPlantedClusters() {
        var rng = SeededGenerator(seed: 3)
        let centres: [[Float]] = [[5, 0, 0], [0, 5, 0], [0, 0, 5], [-5, -5, 0]]
        var points: [Float] = []
        var truth: [Int] = []
        for i in 0..<400 {
            let c = i % 4
            truth.append(c)
            for j in 0..<3 { points.append(centres[c][j] + Float(Double(rng.next() % 1000) / 1000 - 0.5)) }
        }
        let km = KMeans(points: points, count: 400, k: 4, seed: 7)
        // Every planted cluster maps to one k-means cluster, and vice versa.
        var mapping: [Int: Set<Int>] = [:]
        for i in 0..<400 { mapping[truth[i], default: []].insert(km.assignments[i]) }
        XCTAssertEqual(mapping.values.map(\.count), [1, 1, 1, 1])
        XCTAssertEqual(Set(mapping.values.map { $0.first! }).count, 4)
        XCTAssertEqual(KMeans(points: points, count: 400, k: 4, seed: 7).assignments, km.assignments, "deterministic for a seed")
        XCTAssertEqual(KMeans(points: [1, 2], count: 1, k: 10).k, 1, "k is capped by n")
        // The products a block of rows at a time (here 3 rows, and a last block of 1), as at 100k rows: the same clustering.
        let blocked = KMeans(points: points, count: 400, k: 4, seed: 7, maxIterations: 50, tolerance: 0, productFloats: 12)
        XCTAssertEqual(blocked.assignments, km.assignments)
        XCTAssertEqual(blocked.centroids, km.centroids)
        XCTAssertEqual(blocked.iterations, km.iterations)
    }

    func testKNNAveragesTheNearestTargets() {
        let features: [Float] = [1, 0, 0.9, 0.1, 0, 1]
        let targets: [Float] = [1, 0, 1, 0, 0, 1]
        let knn = KNNRegressor(features: features, targets: targets, count: 3, k: 2)
        let p = knn.predict([1, 0.05])
        XCTAssertEqual(p[0], 1, accuracy: 1e-4, "the two nearest both say (1, 0)")
        XCTAssertEqual(p[1], 0, accuracy: 1e-4)
        let q = KNNRegressor(features: features, targets: targets, count: 3, k: 1).predict([0, 2])
        XCTAssertEqual(q, [0, 1])
    }

    func testVocabularyCountsContentWordsOncePerPrompt() {
        let v = PromptVocabulary(prompts: ["a red horse, red horse", "the horse in a field", "a field of red flowers", "Horse!"], size: 3)
        XCTAssertEqual(v.words, ["horse", "field", "red"])
        XCTAssertEqual(PromptVocabulary.words(in: "(masterpiece:1.2), a CAT's 4k photo"), ["masterpiece", "cat", "photo"])
        XCTAssertEqual(v.target(for: "red field"), [0, 1, 1])
    }

    func testTheSplitIsDeterministicAndAboutATenth() {
        let keys = (0..<2000).map { "prompt \($0)" }
        let mask = PromptGroups(keys: keys).validationMask()
        XCTAssertEqual(PromptGroups(keys: keys.reversed()).validationMask(), mask.reversed(), "by prompt, not by position")
        let share = mask.filter { $0 }.count
        XCTAssert((120...300).contains(share), "\(share) of 2000")
    }
}

final class DomainAdaptiveKernelRidgeTests: XCTestCase {
    func unitRows(_ rows: [[Float]]) -> [Float] {
        rows.flatMap { r in let n = r.reduce(0) { $0 + $1 * $1 }.squareRoot(); return r.map { $0 / n } }
    }

    func testTheKernelIsTheRBFOfTheCosine() {
        let a = unitRows([[1, 0], [0, 1]]), b = unitRows([[1, 1]])
        let k = DomainAdaptiveKernelRidge.kernel(a, b, dimension: 2, gamma: 2)
        let c: Float = 1 / Float(2).squareRoot()
        XCTAssertEqual(k[0], Foundation.exp(-2 * (1 - c) / 2), accuracy: 1e-6)
        XCTAssertEqual(k[1], Foundation.exp(-2 * (1 - c) / 2), accuracy: 1e-6)
        XCTAssertEqual(DomainAdaptiveKernelRidge.kernel(a, a, dimension: 2, gamma: 5)[0], 1, accuracy: 1e-6, "K(x, x) = 1")
    }

    func testWithASmallPenaltyItInterpolatesTheCentroidTargets() throws {
        let c = unitRows([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
        let t: [Float] = [1, 0, 0, 1, 5, 5, 2, -1]
        let krr = try DomainAdaptiveKernelRidge(centroids: c, targets: t, dimension: 3, gamma: 8, alpha: 1e-4)
        let p = krr.predict(c)
        for (a, b) in zip(p, t) { XCTAssertEqual(a, b, accuracy: 1e-2) }
        // A large penalty shrinks predictions towards zero.
        let shrunk = try DomainAdaptiveKernelRidge(centroids: c, targets: t, dimension: 3, gamma: 8, alpha: 1e4).predict(c)
        XCTAssert(shrunk.allSatisfy { abs($0) < 0.01 })
    }
}
