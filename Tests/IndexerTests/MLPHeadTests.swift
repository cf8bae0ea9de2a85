import Foundation
import Inference
import XCTest
@testable import Learning

/// Planted data for the MLP head: features x ~ N(0, 1), targets y = normalize(W·x).
struct PlantedData {
    var x: [Float] = []
    var y: [Float] = []
    var keywords: [[Int32]] = []

    static func normal(_ rng: inout SeededGenerator) -> Float {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    static func unit(_ v: [Float]) -> [Float] {
        let n = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return v.map { $0 / n }
    }

    /// `count` examples of dimension `inputs` → `outputs`; word k (of
    /// `words` ≤ `inputs`) is present when x_k > 0.5, or when k is the row's
    /// argmax over the first `words` features (so every example has a word).
    init(count: Int, inputs: Int, outputs: Int, words: Int = 0, seed: UInt64, mapSeed: UInt64 = 99) {
        precondition(words <= inputs)
        var map = SeededGenerator(seed: mapSeed)
        let w = (0..<(outputs * inputs)).map { _ in Self.normal(&map) }     // (outputs, inputs)
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<count {
            let row = (0..<inputs).map { _ in Self.normal(&rng) }
            x += row
            y += Self.unit((0..<outputs).map { o in (0..<inputs).reduce(0) { $0 + w[o * inputs + $1] * row[$1] } })
            if words > 0 {
                let top = (0..<words).max { row[$0] < row[$1] }!
                keywords.append((0..<words).filter { $0 == top || row[$0] > 0.5 }.map { Int32($0) })
            }
        }
    }

    func examples(_ count: Int) throws -> MLPExamples { try MLPExamples(x: x, y: y, count: count, keywords: keywords) }
}

/// Mean cosine between rows of a and b (rows, d).
func meanCosine(_ a: [Float], _ b: [Float], d: Int) -> Float {
    let rows = a.count / d
    var s: Float = 0
    for r in 0..<rows {
        let u = PlantedData.unit(Array(a[(r * d)..<((r + 1) * d)])), v = PlantedData.unit(Array(b[(r * d)..<((r + 1) * d)]))
        s += zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
    }
    return s / Float(rows)
}

final class MLPHeadTests: XCTestCase {
    // MARK: Gradients

    /// Analytic gradients of one tensor against central differences, as
    /// ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖).
    static func relativeError(_ a: ArraySlice<Float>, _ f: ArraySlice<Double>) -> Double {
        var diff = 0.0, na = 0.0, nf = 0.0
        for (x, y) in zip(a, f) { diff += (Double(x) - y) * (Double(x) - y); na += Double(x) * Double(x); nf += y * y }
        return diff.squareRoot() / max(na.squareRoot(), nf.squareRoot(), 1e-12)
    }

    /// A tiny net (5 → [7] → 4, 3 keywords, batch 6, no dropout) in training
    /// mode; returns the workspace with its batch loaded.
    func tinyWorkspace(mlcWeight: Float) -> MLPWorkspace {
        let layout = MLPLayout(inputs: 5, hidden: [7], outputs: 4, keywords: 3)
        // δ = 0.1 puts some residuals on each side of Huber's kink.
        let config = MLPConfig(hidden: [7], outputs: 4, dropout: 0, batchSize: 6, mlcWeight: mlcWeight, huberDelta: 0.1, seed: 11)
        let ws = MLPWorkspace(layout: layout, config: config)
        var rng = SeededGenerator(seed: 21)
        // γ and β away from 1 and 0, so their gradients are generic.
        for slot in layout.slots where slot.kind == .norm {
            for i in 0..<slot.count { ws.parameters.pointer[slot.offset + i] = 0.5 + PlantedData.normal(&rng) * 0.3 }
        }
        let data = PlantedData(count: 6, inputs: 5, outputs: 4, words: 3, seed: 4)
        let keywords: [[Int32]] = [[0], [1, 2], [], [2], [0, 1, 2], [1]]
        let all: [Int32] = Array(0..<6)
        data.x.withUnsafeBufferPointer { x in
            data.y.withUnsafeBufferPointer { y in
                all.withUnsafeBufferPointer { ws.load(x: x.baseAddress!, y: y.baseAddress!, keywords: keywords, indices: $0) }
            }
        }
        return ws
    }

    func lossAndGradients(_ ws: MLPWorkspace) -> (Double, [Float]) {
        ws.forward(rows: 6, updateStatistics: false)
        let loss = ws.backward(rows: 6)
        return (loss, ws.gradients.array)
    }

    func numericGradients(_ ws: MLPWorkspace, epsilon: Float) -> [Double] {
        let p = ws.parameters.pointer
        return (0..<ws.layout.parameterCount).map { i in
            let saved = p[i]
            p[i] = saved + epsilon
            let plus = lossAndGradients(ws).0
            p[i] = saved - epsilon
            let minus = lossAndGradients(ws).0
            p[i] = saved
            // Divide by the step actually taken (saved ± ε rounds in Float).
            return (plus - minus) / (Double(saved + epsilon) - Double(saved - epsilon))
        }
    }

    func testGradientsMatchCentralDifferencesForEveryTensor() {
        let ws = tinyWorkspace(mlcWeight: 0.5)
        let (loss, analytic) = lossAndGradients(ws)
        XCTAssert(loss.isFinite && loss > 0)
        // ε = 3e-3 balances Float rounding in the forward pass (worse for smaller
        // ε) against the O(ε²) truncation of central differences (worse for larger):
        // measured worst errors 2.3e-3 at ε = 3e-4, 9e-4 at 1e-3, 3.3e-4 at 3e-3, 9.6e-4 at 1e-2.
        let numeric = numericGradients(ws, epsilon: 3e-3)
        let tolerance = 1e-3
        var worst = 0.0
        for slot in ws.layout.slots where slot.kind != .statistic {
            let range = slot.offset..<(slot.offset + slot.count)
            let error = Self.relativeError(analytic[range], numeric[range])
            worst = max(worst, error)
            XCTAssertLessThan(error, tolerance, "\(slot.name): relative error \(error)")
            XCTAssertGreaterThan(numeric[range].map(abs).max() ?? 0, 1e-5, "\(slot.name) has a gradient to check")
        }
        print("MLP gradient check: worst per-tensor relative error \(worst) (tolerance \(tolerance))")

        // The check has teeth: 5 % off the largest entry of any one tensor fails it…
        for slot in ws.layout.slots where slot.kind != .statistic {
            let range = slot.offset..<(slot.offset + slot.count)
            var wrong = analytic
            let k = range.max { abs(analytic[$0]) < abs(analytic[$1]) }!
            wrong[k] *= 1.05
            XCTAssertGreaterThan(Self.relativeError(wrong[range], numeric[range]), tolerance, "a 5 % error in \(slot.name) is caught")
        }
        // …and so does a gradient that forgot the λ·BCE term.
        let (_, withoutKeywords) = lossAndGradients(tinyWorkspace(mlcWeight: 0))
        let mlc = ws.layout.slots.first { $0.name == "mlc.weight" }!
        let mlcRange = mlc.offset..<(mlc.offset + mlc.count)
        XCTAssertGreaterThan(Self.relativeError(withoutKeywords[mlcRange], numeric[mlcRange]), tolerance)
        let out = ws.layout.slots.first { $0.name == "output.weight" }!
        let outRange = out.offset..<(out.offset + out.count)
        XCTAssertGreaterThan(Self.relativeError(withoutKeywords[outRange], numeric[outRange]), tolerance)
    }

    func testTrainingModeBatchNormNormalisesAndMovesTheRunningStatistics() {
        let ws = tinyWorkspace(mlcWeight: 0.5)
        ws.forward(rows: 6, updateStatistics: true)
        let xh = ws.normalized[0].array, h = 7
        for j in 0..<h {
            let column = (0..<6).map { xh[$0 * h + j] }
            let mean = column.reduce(0, +) / 6
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 6
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(variance, 1, accuracy: 1e-2, "biased variance, ε = 1e-5")
        }
        let block = ws.layout.blocks[0], s = ws.statistics.array
        // Running mean 0.9·0 + 0.1·μ, running variance 0.9·1 + 0.1·unbiased variance.
        let z = ws.preActivations[0].array
        for j in 0..<h {
            let g = (0..<6).map { r -> Float in let v = z[r * h + j]; return 0.5 * v * (1 + Float(erf(Double(v) / 2.0.squareRoot()))) }
            let mean = g.reduce(0, +) / 6
            let unbiased = g.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 5
            XCTAssertEqual(s[block.mean + j], 0.1 * mean, accuracy: 1e-5)
            XCTAssertEqual(s[block.variance + j], 0.9 + 0.1 * unbiased, accuracy: 1e-5)
        }
    }

    // MARK: Learning

    func testItLearnsAPlantedMapFarAboveTheMeanTarget() throws {
        let d = 16, outputs = 384
        let train = PlantedData(count: 500, inputs: d, outputs: outputs, seed: 1)
        let valid = PlantedData(count: 100, inputs: d, outputs: outputs, seed: 2)
        // lr 1e-2 (not the default 1e-4) so 200 steps suffice in a debug build.
        let config = MLPConfig(hidden: [32], outputs: outputs, learningRate: 1e-2, maxEpochs: 25, patience: 10, mlcWeight: 0, seed: 3)
        let start = Date()
        let result = try MLPTrainer.train(try train.examples(500), validation: try valid.examples(100), config: config)
        let seconds = Date().timeIntervalSince(start)
        // The constant predictor: the mean training target.
        var mean = [Float](repeating: 0, count: outputs)
        for i in 0..<500 { for j in 0..<outputs { mean[j] += train.y[i * outputs + j] } }
        let baseline = meanCosine(Array((0..<100).map { _ in mean }.joined()), valid.y, d: outputs)
        let predicted = meanCosine(result.head.predict(valid.x, rows: 100), valid.y, d: outputs)
        print("MLP planted map: validation cosine \(result.validationCosine) after \(result.epochs) epochs (best \(result.bestEpoch)), baseline \(baseline), \(seconds) s")
        XCTAssertGreaterThan(result.validationCosine, 0.95)
        XCTAssertLessThan(baseline, 0.3)
        XCTAssertEqual(predicted, result.validationCosine, accuracy: 1e-5, "the head returned is the best epoch's")
        XCTAssertEqual(result.history.max(), result.validationCosine)
    }

    func testTheKeywordHeadRanksPresentWordsFirst() throws {
        let d = 12, outputs = 32, words = 8
        let train = PlantedData(count: 600, inputs: d, outputs: outputs, words: words, seed: 5)
        let valid = PlantedData(count: 200, inputs: d, outputs: outputs, words: words, seed: 6)
        let config = MLPConfig(hidden: [32], outputs: outputs, learningRate: 1e-2, maxEpochs: 30, patience: 30, mlcWeight: 1, seed: 7)
        let result = try MLPTrainer.train(try train.examples(600), validation: try valid.examples(200), vocabularySize: words, config: config)
        XCTAssertEqual(result.head.keywords, words)
        let (embeddings, scores) = result.head.predictWithKeywords(valid.x, rows: 200)
        XCTAssertEqual(embeddings, result.head.predict(valid.x, rows: 200))
        XCTAssertEqual(scores, result.head.keywordScores(valid.x, rows: 200))
        var hits = 0, frequent = 0
        var counts = [Int](repeating: 0, count: words)
        for list in train.keywords { for w in list { counts[Int(w)] += 1 } }
        let mostFrequent = Int32(counts.indices.max { counts[$0] < counts[$1] }!)
        for r in 0..<200 {
            let row = scores[(r * words)..<((r + 1) * words)]
            XCTAssert(row.allSatisfy { $0 >= 0 && $0 <= 1 })
            let top = Int32(row.indices.max { row[$0] < row[$1] }! - r * words)
            if valid.keywords[r].contains(top) { hits += 1 }
            if valid.keywords[r].contains(mostFrequent) { frequent += 1 }
        }
        print("MLP keywords: precision@1 \(Double(hits) / 200), always-the-most-frequent-word \(Double(frequent) / 200)")
        XCTAssertGreaterThan(Double(hits) / 200, 0.9)
        XCTAssertLessThan(Double(frequent) / 200, 0.6, "the task is not solved by a constant")
    }

    func testTheSameSeedGivesTheSameHeadAndAnotherSeedDoesNot() throws {
        let train = PlantedData(count: 150, inputs: 8, outputs: 16, words: 4, seed: 8)
        let valid = PlantedData(count: 40, inputs: 8, outputs: 16, words: 4, seed: 9)
        var config = MLPConfig(hidden: [32, 24], outputs: 16, dropout: 0.2, learningRate: 1e-3, batchSize: 16, maxEpochs: 6, patience: 6, seed: 10)
        let a = try MLPTrainer.train(try train.examples(150), validation: try valid.examples(40), vocabularySize: 4, config: config)
        let b = try MLPTrainer.train(try train.examples(150), validation: try valid.examples(40), vocabularySize: 4, config: config)
        XCTAssertEqual(a.head, b.head)
        XCTAssertEqual(a.history, b.history)
        config.seed = 11
        let c = try MLPTrainer.train(try train.examples(150), validation: try valid.examples(40), vocabularySize: 4, config: config)
        XCTAssertNotEqual(a.head, c.head)
    }

    func testARunOfFixedEpochsReplaysTheEarlyStoppedRunOnTheSameRows() throws {
        // The ensemble's per-fold refits replay a run for the epochs its early
        // stopping chose: on the same rows that must be the same head, to the bit,
        // with and without the curriculum; and no validation rows are needed.
        let train = PlantedData(count: 150, inputs: 8, outputs: 16, words: 4, seed: 8)
        let valid = PlantedData(count: 40, inputs: 8, outputs: 16, words: 4, seed: 9)
        var config = MLPConfig(hidden: [32], outputs: 16, dropout: 0.2, learningRate: 3e-3, batchSize: 16, maxEpochs: 40, patience: 3, seed: 10)
        config.initialOutputBias = [Float](repeating: 0.1, count: 16)
        let stopped = try MLPTrainer.train(try train.examples(150), validation: try valid.examples(40), vocabularySize: 4, config: config)
        XCTAssertTrue(stopped.stoppedEarly, "the planted run must stop early for the replay to mean something: \(stopped.epochs) epochs")
        XCTAssertGreaterThan(stopped.epochs, stopped.bestEpoch)
        let replay = try MLPTrainer.train(try train.examples(150), vocabularySize: 4, config: config, epochs: stopped.bestEpoch)
        XCTAssertEqual(replay.head, stopped.head)
        XCTAssertEqual(replay.bestEpoch, stopped.bestEpoch)
        XCTAssertTrue(replay.validationCosine.isNaN)
        let longer = try MLPTrainer.train(try train.examples(150), vocabularySize: 4, config: config, epochs: stopped.bestEpoch + 1)
        XCTAssertNotEqual(longer.head, stopped.head)

        let cl = try MLPTrainer.trainWithCurriculum(try train.examples(150), validation: try valid.examples(40), vocabularySize: 4, config: config)
        let curriculum = Curriculum(scores: cl.difficulty)
        let clReplay = try MLPTrainer.train(try train.examples(150), vocabularySize: 4, config: config, curriculum: curriculum,
                                            epochs: cl.curriculum.bestEpoch)
        XCTAssertEqual(clReplay.head, cl.curriculum.head)

        // Zero epochs: the initial parameters (the mean-target start).
        let none = try MLPTrainer.train(try train.examples(150), vocabularySize: 4, config: config, epochs: 0)
        XCTAssertEqual(none.epochs, 0)
        XCTAssertEqual(none.steps, 0)
    }

    func testEvalModeIsPerRowAndATrailingSingleExampleJoinsTheLastBatch() throws {
        XCTAssertEqual(MLPTrainer.stepsPerEpoch(count: 65, batchSize: 64), 1)
        XCTAssertEqual(MLPTrainer.batchEnd(start: 0, count: 65, batchSize: 64), 65)
        XCTAssertEqual(MLPTrainer.stepsPerEpoch(count: 130, batchSize: 64), 3)
        XCTAssertEqual(MLPTrainer.batchEnd(start: 128, count: 130, batchSize: 64), 130)
        XCTAssertEqual(MLPTrainer.stepsPerEpoch(count: 128, batchSize: 64), 2)
        XCTAssertEqual(MLPTrainer.stepsPerEpoch(count: 1, batchSize: 64), 0)

        let train = PlantedData(count: 33, inputs: 6, outputs: 8, seed: 12)
        let valid = PlantedData(count: 5, inputs: 6, outputs: 8, seed: 13)
        var sizes: [Int] = []
        var seen = Set<Int32>()
        let config = MLPConfig(hidden: [16], outputs: 8, batchSize: 16, maxEpochs: 1, mlcWeight: 0)
        let result = try MLPTrainer.run(try train.examples(33), validation: try valid.examples(5), vocabularySize: 0, config: config,
                                        curriculum: nil, scoreDifficulty: false,
                                        hooks: .init(onBatch: { _, batch in sizes.append(batch.count); seen.formUnion(batch) }),
                                        progress: { _, _ in true })
        XCTAssertEqual(sizes, [16, 17], "33 = 16 + 17, no batch of one")
        XCTAssertEqual(seen, Set(0..<33))
        XCTAssertEqual(result.steps, 2)
        // Eval mode uses the running statistics: a row's prediction does not depend on its batch.
        let all = result.head.predict(valid.x, rows: 5)
        let one = result.head.predict(Array(valid.x[(2 * 6)..<(3 * 6)]), rows: 1)
        for j in 0..<8 { XCTAssertEqual(all[2 * 8 + j], one[j], accuracy: 1e-6) }
        let norm = one.reduce(0) { $0 + $1 * $1 }
        XCTAssertEqual(norm, 1, accuracy: 1e-5)
    }

    func testCancellingFromTheProgressCallbackStopsTraining() throws {
        let train = PlantedData(count: 40, inputs: 4, outputs: 8, seed: 14)
        var epochs: [Int] = []
        let config = MLPConfig(hidden: [8], outputs: 8, batchSize: 8, maxEpochs: 10, mlcWeight: 0)
        XCTAssertThrowsError(try MLPTrainer.train(try train.examples(40), validation: try train.examples(40), config: config) { epoch, cosine in
            epochs.append(epoch)
            XCTAssert(cosine.isFinite)
            return epoch < 2
        }) { XCTAssertEqual($0 as? MLPTrainer.Failure, .cancelled) }
        XCTAssertEqual(epochs, [1, 2])
    }

    func testBadInputIsAnErrorThatSaysWhatIsWrong() throws {
        let train = PlantedData(count: 10, inputs: 4, outputs: 8, seed: 15)
        let config = MLPConfig(hidden: [8], outputs: 8, maxEpochs: 1)
        let examples = try train.examples(10)
        XCTAssertThrowsError(try MLPExamples(x: [1, 2, 3], y: [1, 2], count: 2))
        XCTAssertThrowsError(try MLPTrainer.train(examples, validation: examples, vocabularySize: 5, config: config)) {
            XCTAssert("\($0)".contains("keyword list"), "\($0)")
        }
        let bad = try MLPExamples(x: train.x, y: train.y, count: 10, keywords: Array(repeating: [7], count: 10))
        XCTAssertThrowsError(try MLPTrainer.train(bad, validation: examples, vocabularySize: 5, config: config)) {
            XCTAssertEqual($0 as? MLPTrainer.Failure, .data("keyword index 7 of example 0 is outside the vocabulary of 5 words"))
        }
        var wide = config
        wide.outputs = 9
        XCTAssertThrowsError(try MLPTrainer.train(examples, validation: examples, config: wide))
    }

    // MARK: Sizing

    func testTheSizedConfigurationFollowsTheData() {
        let small = MLPConfig.sized(inputs: 1280, examples: 1000)
        XCTAssertEqual(small.hidden, [512])
        XCTAssertEqual(small.maxEpochs, 375, "16 steps an epoch × 375 = 6,000 steps")
        XCTAssertEqual(small.patience, 20)
        let large = MLPConfig.sized(inputs: 1280, examples: 100_000)
        XCTAssertEqual(large.hidden, [1024])
        XCTAssertEqual(large.maxEpochs, 20)
        XCTAssertEqual(large.patience, 5)
        XCTAssertEqual(MLPConfig.sized(inputs: 1280, examples: 50).hidden, [128])
        XCTAssertEqual(MLPConfig.sized(inputs: 1280, examples: 50).maxEpochs, 400)
        XCTAssertEqual(MLPConfig.sized(inputs: 64, examples: 100_000).hidden, [256], "no wider than 4 × narrow inputs")
        XCTAssertEqual(small.outputs, 384)
        XCTAssertEqual(small.dropout, 0.1)
        XCTAssertEqual(small.learningRate, 1e-4)
        XCTAssertEqual(small.mlcWeight, 0.1)
        let decoded = try? JSONDecoder().decode(MLPConfig.self, from: JSONEncoder().encode(small))
        XCTAssertEqual(decoded, small)
    }

    func testTheLearningRateFollowsACosineToZero() {
        XCTAssertEqual(AdamW.cosineRate(1e-4, step: 0, of: 100), 1e-4)
        XCTAssertEqual(AdamW.cosineRate(1e-4, step: 50, of: 100), 5e-5, accuracy: 1e-12)
        XCTAssertEqual(AdamW.cosineRate(1e-4, step: 100, of: 100), 0, accuracy: 1e-12)
        XCTAssertLessThan(AdamW.cosineRate(1e-4, step: 76, of: 100), AdamW.cosineRate(1e-4, step: 75, of: 100))
    }

    func testAdamWDecaysWeightsButNotBiasesOrBatchNorm() {
        let layout = MLPLayout(inputs: 2, hidden: [2], outputs: 2, keywords: 0)
        let adam = AdamW(layout: layout, learningRate: 0.1, weightDecay: 0.5)
        let p = FloatBuffer(count: layout.parameterCount), g = FloatBuffer(count: layout.parameterCount)
        for i in 0..<p.count { p.pointer[i] = 1 }
        adam.step(parameters: p.pointer, gradients: g.pointer, learningRate: 0.1)
        // Zero gradient: only the decoupled decay moves a parameter, by lr·wd = 5 %.
        for slot in layout.slots where slot.kind != .statistic {
            for i in slot.offset..<(slot.offset + slot.count) {
                XCTAssertEqual(p.pointer[i], slot.kind == .weight ? 0.95 : 1, accuracy: 1e-7, slot.name)
            }
        }
        // Step 2 with g = 3: m = 0.1·3, v = 0.001·9, bias-corrected by 1 − β^2.
        g.pointer[layout.outputBias] = 3
        adam.step(parameters: p.pointer, gradients: g.pointer, learningRate: 0.1)
        let mHat = 0.3 / (1 - 0.9 * 0.9), vHat = 0.009 / (1 - 0.999 * 0.999)
        XCTAssertEqual(Double(p.pointer[layout.outputBias]), 1 - 0.1 * mHat / (vHat.squareRoot() + 1e-8), accuracy: 1e-6)
    }
}
