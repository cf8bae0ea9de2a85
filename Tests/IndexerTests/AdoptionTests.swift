import Foundation
import XCTest
@testable import Daemon
@testable import Learning
import RevsdProtocol
import Store
import RevsdSystem

/// Issue #12: a model that loses to not learning must not replace it. The
/// trainer scores the zero-shot predictions on its own validation split and
/// decides adoption; status carries both numbers and the decision.
final class AdoptionTests: XCTestCase {
    /// A planted problem like `testTheTrainerLearnsAPlantedMapAndTheModelRoundTrips`:
    /// 8 prompts' directions, images of a prompt are noisy copies. With
    /// `informativeFeatures` the features are a linear map of the target;
    /// without, random noise (nothing to learn: the heads can do no better
    /// than the constant). The zero-shot prediction is the target plus
    /// `zeroShotNoise` (small: it knows the prompt; large: it does not).
    /// 150 prompts put about 15 in validation (which then decides); 40, about 4 (the out-of-fold scores decide).
    static func planted(informativeFeatures: Bool, zeroShotNoise: Float, prompts: Int = 150, seed: UInt64 = 11) -> TrainingSet {
        var rng = SeededGenerator(seed: seed)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let n = 2 * prompts, d = 24, m = 16
        let centres = (0..<prompts).map { _ -> [Float] in var v = (0..<m).map { _ in r() }; EnsembleWeights.normalizeRows(&v, m); return v }
        let map = (0..<(m * d)).map { _ in r() }
        var data = TrainingSet()
        var xs: [Float] = []
        for i in 0..<n {
            let c = i % prompts
            var t = centres[c].map { $0 + 0.1 * r() }
            EnsembleWeights.normalizeRows(&t, m)
            data.ids.append(Int64(i + 1))
            data.contentHashes.append(SHA256.hex(string: "\(i)"))
            data.prompts.append("shape\(c) colour\(c % 3) thing")
            data.targets += t
            var z = t.map { $0 + zeroShotNoise * r() }
            EnsembleWeights.normalizeRows(&z, m)
            data.zeroShot += z
            for j in 0..<d {
                xs.append(informativeFeatures ? (0..<m).reduce(Float(0)) { $0 + t[$1] * map[$1 * d + j] } + 0.05 * r() : r())
            }
        }
        data.features["enc"] = xs
        return data
    }

    static var options: TrainingOptions {
        var o = TrainingOptions()
        o.maxEpochs = 20
        return o
    }

    func testALearnedModelThatLosesToZeroShotIsNotAdopted() throws {
        // Features that say nothing; a zero-shot prediction that nearly knows the prompt.
        let data = Self.planted(informativeFeatures: false, zeroShotNoise: 0.1)
        let report = try LibraryTrainer(options: Self.options).train(data).model.report
        XCTAssertGreaterThanOrEqual(report.validationPrompts ?? 0, TrainingReport.minimumValidationPrompts)
        XCTAssertFalse(report.decidedOutOfFold)
        let zeroShot = try XCTUnwrap(report.zeroShotCosine)
        XCTAssertGreaterThan(zeroShot, 0.9, "the zero-shot rows are scored on validation")
        XCTAssertLessThan(report.ensembleCosine, zeroShot)
        XCTAssertEqual(report.adopted, false)
        XCTAssertFalse(report.isAdopted)
        let reason = try XCTUnwrap(report.notAdoptedReason)
        XCTAssertEqual(reason, "kept the zero-shot predictions: the learned model (\(String(format: "%.3f", report.ensembleCosine))) "
                       + "did not beat them (\(String(format: "%.3f", zeroShot))) on validation")
    }

    func testWithFewValidationPromptsTheOutOfFoldScoresDecide() throws {
        let losing = try LibraryTrainer(options: Self.options).train(Self.planted(informativeFeatures: false, zeroShotNoise: 0.1, prompts: 40)).model.report
        XCTAssertLessThan(losing.validationPrompts ?? 0, TrainingReport.minimumValidationPrompts)
        XCTAssertTrue(losing.decidedOutOfFold)
        let learned = try XCTUnwrap(losing.outOfFoldCosine), zeroShot = try XCTUnwrap(losing.outOfFoldZeroShotCosine)
        XCTAssertGreaterThan(zeroShot, 0.9)
        XCTAssertLessThan(learned, zeroShot)
        XCTAssertEqual(losing.adopted, false)
        XCTAssert(losing.notAdoptedReason?.contains("out of fold over every labelled prompt (validation holds") == true, "\(losing)")
        let winning = try LibraryTrainer(options: Self.options).train(Self.planted(informativeFeatures: true, zeroShotNoise: 3, prompts: 40)).model.report
        XCTAssertTrue(winning.decidedOutOfFold)
        XCTAssertGreaterThan(try XCTUnwrap(winning.outOfFoldCosine), try XCTUnwrap(winning.outOfFoldZeroShotCosine) + 0.2)
        XCTAssertEqual(winning.adopted, true)
    }

    func testALearnedModelThatBeatsZeroShotIsAdopted() throws {
        // Informative features; a zero-shot prediction that is mostly noise.
        let data = Self.planted(informativeFeatures: true, zeroShotNoise: 3)
        let model = try LibraryTrainer(options: Self.options).train(data).model
        let report = model.report
        let zeroShot = try XCTUnwrap(report.zeroShotCosine)
        XCTAssertGreaterThan(report.ensembleCosine, zeroShot + 0.2)
        XCTAssertEqual(report.adopted, true)
        XCTAssertNil(report.notAdoptedReason)
        // The decision and the zero-shot score survive a save/load round trip.
        let dir = TemporaryDirectory()
        let path = dir.path("heads.safetensors")
        try model.save(to: path)
        XCTAssertEqual(try LearnedModel(path: path).report, report)
    }

    func testTheMarginIsTheRunsAndZeroShotIsScoredOnTheSameValidationRows() throws {
        let data = Self.planted(informativeFeatures: true, zeroShotNoise: 3)
        var options = Self.options
        options.adoptionMargin = 2   // no model beats zero-shot by 2
        let report = try LibraryTrainer(options: options).train(data).model.report
        XCTAssertEqual(report.adopted, false)
        // Scored by hand: the validation rows, each prompt weighing once.
        let mask = LibraryTrainer.validationMask(data)
        let val = (0..<data.count).filter { mask[$0] }
        let groups = PromptGroups(data)
        let dim = data.targets.count / data.count
        let expected = EnsembleWeights.meanCosine(LibraryTrainer.rows(data.zeroShot, val, dim), LibraryTrainer.rows(data.targets, val, dim),
                                                  dimension: dim, weights: groups.weights(of: val))
        XCTAssertEqual(try XCTUnwrap(report.zeroShotCosine), expected, accuracy: 1e-5)
    }

    func testWithoutZeroShotRowsOrInOlderModelsTheModelIsAdopted() throws {
        var data = Self.planted(informativeFeatures: false, zeroShotNoise: 0.1)
        data.zeroShot = []
        let report = try LibraryTrainer(options: Self.options).train(data).model.report
        XCTAssertNil(report.zeroShotCosine)
        XCTAssertTrue(report.isAdopted)
        // A report written before the fields existed decodes as adopted.
        var old = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any] ?? [:]
        old["zeroShotCosine"] = nil
        old["adopted"] = nil
        let decoded = try JSONDecoder().decode(TrainingReport.self, from: JSONSerialization.data(withJSONObject: old))
        XCTAssertNil(decoded.adopted)
        XCTAssertTrue(decoded.isAdopted)
        XCTAssertTrue(TrainingReport.adopts(ensemble: 0.1, zeroShot: nil, margin: 0))
        XCTAssertFalse(TrainingReport.adopts(ensemble: 0.45, zeroShot: 0.45, margin: 0), "a tie keeps zero-shot")
        XCTAssertTrue(TrainingReport.adopts(ensemble: 0.46, zeroShot: 0.45, margin: 0))
    }

    func testTinyImagesLeaveTheirZeroShotRowsOutToo() {
        var data = Self.planted(informativeFeatures: false, zeroShotNoise: 0.1)
        data.widths = (0..<data.count).map { $0 == 0 ? 8 : 512 }
        data.heights = [Int](repeating: 512, count: data.count)
        let (kept, excluded) = data.excludingTinyImages()
        XCTAssertEqual(excluded, 1)
        XCTAssertEqual(kept.zeroShot, Array(data.zeroShot.dropFirst(data.targets.count / data.count)))
    }

    // MARK: The wire

    func testLastRunCarriesTheDecisionAndAnOlderDaemonsStatusStillDecodes() throws {
        let run = LearningStatus.Run(trainedAt: 1_736_899_200.5, examples: 264, validationMeanCosine: 0.416, constantMeanCosine: 0.399,
                                     members: ["efficientnet-lite0/ridge"], zeroShotMeanCosine: 0.447, adopted: false,
                                     notAdoptedReason: "kept the zero-shot predictions: the learned model (0.416) did not beat them (0.447) on validation")
        let status = LearningStatus(state: .idle, lastRun: run, promptBank: 3, lastError: nil)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any] ?? [:]
        XCTAssertEqual(json["zero_shot_mean_cosine"] as? Double, 0.447)
        XCTAssertEqual(json["adopted"] as? Bool, false)
        XCTAssertEqual(json["not_adopted_reason"] as? String, run.notAdoptedReason)
        XCTAssertEqual(try JSONDecoder().decode(LearningStatus.self, from: JSONEncoder().encode(status)), status)
        // An older daemon's learning object: no zero-shot score, no decision: adopted.
        let old = #"{"state":"idle","trained_at":1.5,"examples":30,"validation_mean_cosine":0.7,"constant_mean_cosine":0.5,"members":["a"],"prompt_bank":1,"last_error":null}"#
        let decoded = try JSONDecoder().decode(LearningStatus.self, from: Data(old.utf8))
        let lastRun = try XCTUnwrap(decoded.lastRun)
        XCTAssertNil(lastRun.zeroShotMeanCosine)
        XCTAssertNil(lastRun.adopted)
        XCTAssertNil(lastRun.notAdoptedReason)
        XCTAssertTrue(lastRun.isAdopted)
    }

    func testTheAdoptionMarginIsConfigured() throws {
        let dir = TemporaryDirectory()
        var c = DaemonConfig.defaults()
        XCTAssertEqual(c.training.adoptionMargin, 0)
        try c.apply(file: dir.write("margin.toml", "[learning]\nadoption_margin = 0.05"), required: true)
        XCTAssertEqual(c.training.adoptionMargin, 0.05, accuracy: 1e-6)
        XCTAssertThrowsError(try c.apply(file: dir.write("negative.toml", "[learning]\nadoption_margin = -0.1"), required: true)) {
            XCTAssert("\($0)".contains(":2: 'adoption_margin' must be a number from 0 to 2"), "\($0)")
        }
    }

    /// What search weighs predictions by (`ControlHandler.predictionConfidence`),
    /// learned and zero-shot: the adopted model's validation scores, its
    /// out-of-fold ones where those decided its adoption (too few validation
    /// prompts), and before training the index's measured agreement (from 5
    /// labelled images) for both, else 0.5.
    func testSearchWeighsPredictionsByTheScoresThatDecidedTheModel() {
        var report = TrainingReport(trainedAt: Date(timeIntervalSince1970: 0), examples: 60, trainExamples: 50, validationExamples: 10,
                                    rows: [], ensembleCosine: 0.47, constantCosine: 0.43, members: [], weights: [], seconds: [:],
                                    daklGamma: nil, daklCentroids: 0, knnK: 5)
        let measured: (mean: Float, images: Int)? = (0.41, 20)
        var asked = false
        func confidence(_ r: TrainingReport?, _ a: (mean: Float, images: Int)? = measured) -> [Float] {
            let c = ControlHandler.predictionConfidence(adopted: r, agreement: { asked = true; return a })
            return [c.learned, c.zeroShot]
        }
        report.validationPrompts = 40
        XCTAssertEqual(confidence(report), [0.47, 0.47], "a model without a zero-shot score: its own for both")
        report.zeroShotCosine = 0.39
        report.outOfFoldCosine = 0.50; report.outOfFoldZeroShotCosine = 0.42
        XCTAssertEqual(confidence(report), [0.47, 0.39])
        XCTAssertFalse(asked, "a model's own scores decide")
        report.validationPrompts = 2   // adoption decided out of fold
        XCTAssertTrue(report.decidedOutOfFold)
        XCTAssertEqual(confidence(report), [0.50, 0.42])
        XCTAssertEqual(confidence(nil), [0.41, 0.41])
        XCTAssertEqual(confidence(nil, (0.41, 4)), [0.5, 0.5], "too few labelled images to measure")
        XCTAssertEqual(confidence(nil, nil), [0.5, 0.5])
    }

    /// A row the model leaves to zero-shot (outside its domain) is stored as zero-shot.
    func testARowOutsideTheDomainIsAZeroShotPrediction() {
        var out = LearnedModel.Outputs()
        XCTAssertEqual(LearningService.origin(out, row: 0), .learned, "no domain rule: the ensemble's")
        out.outsideDomain = [true, false]
        XCTAssertEqual([0, 1].map { LearningService.origin(out, row: $0) }, [.zeroShot, .learned])
    }

    /// Per encoder, out of fold, its best head against the constant and
    /// zero-shot on the same rows (what status shows): random features
    /// beside informative ones beat neither, the informative ones both.
    func testEachEncodersBestHeadIsScoredAgainstNotLearning() throws {
        var data = Self.planted(informativeFeatures: true, zeroShotNoise: 3, prompts: 40)
        var rng = SeededGenerator(seed: 5)
        data.features["noise"] = (0..<(data.features["enc"]!.count)).map { _ in Float(Double(rng.next() % 2000) / 1000 - 1) }
        let report = try LibraryTrainer(options: Self.options).train(data).model.report
        let scores = try XCTUnwrap(report.encoderScores)
        let enc = try XCTUnwrap(scores["enc"]), noise = try XCTUnwrap(scores["noise"])
        XCTAssertGreaterThan(enc.margin, 0.2, "\(enc)")
        XCTAssertLessThanOrEqual(noise.margin, 0, "\(noise)")
        XCTAssertEqual(enc.constant, noise.constant, accuracy: 1e-4, "the constant on the same rows (every row, both ridges)")
        XCTAssertEqual(try XCTUnwrap(report.outOfFoldConstantCosine), enc.constant, accuracy: 1e-4)
        XCTAssertEqual(report.adopted, true)
    }

    /// Adoption: the ensemble must beat the constant (the library's mean
    /// prompt for every image) as well as zero-shot.
    func testAModelBelowTheConstantIsNotAdopted() {
        XCTAssertTrue(TrainingReport.adopts(ensemble: 0.50, zeroShot: 0.40, constant: 0.45, margin: 0))
        XCTAssertFalse(TrainingReport.adopts(ensemble: 0.50, zeroShot: 0.40, constant: 0.55, margin: 0))
        XCTAssertFalse(TrainingReport.adopts(ensemble: 0.50, zeroShot: 0.55, constant: 0.45, margin: 0))
        XCTAssertTrue(TrainingReport.adopts(ensemble: 0.50, zeroShot: 0.40, constant: nil, margin: 0), "a report without the constant measured")
        var report = TrainingReport(trainedAt: Date(timeIntervalSince1970: 0), examples: 60, trainExamples: 50, validationExamples: 10,
                                    rows: [], ensembleCosine: 0.50, constantCosine: 0.55, members: [], weights: [], seconds: [:],
                                    daklGamma: nil, daklCentroids: 0, knnK: 5)
        report.validationPrompts = 40
        report.zeroShotCosine = 0.40
        report.decideAdoption(margin: 0)
        XCTAssertEqual(report.adopted, false)
        XCTAssertEqual(report.notAdoptedReason, "kept the zero-shot predictions: the learned model (0.500) did not beat the constant prediction "
                       + "(0.550, the library's mean prompt for every image) on validation")
    }
}
