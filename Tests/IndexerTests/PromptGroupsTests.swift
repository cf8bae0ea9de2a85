import Foundation
import XCTest
@testable import Learning
@testable import Metadata
@testable import RevsdSystem

/// Learning by prompt (#12 item 5): the split keeps each normalised prompt on
/// one side, each distinct prompt weighs once, tiny images are left out.
final class PromptGroupsTests: XCTestCase {
    func testPromptsDifferingInSyntaxCaseOrSpacingAreOneGroup() {
        let key = PromptText.groupKey("1girl, solo, hatsune miku")
        for variant in ["(1girl:1.2),  Solo, ((hatsune miku))", "1GIRL, solo,\thatsune  [miku]", " 1girl , solo , hatsune miku "] {
            XCTAssertEqual(PromptText.groupKey(variant), key, variant)
        }
        XCTAssertNotEqual(PromptText.groupKey("1girl, solo, hatsune miku, smile"), key)
        let groups = PromptGroups(keys: ["a", "b", "a", "c", "b", "a"])
        XCTAssertEqual(groups.ids, [0, 1, 0, 2, 1, 0])
        for (w, expected) in zip(groups.weights(of: [0, 1, 2, 3, 4, 5]), [2.0 / 3, 1, 2.0 / 3, 2, 1, 2.0 / 3] as [Float]) {
            XCTAssertEqual(w, expected, accuracy: 1e-6, "1/size, scaled to mean 1")
        }
    }

    /// 300 prompts, each 1–6 images whose raw prompts differ only in
    /// attention syntax, case or spacing: no normalised prompt on both sides,
    /// and validation about a tenth of the images.
    func testTheSplitNeverPutsOnePromptOnBothSides() {
        var rng = SeededGenerator(seed: 3)
        var raw: [String] = []
        for p in 0..<300 {
            let base = "subject \(p), style \(p % 7), detailed"
            let variants = ["(\(base):1.1)", base.uppercased(), base.replacingOccurrences(of: " ", with: "  "), "((subject \(p))), style \(p % 7), detailed", base]
            for _ in 0..<(1 + Int(rng.next() % 6)) { raw.append(variants[Int(rng.next() % UInt64(variants.count))]) }
        }
        let keys = raw.map(PromptText.groupKey)
        XCTAssertEqual(Set(keys).count, 300, "the variants of one prompt normalise to one key")
        let mask = PromptGroups(keys: keys).validationMask()
        var side: [String: Bool] = [:]
        for (k, v) in zip(keys, mask) {
            if let s = side[k] { XCTAssertEqual(s, v, "\(k) is on both sides") }
            side[k] = v
        }
        let share = Double(mask.filter { $0 }.count) / Double(mask.count)
        XCTAssert((0.05...0.2).contains(share), "validation share \(share)")
        XCTAssertEqual(PromptGroups(keys: keys).validationMask(), mask, "deterministic")
    }

    /// One prompt repeated 40 times among 20 others: validation stays under
    /// a fifth of the images and at least two, never the repeated prompt.
    func testASkewedLibraryKeepsASensibleValidationFraction() {
        let keys = [String](repeating: "1girl, solo, hatsune miku", count: 40) + (0..<20).map { "prompt \($0)" }
        let mask = PromptGroups(keys: keys).validationMask()
        let validation = mask.filter { $0 }.count
        XCTAssert((2...12).contains(validation), "\(validation) of 60")
        XCTAssertFalse(mask[0], "the dominant prompt (40 of 60 images) would be two thirds of validation")
        XCTAssertEqual(PromptGroups(keys: ["a", "a", "a", "b"]).validationMask(), [false, false, false, true], "two prompts: the smaller one")
    }

    func testWeightedRidgeEqualsDuplicatedRows() throws {
        var rng = SeededGenerator(seed: 5)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let n = 12, d = 3, m = 2
        let x = (0..<(n * d)).map { _ in r() }, y = (0..<(n * m)).map { _ in r() }
        let weighted = try RidgeRegressor(x: x, y: y, count: n, alpha: 0.5, weights: [3] + [Float](repeating: 1, count: n - 1))
        let duplicated = try RidgeRegressor(x: Array(x[0..<d]) + Array(x[0..<d]) + x, y: Array(y[0..<m]) + Array(y[0..<m]) + y,
                                            count: n + 2, alpha: 0.5)
        for (a, b) in zip(weighted.weights + weighted.bias, duplicated.weights + duplicated.bias) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    /// One prompt repeated 40× and 20 distinct prompts of one image each in
    /// training; a second image of each distinct prompt held out. Weighing
    /// each prompt once must predict those held-out images better than
    /// weighing each image once (which pulls every prediction toward the
    /// repeated prompt).
    func testWeightedRidgeIsNotPulledTowardTheDominantPrompt() throws {
        var rng = SeededGenerator(seed: 7)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let d = 24, m = 16
        func unit(_ v: [Float]) -> [Float] { var v = v; EnsembleWeights.normalizeRows(&v, m); return v }
        let map = (0..<(m * d)).map { _ in r() }
        func features(_ t: [Float]) -> [Float] { (0..<d).map { j in (0..<m).reduce(Float(0)) { $0 + t[$1] * map[$1 * d + j] } + 0.8 * r() } }
        let dominant = unit((0..<m).map { _ in r() })
        let others = (0..<20).map { _ in unit((0..<m).map { _ in r() }) }
        var x: [Float] = [], y: [Float] = [], keys: [String] = []
        for _ in 0..<40 { x += features(dominant); y += dominant; keys.append("1girl, solo, hatsune miku") }
        for (i, t) in others.enumerated() { x += features(t); y += t; keys.append("prompt \(i)") }
        var heldX: [Float] = [], heldY: [Float] = []
        for t in others { heldX += features(t); heldY += t }
        let groups = PromptGroups(keys: keys)
        let rows = Array(0..<keys.count)
        // (held-out mean cosine with the true prompts, mean cosine with the dominant prompt)
        func score(_ weights: [Float]?) throws -> (truth: Float, pull: Float) {
            var p = try RidgeRegressor(x: x, y: y, count: rows.count, alpha: 10, weights: weights).predict(heldX)
            EnsembleWeights.normalizeRows(&p, m)
            let toDominant = [Float]((0..<20).flatMap { _ in dominant })
            return (EnsembleWeights.meanCosine(p, heldY, dimension: m), EnsembleWeights.meanCosine(p, toDominant, dimension: m))
        }
        let plain = try score(nil), weighted = try score(groups.weights(of: rows))
        print("skewed ridge, held-out images of the 20 distinct prompts: mean cosine unweighted \(plain.truth), weighted \(weighted.truth); "
              + "toward the dominant prompt unweighted \(plain.pull), weighted \(weighted.pull)")
        XCTAssertGreaterThan(weighted.truth, plain.truth + 0.01, "unweighted \(plain), weighted \(weighted)")
        XCTAssertLessThan(weighted.pull, plain.pull - 0.05, "unweighted \(plain), weighted \(weighted)")
        XCTAssertEqual(EnsembleWeights.meanCosine(heldY, heldY, dimension: m, weights: [Float](repeating: 2, count: 20)), 1, accuracy: 1e-5)
    }

    /// Images under 32 px on a side are left out of training and validation
    /// and counted in the report, which also counts the distinct prompts.
    func testTinyImagesAreLeftOutAndCounted() throws {
        var rng = SeededGenerator(seed: 9)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let n = 48, d = 8, m = 8
        var data = TrainingSet()
        for i in 0..<n {
            var t = (0..<m).map { _ in r() }
            EnsembleWeights.normalizeRows(&t, m)
            data.ids.append(Int64(i + 1))
            data.contentHashes.append(SHA256.hex(string: "\(i)"))
            data.prompts.append("thing \(i / 2)")
            data.promptKeys.append("thing \(i / 2)")
            // 1×1, 16×512 and 512×31 are tiny; 0×0 (unknown) is kept.
            let size = [(1, 1), (16, 512), (512, 31), (0, 0), (32, 32)][i < 4 ? i : 4]
            data.widths.append(size.0); data.heights.append(size.1)
            data.targets += t
            data.features["enc", default: []] += t.map { $0 + 0.1 * r() }
        }
        let (kept, excluded) = data.excludingTinyImages()
        XCTAssertEqual(excluded, 3)
        XCTAssertEqual(kept.ids, Array(4...Int64(n)))
        var options = TrainingOptions()
        options.maxEpochs = 2
        let result = try LibraryTrainer(options: options).train(data)
        let report = result.model.report
        XCTAssertEqual(report.excludedTinyImages, 3)
        XCTAssertEqual(report.examples, n - 3)
        XCTAssertEqual(report.trainExamples + report.validationExamples, n - 3)
        XCTAssertEqual(report.distinctPrompts, 23, "thing 0 has only tiny images; thing 1 keeps its 0×0 image")
        XCTAssertEqual(Set(result.alignments.map(\.id)), Set(kept.ids), "tiny images get no alignment")
    }
}
