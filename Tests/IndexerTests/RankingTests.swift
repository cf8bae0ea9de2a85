import Foundation
import XCTest
@testable import Search

/// Issue #12, ranking: a labelled image is ranked by the prompt it carries
/// (its prediction does not compete); an unlabelled one by its prediction,
/// by what it says of its true prompt's cosine to the query: ρ·c, lifted by
/// one step of its uncertainty, √(1 − ρ²)·σ (σ: the query's spread over the
/// known prompts).
final class RankingTests: XCTestCase {
    /// A unit vector at cosine `c` to e0, in the e0/e(axis) plane.
    func at(_ c: Float, axis: Int, d: Int = 8) -> [Float] {
        var v = [Float](repeating: 0, count: d)
        v[0] = c; v[axis] = (1 - c * c).squareRoot()
        return v
    }

    /// The measurement the issue starts from: "a horse" put a guess ("big
    /// red dog playing with cat", 0.446) above the only horse (0.437).
    func testAKnownPromptIsNotOutrankedByAGuessNorLiftedByItsOwnPrediction() {
        let index = SearchIndex(dimension: 8)
        let query = at(1, axis: 1)
        index.set(1, kind: .knownPrompt, vector: at(0.437, axis: 1))   // the horse, labelled
        index.set(1, kind: .predicted, vector: at(0.95, axis: 2))      // its own guess, nearer the query
        index.set(2, kind: .predicted, vector: at(0.446, axis: 3))     // an unlabelled image's guess
        index.set(3, kind: .knownPrompt, vector: at(0.1, axis: 4))     // an unrelated real prompt
        index.set(3, kind: .predicted, vector: at(0.5, axis: 5))

        let best = index.search(query, k: 3, allowed: nil, ranking: .bestRow)
        XCTAssertEqual(best.map(\.id), [1, 3, 2], "best row: predictions compete")
        XCTAssertEqual(best[0].kind, .predicted)

        let ranked = index.search(query, k: 3, allowed: nil, ranking: .prompts(predictionConfidence: 0.5))
        XCTAssertEqual(ranked.map(\.id), [1, 2, 3])
        XCTAssertEqual(ranked.map(\.kind), [.knownPrompt, .predicted, .knownPrompt])
        XCTAssertEqual(ranked[0].score, 0.437, accuracy: 1e-5, "the horse by its prompt, not its guess")
        // σ over the known prompts' cosines to the query (0.437 and 0.1).
        let sigma: Float = (0.437 - 0.1) / 2
        XCTAssertEqual(ranked[1].score, 0.5 * 0.446 + (1 - 0.25 as Float).squareRoot() * sigma, accuracy: 1e-5,
                       "a guess: its expected cosine to the truth, one step of its uncertainty above")
        XCTAssertEqual(ranked[2].score, 0.1, accuracy: 1e-5, "a labelled image's prediction never lifts it")
        // Filters apply as before.
        XCTAssertEqual(index.search(query, k: 3, allowed: [2, 3], ranking: .prompts(predictionConfidence: 0.5)).map(\.id), [2, 3])
    }

    /// The same rule in a large index (codes, two passes) as in the exact
    /// scan: the approximate result equals the rule applied to the rows the
    /// index holds (decoded), when the first pass keeps every row.
    func testTheApproximateScanRanksByTheSameRule() {
        var rng = SystemRandomNumberGenerator()
        let d = 32
        func unit() -> [Float] {
            let v = (0..<d).map { _ in Float.random(in: -1...1, using: &rng) }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / n }
        }
        let index = SearchIndex(dimension: d, approximateAbove: 64)
        for id in 0..<600 as Range<Int64> {
            index.set(id, kind: .predicted, vector: unit())
            if id % 2 == 0 { index.set(id, kind: .knownPrompt, vector: unit()) }
        }
        XCTAssertTrue(index.isApproximate)
        let held = index.heldRows()
        let ranking = Ranking.prompts(predictionConfidence: 0.6)
        for _ in 0..<20 {
            let q = unit()
            var perImage: [Int64: (score: Float, kind: SearchIndex.RowKind?)] = [:]
            let cosines = held.ids.indices.map { i in zip(held.vectors[(i * d)..<(i * d + d)], q).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            let known = zip(cosines, held.kinds).filter { $0.1 == .knownPrompt }.map { Double($0.0) }
            let mean = known.reduce(0, +) / Double(known.count)
            let sigma = Float((known.reduce(0) { $0 + $1 * $1 } / Double(known.count) - mean * mean).squareRoot())
            for (i, (id, kind)) in zip(held.ids, held.kinds).enumerated() {
                let cos = cosines[i]
                let s = kind == .knownPrompt ? cos : 0.6 * cos + 0.8 * sigma
                if kind == .knownPrompt || perImage[id]?.kind != .knownPrompt { perImage[id] = (s, kind) }
            }
            let expected = perImage.sorted { $0.value.score > $1.value.score || ($0.value.score == $1.value.score && $0.key < $1.key) }.prefix(10)
            let got = index.search(q, k: 10, allowed: nil, ranking: ranking)
            XCTAssertEqual(got.map(\.id), expected.map(\.key))
            XCTAssertEqual(got.map(\.kind), expected.map(\.value.kind))
            for (g, e) in zip(got, expected) { XCTAssertEqual(g.score, e.value.score, accuracy: 2e-3) }
        }
    }

    /// The lift is the query's own: the same guess rises where the known
    /// prompts spread widely about the query, not where they all meet it
    /// alike; a certain prediction (ρ = 1) is not lifted, and `.bestRow`
    /// never is.
    func testAPredictionIsLiftedByOneStepOfTheQuerysSpread() {
        let index = SearchIndex(dimension: 8)
        index.set(1, kind: .predicted, vector: at(0.4, axis: 1))
        // Known prompts at cosines 0.2 and 0.6 to e0, both at 0.0 to e5.
        index.set(2, kind: .knownPrompt, vector: at(0.2, axis: 2))
        index.set(3, kind: .knownPrompt, vector: at(0.6, axis: 3))
        let wide = at(1, axis: 1)   // e0
        var narrow = [Float](repeating: 0, count: 8); narrow[0] = 0.4; narrow[5] = (1 - 0.16 as Float).squareRoot()
        func score(_ q: [Float], _ ranking: Ranking) -> Float? { index.search(q, k: 3, allowed: nil, ranking: ranking).first { $0.id == 1 }?.score }
        let rho: Float = 0.6, lift: Float = 0.8   // √(1 − 0.36)
        // e0: the guess at 0.4, the prompts at 0.2 / 0.6 (σ 0.2).
        XCTAssertEqual(score(wide, .prompts(predictionConfidence: rho)) ?? 0, rho * 0.4 + lift * 0.2, accuracy: 1e-5)
        // The narrow query meets the guess at 0.16 and both prompts at 0.08 / 0.24 (σ 0.08).
        XCTAssertEqual(score(narrow, .prompts(predictionConfidence: rho)) ?? 0, rho * 0.16 + lift * 0.08, accuracy: 1e-5)
        XCTAssertEqual(score(wide, .prompts(predictionConfidence: 1)) ?? 0, 0.4, accuracy: 1e-5, "a certain prediction: its cosine")
        XCTAssertEqual(score(wide, .bestRow) ?? 0, 0.4, accuracy: 1e-5)
        // One known prompt: no spread to measure, no lift.
        index.remove(3)
        XCTAssertEqual(score(wide, .prompts(predictionConfidence: rho)) ?? 0, rho * 0.4, accuracy: 1e-5)
    }

    /// After training, an image outside what the learned heads were measured
    /// on keeps its zero-shot prediction: it ranks with zero-shot's ρ, not
    /// the model's; and an image's prediction is one row whichever made it.
    func testAZeroShotPredictionRanksWithZeroShotsConfidence() {
        let index = SearchIndex(dimension: 8)
        let query = at(1, axis: 1)
        index.set(1, kind: .predicted, vector: at(0.5, axis: 2))
        index.set(2, kind: .zeroShotPredicted, vector: at(0.5, axis: 3))
        index.set(3, kind: .knownPrompt, vector: at(0.3, axis: 4))
        index.set(4, kind: .knownPrompt, vector: at(0.1, axis: 5))
        let sigma: Float = 0.1   // the known prompts at 0.3 and 0.1
        let ranking = Ranking.prompts(learned: 0.9, zeroShot: 0.4)
        let hits = index.search(query, k: 4, allowed: nil, ranking: ranking)
        XCTAssertEqual(hits.map(\.id), [1, 3, 2, 4])
        XCTAssertEqual(hits[0].score, 0.9 * 0.5 + (1 - 0.81 as Float).squareRoot() * sigma, accuracy: 1e-5)
        XCTAssertEqual(hits[2].score, 0.4 * 0.5 + (1 - 0.16 as Float).squareRoot() * sigma, accuracy: 1e-5)
        XCTAssertEqual(hits.map(\.kind), [.predicted, .knownPrompt, .zeroShotPredicted, .knownPrompt])
        XCTAssertEqual(hits.map { ranking.confidence(of: $0.kind) }, [0.9, 1, 0.4, 1])
        // Retrained, image 2 is in the domain now: its learned prediction replaces the zero-shot one.
        index.set(2, kind: .predicted, vector: at(0.5, axis: 3))
        XCTAssertEqual(index.snapshot()[2].map { Set($0.keys) }, [.predicted])
        index.set(3, kind: .zeroShotPredicted, vector: at(0.9, axis: 6))
        XCTAssertEqual(index.snapshot()[3].map { Set($0.keys) }, [.knownPrompt, .zeroShotPredicted])
        XCTAssertEqual(index.search(query, k: 4, allowed: nil, ranking: ranking).first { $0.id == 3 }?.kind, .knownPrompt,
                       "a labelled image is ranked by its prompt, whatever made its prediction")
        // The agreement measures both origins alike.
        XCTAssertEqual(index.predictionAgreement(maxAge: .zero)?.images, 1)
    }

    func testPredictionAgreementIsTheMeanCosineOfPredictionsToKnownPrompts() {
        let index = SearchIndex(dimension: 8)
        XCTAssertNil(index.predictionAgreement())
        index.set(1, kind: .predicted, vector: at(1, axis: 1))
        XCTAssertNil(index.predictionAgreement(), "no labelled image")
        index.set(1, kind: .knownPrompt, vector: at(0.8, axis: 1))
        index.set(2, kind: .predicted, vector: at(1, axis: 1))
        index.set(2, kind: .knownPrompt, vector: at(0.4, axis: 2))
        index.set(3, kind: .knownPrompt, vector: at(0.0, axis: 3))   // labelled, no prediction: not measured
        let a = index.predictionAgreement(maxAge: .zero)
        XCTAssertEqual(a?.images, 2)
        XCTAssertEqual(a?.mean ?? 0, 0.6, accuracy: 1e-6)
        // Recomputed after a change (the cache follows the rows).
        index.remove(2)
        XCTAssertEqual(index.predictionAgreement(maxAge: .zero)?.mean ?? 0, 0.8, accuracy: 1e-6)
    }
}
