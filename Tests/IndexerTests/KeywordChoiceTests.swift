import Foundation
import XCTest
@testable import Daemon
@testable import Learning
import RevsdProtocol

/// Issue #12 item 6: keywords from the MLC head only where it beats the
/// vocabulary's frequency ranking on held-out prompts; otherwise the
/// zero-shot classes.
final class KeywordChoiceTests: XCTestCase {
    func testAveragePrecisionOfAKnownRanking() {
        // Ranking 0, 2, 1: relevant {0, 1} at ranks 1 and 3 → (1/1 + 2/3) / 2.
        XCTAssertEqual(KeywordChoice.averagePrecision(scores: [0.9, 0.1, 0.5][...], relevant: [0, 1]), (1 + 2.0 / 3) / 2, accuracy: 1e-6)
        XCTAssertEqual(KeywordChoice.averagePrecision(scores: [0.1, 0.9][...], relevant: [1]), 1)
        // A slice keeps its row's offsets.
        let two: [Float] = [1, 0, 0, 1]
        XCTAssertEqual(KeywordChoice.averagePrecision(scores: two[2..<4], relevant: [1]), 1)
    }

    /// 12 held-out images of 6 prompts, a vocabulary of 20; each image's true
    /// words are 3 of the rarer ones (index ≥ 5), different per prompt.
    static let m = 20
    static let truth: [[Int32]] = (0..<12).map { r in let g = r % 6; return [Int32(5 + g), Int32(11 + g), Int32(19 - g % 2)] }
    static let groups = (0..<12).map { $0 % 6 }

    func testAHeadNoBetterThanWordFrequencyFallsBackToZeroShot() {
        // The same scores for every image, decreasing with frequency rank: the prior itself.
        let flat = (0..<12).flatMap { _ in (0..<Self.m).map { 1 - Float($0) / Float(Self.m) } }
        let d = KeywordChoice.decide(probabilities: flat, truth: Self.truth, groups: Self.groups, vocabularySize: Self.m)
        XCTAssertEqual(d.source, .zeroShot)
        XCTAssertEqual(try XCTUnwrap(d.mlcPrecision), try XCTUnwrap(d.priorPrecision), accuracy: 1e-6)
    }

    func testAHeadThatRanksTheTrueWordsHigherIsUsed() {
        // True words scored 0.6, others 0.3 minus a little by rank: better than frequency.
        let good = Self.truth.flatMap { t in (0..<Self.m).map { t.contains(Int32($0)) ? Float(0.6) : 0.3 - Float($0) / 1000 } }
        let d = KeywordChoice.decide(probabilities: good, truth: Self.truth, groups: Self.groups, vocabularySize: Self.m)
        XCTAssertEqual(d.source, .mlc)
        XCTAssertEqual(try XCTUnwrap(d.mlcPrecision), 1, accuracy: 1e-6)
        XCTAssertLessThan(try XCTUnwrap(d.priorPrecision), 0.5)
    }

    func testTooFewHeldOutPromptsAreUnmeasuredAndKeepZeroShot() {
        let rows = 4   // 4 images of 2 prompts: fewer than `minimumPrompts`
        let truth = Array(Self.truth.prefix(rows)), groups = (0..<rows).map { $0 % 2 }
        let good = truth.flatMap { t in (0..<Self.m).map { t.contains(Int32($0)) ? Float(0.9) : 0 } }
        let d = KeywordChoice.decide(probabilities: good, truth: truth, groups: groups, vocabularySize: Self.m)
        XCTAssertEqual(d, KeywordChoice.Decision(source: .zeroShot, mlcPrecision: nil, priorPrecision: nil))
    }

    func testTheDaemonShowsTheChosenSourcesKeywords() throws {
        let data = EnsembleFoldsTests.planted(prompts: 30, zeroShotNoise: 1)
        var model = try LibraryTrainer(options: EnsembleFoldsTests.options).train(data).model
        XCTAssertNotNil(model.report.keywordsSource, "the run records its choice")
        let probabilities = (0..<model.vocabulary.words.count).map { Float($0 == 0 ? 0.9 : 0.1) }
        let mlc = model.keywords(probabilities, row: 0)
        XCTAssertFalse(mlc.isEmpty)
        model.report.keywordsSource = .zeroShot
        XCTAssertEqual(LearningService.keywords(model, probabilities, row: 0, zeroShot: ["tabby", "cat"]), ["tabby", "cat"])
        model.report.keywordsSource = .mlc
        XCTAssertEqual(LearningService.keywords(model, probabilities, row: 0, zeroShot: ["tabby", "cat"]), mlc)
        model.report.keywordsSource = nil   // trained before the choice: MLC, as then
        XCTAssertEqual(LearningService.keywords(model, probabilities, row: 0, zeroShot: ["tabby", "cat"]), mlc)
    }
}

extension KeywordChoiceTests {
    func testStatusCarriesTheKeywordsSource() throws {
        let run = LearningStatus.Run(trainedAt: 1.5, examples: 30, validationMeanCosine: 0.7, constantMeanCosine: 0.5, members: ["a"],
                                     keywordsSource: KeywordsSource.zeroShot.rawValue)
        let status = LearningStatus(state: .idle, lastRun: run, promptBank: 1, lastError: nil)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any] ?? [:]
        XCTAssertEqual(json["keywords_source"] as? String, "zero_shot")
        XCTAssertEqual(try JSONDecoder().decode(LearningStatus.self, from: JSONEncoder().encode(status)), status)
        let old = #"{"state":"idle","trained_at":1.5,"examples":30,"validation_mean_cosine":0.7,"constant_mean_cosine":0.5,"members":["a"],"prompt_bank":1,"last_error":null}"#
        XCTAssertNil(try JSONDecoder().decode(LearningStatus.self, from: Data(old.utf8)).lastRun?.keywordsSource)
    }
}
