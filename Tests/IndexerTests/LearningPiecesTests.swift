import Foundation
import XCTest
@testable import Learning
@testable import RevsdSystem

/// Prompt corpora, the prompt bank, ensemble weights, tiers and the learned
/// model's storage, on data where the answer is known.
final class LearningPiecesTests: XCTestCase {
    func testCorporaOfEveryFormatGiveTheirPrompts() throws {
        XCTAssertEqual(try PromptCorpus.parse("a cat\r\n\n  a dog  \na cat\n", format: .text), ["a cat", "a dog"])
        let csv = "id,Prompt,seed\n1,\"a cat, sitting\",3\n2,\"she said \"\"hi\"\"\nthen left\",4\n3,plain,5\n"
        XCTAssertEqual(try PromptCorpus.parse(csv, format: .csv), ["a cat, sitting", "she said \"hi\"\nthen left", "plain"])
        XCTAssertEqual(try PromptCorpus.parse("prompt\tsource\nred horse\tx\nblue sky\ty\n", format: .tsv), ["red horse", "blue sky"])
        XCTAssertEqual(try PromptCorpus.parse("{\"prompt\": \"a\"}\n\"b\"\n{\"text\": \"c\", \"n\": 1}\n", format: .jsonl), ["a", "b", "c"])
        let ddb = "{\"b.png\": {\"p\": \"second\", \"se\": 1}, \"a.png\": {\"p\": \"first\", \"c\": 7}}"
        XCTAssertEqual(try PromptCorpus.parse(ddb, format: .diffusionDB), ["first", "second"])
        XCTAssertEqual(PromptCorpus.format(of: "/x/part-000001.json"), .diffusionDB)
        XCTAssertEqual(PromptCorpus.format(of: "prompts.TSV"), .tsv)
    }

    func testMalformedCorporaNameTheFileAndLine() {
        XCTAssertThrowsError(try PromptCorpus.parse("{\"prompt\": \"a\"}\n{oops\n", format: .jsonl, path: "c.jsonl")) {
            XCTAssertEqual("\($0)", "c.jsonl:2: not a JSON value")
        }
        XCTAssertThrowsError(try PromptCorpus.parse("id,seed\n1,2\n", format: .csv, path: "p.csv")) {
            XCTAssert("\($0)".hasPrefix("p.csv:1: no prompt column"), "\($0)")
        }
        XCTAssertThrowsError(try PromptCorpus.parse("prompt\n\"never closed\n", format: .csv, path: "q.csv")) {
            XCTAssertEqual("\($0)", "q.csv:2: a quoted field is never closed")
        }
        XCTAssertThrowsError(try PromptCorpus.read(path: "/nonexistent/x.txt")) { XCTAssert("\($0)".hasPrefix("/nonexistent/x.txt: cannot read")) }
        XCTAssertThrowsError(try PromptCorpus.read(path: "/tmp/x.bin")) { XCTAssert("\($0)".contains("unknown corpus format")) }
    }

    func testTheBankFindsTheNearestPromptsInOrder() {
        var bank = PromptBank(dimension: 3)
        bank.add(["x", "y", "z", "xy"], vectors: [2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0])
        bank.add(["x"], vectors: [0, 0, 5])   // a duplicate text keeps its first vector
        XCTAssertEqual(bank.count, 4)
        let n = bank.nearest([1, 0.1, 0, 0, 0, -1], k: 2)
        XCTAssertEqual(n[0].map(\.prompt), ["x", "xy"])
        XCTAssertEqual(n[0][0].cosine, 1, accuracy: 1e-6)
        XCTAssertEqual(n[1].map(\.prompt).first, "x", "ties at 0 keep bank order")
        XCTAssertEqual(bank.excluding(["x"]).nearest([1, 0, 0], k: 1)[0][0].prompt, "xy")
    }

    func testEnsembleWeightsFavourTheMemberThatIsRight() {
        var rng = SeededGenerator(seed: 4)
        let d = 8, n = 60
        func unit() -> [Float] { var v = (0..<d).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }; EnsembleWeights.normalizeRows(&v, d); return v }
        var truth: [Float] = [], noisy: [Float] = [], noise: [Float] = []
        for _ in 0..<n {
            let t = unit(), z = unit()
            truth += t
            var a = zip(t, z).map { $0 + 0.3 * $1 }; EnsembleWeights.normalizeRows(&a, d); noisy += a
            noise += unit()
        }
        let w = EnsembleWeights.fit(members: [noise, noisy], targets: truth, dimension: d)
        XCTAssertGreaterThan(w[1], 0.9, "\(w)")
        XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-5)
        let fitted = EnsembleWeights.meanCosine(EnsembleWeights.combine([noise, noisy], weights: w, dimension: d), truth, dimension: d)
        let equal = EnsembleWeights.meanCosine(EnsembleWeights.combine([noise, noisy], weights: [0.5, 0.5], dimension: d), truth, dimension: d)
        XCTAssertGreaterThan(fitted, equal)
    }

    func testKNNForSeveralKAtOnceEqualsOneKAtATime() {
        var rng = SeededGenerator(seed: 8)
        let n = 300, d = 6, m = 4
        let x = (0..<(n * d)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let y = (0..<(n * m)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let q = (0..<(25 * d)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let knn = KNNRegressor(features: x, targets: y, count: n, k: 5)
        let many = knn.predict(q, ks: [1, 7, 40])
        for (i, k) in [1, 7, 40].enumerated() { XCTAssertEqual(many[i], knn.predict(q, k: k)) }
        XCTAssertNotEqual(many[0], many[2])
    }

    /// Started at the mean target, the MLP is never kept worse on validation
    /// than the constant baseline, even when the features say nothing.
    func testAnMLPStartedAtTheMeanNeverEndsBelowTheConstant() throws {
        var rng = SeededGenerator(seed: 12)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let d = 40, m = 8, n = 24, nv = 30
        let direction: [Float] = (0..<m).map { _ in r() }
        func rows(_ count: Int) -> (x: [Float], y: [Float]) {
            var y: [Float] = []
            for _ in 0..<count { var t = direction.map { $0 + 0.8 * r() }; EnsembleWeights.normalizeRows(&t, m); y += t }
            return ((0..<(count * d)).map { _ in r() }, y)
        }
        let (x, y) = rows(n), (vx, vy) = rows(nv)
        var mean = [Float](repeating: 0, count: m)
        for i in 0..<n { for j in 0..<m { mean[j] += y[i * m + j] / Float(n) } }
        var config = MLPConfig.sized(inputs: d, examples: n)
        config.outputs = m
        config.maxEpochs = 40
        config.learningRate = 0.3   // big steps on noise: every epoch is worse than the start
        config.mlcWeight = 0
        config.initialOutputBias = mean
        let result = try MLPTrainer.train(try MLPExamples(x: x, y: y, count: n), validation: try MLPExamples(x: vx, y: vy, count: nv), config: config)
        let constant = EnsembleWeights.meanCosine([Float]((0..<nv).flatMap { _ in mean }), vy, dimension: m)
        XCTAssertGreaterThanOrEqual(result.validationCosine, constant - 1e-5)
        XCTAssertEqual(EnsembleWeights.meanCosine(result.head.predict(vx, rows: nv), vy, dimension: m), result.validationCosine, accuracy: 1e-5)
    }

    func testTiersSplitTheTrainingScoresInThirds() {
        let scores: [Float] = [0.9, 0.1, 0.5, 0.8, 0.2, 0.6, 0.05, 0.95]
        let tiers = LibraryTrainer.tiers(scores: scores, trainingMask: [true, true, true, true, true, true, false, false])
        XCTAssertEqual(tiers, [.easy, .hard, .medium, .easy, .hard, .medium, .hard, .easy], "thirds of the six training scores: {0.1, 0.2} hard, {0.5, 0.6} medium, {0.8, 0.9} easy")
    }

    func testTheValidationSplitIsNeverEmpty() {
        for n in [20, 30, 45] {
            let mask = PromptGroups(keys: (0..<n).map { "prompt \($0)" }).validationMask()
            XCTAssertGreaterThanOrEqual(mask.filter { $0 }.count, max(2, n / 20), "\(n) prompts")
        }
    }

    /// A planted problem: features are noisy copies of the target direction
    /// through a fixed linear map; the whole trainer must learn it, beat the
    /// constant baseline, and survive a save/load round trip unchanged.
    func testTheTrainerLearnsAPlantedMapAndTheModelRoundTrips() throws {
        var rng = SeededGenerator(seed: 11)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let n = 240, d = 24, m = 16, classes = 8
        let centres = (0..<classes).map { _ -> [Float] in var v = (0..<m).map { _ in r() }; EnsembleWeights.normalizeRows(&v, m); return v }
        let map = (0..<(m * d)).map { _ in r() }
        var data = TrainingSet()
        var xs: [Float] = []
        for i in 0..<n {
            let c = i % classes
            var t = centres[c].map { $0 + 0.1 * r() }
            EnsembleWeights.normalizeRows(&t, m)
            data.ids.append(Int64(i + 1))
            data.contentHashes.append(SHA256.hex(string: "\(i)"))
            data.prompts.append("shape\(c) colour\(c % 3) thing")
            data.targets += t
            for j in 0..<d { xs.append((0..<m).reduce(Float(0)) { $0 + t[$1] * map[$1 * d + j] } + 0.05 * r()) }
        }
        data.features["enc"] = xs
        var options = TrainingOptions()
        options.maxEpochs = 60
        let result = try LibraryTrainer(options: options).train(data)
        let report = result.model.report
        XCTAssertGreaterThan(report.ensembleCosine, 0.9)
        XCTAssertGreaterThan(report.ensembleCosine, report.constantCosine + 0.2)
        for row in report.rows { XCTAssertGreaterThan(row.meanCosine, report.constantCosine, "\(row)") }
        XCTAssertEqual(Set(report.rows.map { "\($0.head.rawValue) \($0.technique.rawValue)" }),
                       ["ridge vanilla", "knn k-NN", "mlp vanilla", "mlp +MLC", "mlp +MLC+CL", "dakl +DAKL"])
        XCTAssertEqual(result.alignments.count, n)
        XCTAssertEqual(Set(result.alignments.map(\.tier)), [.easy, .medium, .hard])
        let dir = TemporaryDirectory()
        let path = dir.path("heads.safetensors")
        try result.model.save(to: path)
        let loaded = try LearnedModel(path: path)
        let probe = Array(xs[0..<(5 * d)])
        XCTAssertEqual(loaded.predict(features: ["enc": probe], rows: 5).ensemble,
                       result.model.predict(features: ["enc": probe], rows: 5).ensemble)
        XCTAssertEqual(loaded.vocabulary, result.model.vocabulary)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try LearnedModel(path: path)) { XCTAssert("\($0)".contains(path), "\($0)") }
    }
}
