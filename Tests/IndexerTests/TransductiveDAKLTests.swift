import Foundation
import Synchronization
import XCTest
@testable import Learning
import RevsdSystem

/// Issue #12 item 5: DAKL as the paper runs it, transductively — its
/// k-means over the base ensemble's predictions of the library's unlabelled
/// images (the target domain), falling back to the training rows' when
/// there are too few of them.
final class TransductiveDAKLTests: XCTestCase {
    static let m = 16, d = 24

    /// A planted domain shift. Prompt directions of the labelled domain lie
    /// in target coordinates 0..<8, those of the unlabelled domain in 8..<16;
    /// features are one linear map of the target plus noise. The training
    /// rows: 150 labelled-domain prompts and 6 of the other, 2 images each
    /// (the shifted domain is rarely covered); the unlabelled images:
    /// `unlabelled` images of 30 shifted-domain prompts.
    struct Planted {
        var data: TrainingSet
        /// (u, d) features and (u, m) true targets of the unlabelled images.
        var unlabelledFeatures: [Float]
        var unlabelledCount: Int
    }

    static func planted(unlabelled u: Int, seed: UInt64 = 3) -> Planted {
        var rng = SeededGenerator(seed: seed)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        func direction(shifted: Bool) -> [Float] {
            var v = (0..<m).map { j in (j >= m / 2) == shifted ? r() : 0 }
            EnsembleWeights.normalizeRows(&v, m)
            return v
        }
        let map = (0..<(m * d)).map { _ in r() }
        func features(_ t: [Float]) -> [Float] { (0..<d).map { j in (0..<m).reduce(Float(0)) { $0 + t[$1] * map[$1 * d + j] } + 0.05 * r() } }
        func noisy(_ c: [Float]) -> [Float] { var t = c.map { $0 + 0.1 * r() }; EnsembleWeights.normalizeRows(&t, m); return t }
        let labelled = (0..<150).map { _ in direction(shifted: false) } + (0..<6).map { _ in direction(shifted: true) }
        var data = TrainingSet()
        var xs: [Float] = []
        for i in 0..<(2 * labelled.count) {
            let c = i % labelled.count
            let t = noisy(labelled[c])
            data.ids.append(Int64(i + 1))
            data.contentHashes.append(SHA256.hex(string: "\(i)"))
            data.prompts.append("shape\(c) colour\(c % 3) thing")
            data.targets += t
            xs += features(t)
        }
        data.features["enc"] = xs
        let target = (0..<30).map { _ in direction(shifted: true) }
        var ux: [Float] = []
        for i in 0..<u { ux += features(noisy(target[i % target.count])) }
        return Planted(data: data, unlabelledFeatures: ux, unlabelledCount: u)
    }

    static var options: TrainingOptions {
        var o = TrainingOptions()
        o.maxEpochs = 10
        return o
    }

    /// The base ensemble's unit predictions of `x` (rows, d).
    static func basePredictions(_ model: LearnedModel, _ x: [Float], rows: Int) -> [Float] {
        let out = model.predict(features: ["enc": x], rows: rows)
        var p = EnsembleWeights.combine(model.baseMembers.map { out.members[$0]! }, weights: model.baseWeights, dimension: m)
        EnsembleWeights.normalizeRows(&p, m)
        return p
    }

    /// Mean over `points` (unit rows) of the cosine to their nearest centroid.
    static func meanNearestCosine(_ points: [Float], _ centroids: [Float]) -> Float {
        let p = points.count / m, k = centroids.count / m
        var sum: Float = 0
        for i in 0..<p {
            var best = -Float.infinity
            for c in 0..<k { best = max(best, (0..<m).reduce(Float(0)) { $0 + points[i * m + $1] * centroids[c * m + $1] }) }
            sum += best
        }
        return sum / Float(p)
    }

    /// Share of the centroids' squared length in the shifted domain's coordinates.
    static func shiftedShare(_ centroids: [Float]) -> Float {
        var shifted: Float = 0, all: Float = 0
        for (i, v) in centroids.enumerated() { all += v * v; if i % m >= m / 2 { shifted += v * v } }
        return shifted / all
    }

    func testTheCentroidsLieInTheUnlabelledImagesDomain() throws {
        let p = Self.planted(unlabelled: 1500)
        var data = p.data
        let asked = Mutex<[Range<Int>]>([])
        let memory = UnlabelledImages(features: ["enc": p.unlabelledFeatures], count: p.unlabelledCount)
        data.unlabelled = UnlabelledImages(count: memory.count) { range in
            asked.withLock { $0.append(range) }
            return try memory.chunk(range)
        }
        let transductive = try LibraryTrainer(options: Self.options).train(data).model
        let inductive = try LibraryTrainer(options: Self.options).train(p.data).model
        let t = try XCTUnwrap(transductive.dakl), i = try XCTUnwrap(inductive.dakl)

        XCTAssertEqual(asked.withLock { $0 }, [0..<1024, 1024..<1500], "read a chunk at a time")
        XCTAssertEqual(transductive.report.daklDomain, .unlabelled)
        XCTAssertEqual(transductive.report.daklUnlabelledImages, 1500)
        XCTAssertEqual(t.count, 1500 / 20)
        XCTAssertEqual(inductive.report.daklDomain, .training)
        XCTAssertEqual(inductive.report.daklUnlabelledImages, 0)
        XCTAssertEqual(i.count, transductive.report.trainExamples / 20)
        XCTAssert(transductive.members.contains(.dakl))

        // The base ensemble is the same in both runs (DAKL comes after it).
        let target = Self.basePredictions(transductive, p.unlabelledFeatures, rows: p.unlabelledCount)
        XCTAssertEqual(target, Self.basePredictions(inductive, p.unlabelledFeatures, rows: p.unlabelledCount))
        let near = Self.meanNearestCosine(target, t.centroids), far = Self.meanNearestCosine(target, i.centroids)
        let tShare = Self.shiftedShare(t.centroids), iShare = Self.shiftedShare(i.centroids)
        print("transductive DAKL: nearest-centroid cosine \(near), shifted share \(tShare); training-row DAKL: \(far), \(iShare)")
        XCTAssertGreaterThan(near, far + 0.05, "transductive centroids are closer to the unlabelled images' predictions")
        XCTAssertGreaterThan(tShare, 0.8, "transductive centroids lie in the target domain")
        XCTAssertLessThan(iShare, 0.5, "training-row centroids lie where the training rows are")
    }

    func testTooFewUnlabelledImagesFallBackToTheTrainingRows() throws {
        let p = Self.planted(unlabelled: 8 * 20 - 1)
        var data = p.data
        data.unlabelled = UnlabelledImages(features: ["enc": p.unlabelledFeatures], count: p.unlabelledCount)
        let fallback = try LibraryTrainer(options: Self.options).train(data).model
        let inductive = try LibraryTrainer(options: Self.options).train(p.data).model
        XCTAssertEqual(fallback.report.daklDomain, .training)
        XCTAssertEqual(fallback.report.daklUnlabelledImages, 159, "says how many there were")
        XCTAssertEqual(try XCTUnwrap(fallback.dakl).centroids, try XCTUnwrap(inductive.dakl).centroids, "today's training-row clustering")
        XCTAssertEqual(fallback.report.daklGamma, inductive.report.daklGamma)
    }

    func testTheSampleIsBoundedEvenlySpacedAndDeterministic() {
        XCTAssertEqual(UnlabelledImages.sample(5, limit: 10), [0, 1, 2, 3, 4])
        XCTAssertEqual(UnlabelledImages.sample(10, limit: 5), [1, 3, 5, 7, 9])
        let big = UnlabelledImages.sample(1_000_003)
        XCTAssertEqual(big.count, UnlabelledImages.maximum)
        XCTAssertEqual(Set(big).count, big.count)
        XCTAssertEqual(big, big.sorted())
        XCTAssertLessThan(big.last!, 1_000_003)
        XCTAssertEqual(big, UnlabelledImages.sample(1_000_003))
    }

    /// A model saved before the domain was recorded loads (its report without the new fields).
    func testAReportWithoutTheDomainFieldsDecodes() throws {
        let report = TrainingReport(trainedAt: Date(timeIntervalSince1970: 0), examples: 1, trainExamples: 1, validationExamples: 0,
                                    rows: [], ensembleCosine: 0, constantCosine: 0, members: [], weights: [], seconds: [:],
                                    daklGamma: 0.1, daklCentroids: 9, knnK: 1)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        json["daklDomain"] = nil; json["daklUnlabelledImages"] = nil
        let old = try JSONDecoder().decode(TrainingReport.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertNil(old.daklDomain)
        XCTAssertNil(old.daklUnlabelledImages)
        XCTAssertEqual(old.daklCentroids, 9)
    }
}
