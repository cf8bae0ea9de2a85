import Foundation
import XCTest
@testable import Learning

/// The paper's curriculum: ordering by difficulty, the growing exposed
/// share, the epoch-weighted scores, and a run that sees only that share.
final class CurriculumTests: XCTestCase {
    func testTheOrderIsEasiestFirstAndTheExposedShareGrows() {
        let scores: [Float] = [0.2, 0.9, 0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.6]
        let c = Curriculum(scores: scores)
        XCTAssertEqual(c.order, [1, 3, 7, 5, 8, 2, 6, 0, 4], "highest cosine first, ties by index")
        XCTAssertEqual(Array(c.exposed(epoch: 1)), [1, 3, 7], "the easiest third")
        XCTAssertEqual(Array(c.exposed(epoch: 2)), [1, 3, 7, 5, 8], "the easiest half, ⌈4.5⌉")
        XCTAssertEqual(c.exposedCount(epoch: 3), 9)
        XCTAssertEqual(c.exposedCount(epoch: 40), 9, "the last fraction holds")
        XCTAssertEqual(Curriculum(scores: [Float](repeating: 0, count: 10)).exposedCount(epoch: 1), 4, "⌈10/3⌉")
        XCTAssertEqual(Curriculum(scores: [Float](repeating: 0, count: 2)).exposedCount(epoch: 1), 1)
        XCTAssertEqual(Curriculum(scores: []).exposedCount(epoch: 1), 0)
        let custom = Curriculum(scores: (0..<8).map { Float($0) }, fractions: [0.25, 0.75])
        XCTAssertEqual(Array(custom.exposed(epoch: 1)), [7, 6])
        XCTAssertEqual(custom.exposedCount(epoch: 2), 6)
        XCTAssertEqual(custom.exposedCount(epoch: 3), 6, "a schedule that stops short keeps the hardest out")
        XCTAssertEqual(Curriculum(scores: [0.5, .nan, 0.1]).order, [0, 2, 1], "a NaN cosine is hardest")
    }

    func testLaterEpochsWeighMoreInTheDifficultyScores() {
        var d = DifficultyScores(count: 3)
        XCTAssertEqual(d.scores, [0, 0, 0])
        d.add(epoch: 1, cosines: [1, 0, 0.5])
        d.add(epoch: 3, cosines: [0, 1, 0.5])
        // (1·c₁ + 3·c₃) / 4.
        XCTAssertEqual(d.scores, [0.25, 0.75, 0.5])
        XCTAssertEqual(d.totalWeight, 4)
        XCTAssertEqual(d.epochs, [1, 3])
        XCTAssertEqual(Curriculum(scores: d.scores).order, [1, 2, 0], "what the later epoch found easy comes first")
    }

    func testTheCurriculumRunSeesOnlyTheExposedEasiestExamples() throws {
        // 120 examples follow a planted map; 60 have random targets (hard).
        let clean = PlantedData(count: 120, inputs: 8, outputs: 16, seed: 31)
        let noise = PlantedData(count: 60, inputs: 8, outputs: 16, seed: 32, mapSeed: 33)
        var rng = SeededGenerator(seed: 34)
        let noisyY = (0..<60).flatMap { _ in PlantedData.unit((0..<16).map { _ in PlantedData.normal(&rng) }) }
        let train = try MLPExamples(x: clean.x + noise.x, y: clean.y + noisyY, count: 180)
        let valid = PlantedData(count: 50, inputs: 8, outputs: 16, seed: 35)
        let config = MLPConfig(hidden: [32], outputs: 16, learningRate: 3e-3, batchSize: 16, maxEpochs: 8, patience: 8, mlcWeight: 0, seed: 36)
        var seen: [Int: Set<Int32>] = [:]
        var reports: [(MLPTrainer.Phase, Int)] = []
        let result = try MLPTrainer.trainWithCurriculum(
            train, validation: try valid.examples(50), vocabularySize: 0, config: config, fractions: Curriculum.paperFractions,
            hooks: .init(onBatch: { epoch, batch in seen[epoch, default: []].formUnion(batch) }),
            progress: { phase, epoch, _ in reports.append((phase, epoch)); return true })

        // The scores: clean examples are easier than noisy ones.
        let scores = result.difficulty
        XCTAssertEqual(scores.count, 180)
        XCTAssertEqual(result.vanilla.difficulty, scores)
        let cleanMean = scores[0..<120].reduce(0, +) / 120, noisyMean = scores[120...].reduce(0, +) / 60
        XCTAssertGreaterThan(cleanMean, noisyMean + 0.3, "clean \(cleanMean), noisy \(noisyMean)")
        let curriculum = Curriculum(scores: scores)
        XCTAssertGreaterThanOrEqual(curriculum.exposed(epoch: 1).filter { $0 < 120 }.count, 57, "the easiest third is (almost) all clean")

        // The curriculum run: only the exposed share in epochs 1 and 2, everything from 3.
        XCTAssertEqual(seen[1], Set(curriculum.exposed(epoch: 1)))
        XCTAssertEqual(seen[1]?.count, 60)
        XCTAssertEqual(seen[2], Set(curriculum.exposed(epoch: 2)))
        XCTAssertEqual(seen[2]?.count, 90)
        for epoch in 3...result.curriculum.epochs { XCTAssertEqual(seen[epoch]?.count, 180) }
        XCTAssertEqual(result.curriculum.steps, 4 + 6 + (result.curriculum.epochs - 2) * 12, "⌈60/16⌉, ⌈90/16⌉, ⌈180/16⌉ steps")

        // Progress comes from both phases, in order.
        let vanillaEpochs = reports.filter { $0.0 == .vanilla }.map(\.1)
        XCTAssertEqual(vanillaEpochs, Array(1...result.vanilla.epochs))
        XCTAssertEqual(reports.filter { $0.0 == .curriculum }.map(\.1), Array(1...result.curriculum.epochs))
        XCTAssertEqual(reports.first?.0, .vanilla)
        XCTAssertEqual(reports.last?.0, .curriculum)
        XCTAssertGreaterThan(result.curriculum.validationCosine, 0.5)
        XCTAssertEqual(result.best.validationCosine, max(result.vanilla.validationCosine, result.curriculum.validationCosine))
    }
}
