import Foundation
import XCTest
@testable import Learning
import RevsdSystem

/// Issue #12 item 5: the zero-shot prediction is an ensemble member, and
/// the weights are fitted on grouped k-fold predictions rather than on the
/// few validation images.
final class EnsembleFoldsTests: XCTestCase {
    static func unit(_ v: [Float], _ m: Int) -> [Float] { var v = v; EnsembleWeights.normalizeRows(&v, m); return v }

    /// `prompts` prompts with random unit targets (dimension 16), 3 images
    /// each. Encoder "good": a linear map of the target plus a little noise;
    /// "bad": noise. Zero-shot: the target plus `zeroShotNoise`.
    static func planted(prompts: Int, zeroShotNoise: Float, seed: UInt64 = 5) -> TrainingSet {
        var rng = SeededGenerator(seed: seed)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let m = 16, d = 20
        let map = (0..<(m * d)).map { _ in r() }
        let centres = (0..<prompts).map { _ in unit((0..<m).map { _ in r() }, m) }
        var data = TrainingSet()
        var good: [Float] = [], bad: [Float] = []
        for i in 0..<(3 * prompts) {
            let c = i % prompts
            let t = unit(centres[c].map { $0 + 0.05 * r() }, m)
            data.ids.append(Int64(i + 1))
            data.contentHashes.append(SHA256.hex(string: "\(i)"))
            data.prompts.append("prompt number \(c)")
            data.promptKeys.append("prompt number \(c)")
            data.targets += t
            data.zeroShot += unit(t.map { $0 + zeroShotNoise * r() }, m)
            for j in 0..<d {
                good.append((0..<m).reduce(Float(0)) { $0 + t[$1] * map[$1 * d + j] } + 0.05 * r())
                bad.append(r())
            }
        }
        data.features = ["good": good, "bad": bad]
        return data
    }

    static var options: TrainingOptions {
        var o = TrainingOptions()
        o.maxEpochs = 15
        return o
    }

    // MARK: Weights

    func testFittedWeightsAreNeverBelowAnyMemberAloneOnTheRowsTheyAreFittedOn() {
        // Three members: the truth with a little noise, a constant direction, and noise.
        var rng = SeededGenerator(seed: 3)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let rows = 60, d = 8
        let truth = (0..<rows).flatMap { _ in Self.unit((0..<d).map { _ in r() }, d) }
        let close = Self.unit(truth.map { $0 + 0.2 * r() }, d)
        let constant = (0..<rows).flatMap { _ in Self.unit([1, 1, 1, 1, 1, 1, 1, 1], d) }
        let noise = Self.unit(truth.map { _ in r() }, d)
        let members = [noise, constant, close]
        let w = EnsembleWeights.fit(members: members, targets: truth, dimension: d)
        let fitted = EnsembleWeights.meanCosine(EnsembleWeights.combine(members, weights: w, dimension: d), truth, dimension: d)
        for m in members {
            XCTAssertGreaterThanOrEqual(fitted, EnsembleWeights.meanCosine(m, truth, dimension: d) - 1e-6)
        }
        XCTAssertGreaterThan(w[2], 0.8, "the close member dominates: \(w)")
    }

    func testAZeroRowIsAMemberWithoutAPredictionThere() {
        // Member b predicts only rows 0..<2 (zeros after): rows 2..<4 are the other member's alone.
        let d = 2
        let truth: [Float] = [1, 0, 1, 0, 0, 1, 0, 1]
        let a: [Float] = [0, 1, 0, 1, 0, 1, 0, 1]
        let b: [Float] = [1, 0, 1, 0, 0, 0, 0, 0]
        XCTAssertEqual(EnsembleWeights.combine([a, b], weights: [0.5, 0.5], dimension: d).suffix(4), [0, 1, 0, 1])
        let w = EnsembleWeights.fit(members: [a, b], targets: truth, dimension: d)
        XCTAssertGreaterThan(w[1], w[0], "b is right wherever it speaks: \(w)")
        let fitted = EnsembleWeights.meanCosine(EnsembleWeights.combine([a, b], weights: w, dimension: d), truth, dimension: d)
        XCTAssertGreaterThan(fitted, 0.95, "rows without b keep a's (right) answer")
    }

    func testAMemberWithoutAnyPredictionOnTheRowsWeighsNothing() {
        // Where the MLP heads have no held-out rows (a fold without validation
        // images), they are unmeasured: weight 0, not the equal share they start with.
        let d = 2
        let truth: [Float] = [1, 0, 0, 1], a: [Float] = [1, 0, 0, 1], none: [Float] = [0, 0, 0, 0]
        XCTAssertEqual(EnsembleWeights.fit(members: [a, none, none], targets: truth, dimension: d), [1, 0, 0])
    }

    // MARK: Folds

    func testAPromptsOwnOutOfFoldPredictionsDoNotMoveWhenOnlyItsTargetsChange() throws {
        // Structural, so it holds whatever a member can fit: a member fitted
        // without a prompt's rows gives those rows the same prediction, to the
        // bit, whatever their targets are. Two runs differ only in one
        // prompt's targets. The settings chosen on validation are held equal:
        // one ridge penalty and one k offered, the epochs capped; the MLP
        // technique and the penalty are asserted equal. (On other data a
        // training-side prompt's new targets can change which MLP technique
        // wins on validation; that assertion then fails, as it should, rather
        // than the test reading a changed setting as a leak.)
        var rng = SeededGenerator(seed: 21)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let prompts = 30, m = 16, d = 12
        var data = TrainingSet()
        var x: [Float] = []
        let map = (0..<(m * d)).map { _ in r() }
        let targets = (0..<prompts).map { _ in Self.unit((0..<m).map { _ in r() }, m) }
        for i in 0..<(3 * prompts) {
            let c = (i * 7) % prompts
            data.ids.append(Int64(i + 1)); data.contentHashes.append("\(i)")
            data.prompts.append("subject \(c)"); data.promptKeys.append("subject \(c)")
            data.targets += targets[c]
            x += (0..<d).map { j in (0..<m).reduce(Float(0)) { $0 + targets[c][$1] * map[$1 * d + j] } + 0.1 * r() }
            data.zeroShot += Self.unit((0..<m).map { _ in r() }, m)
        }
        data.features["enc"] = x
        var options = Self.options
        options.knnKs = [5]   // 5 of the other prompts: a changed prompt is among some rows' neighbours (the control)
        options.ridgeAlphas = [10]
        options.maxEpochs = 4
        func run(_ data: TrainingSet) throws -> TrainingRun {
            var run = try TrainingRun(data: data, options: options, progress: { _, _ in true })
            try run.trainHeads(of: "enc")
            try run.predictOutOfFold()
            return run
        }
        let a = try run(data)
        // One prompt of the training rows and one of the validation rows, each given new targets.
        for onValidation in [false, true] {
            let row = try XCTUnwrap((0..<a.n).first { a.mask[$0] == onValidation })
            let own = (0..<a.n).filter { a.groups.ids[$0] == a.groups.ids[row] }
            var changed = data
            let other = Self.unit((0..<m).map { _ in r() }, m)
            for i in own { changed.targets.replaceSubrange((i * m)..<((i + 1) * m), with: other) }
            let b = try run(changed)
            XCTAssertEqual(b.heads["enc"]?.ensembleTechnique, a.heads["enc"]?.ensembleTechnique, "the same MLP joins in both runs")
            XCTAssertEqual(b.heads["enc"]?.ridgeAlpha, a.heads["enc"]?.ridgeAlpha)
            for member in [EnsembleMember.head(encoder: "enc", .knn), .head(encoder: "enc", .ridge), .head(encoder: "enc", .mlp)] {
                let pa = try XCTUnwrap(a.outOfFold[member]), pb = try XCTUnwrap(b.outOfFold[member])
                for i in own {
                    XCTAssertEqual(Array(pa[(i * m)..<((i + 1) * m)]), Array(pb[(i * m)..<((i + 1) * m)]),
                                   "\(member): row \(i)'s prediction moved with its own targets (validation prompt: \(onValidation))")
                }
                // The control: rows of the other folds were predicted by members
                // fitted on the changed rows, so theirs do move.
                let others = (0..<a.n).filter { a.fold[$0] != a.fold[row] }
                XCTAssert(others.contains { i in pa[(i * m)..<((i + 1) * m)] != pb[(i * m)..<((i + 1) * m)] },
                          "\(member): no other fold's prediction moved, so this test could not see a leak")
            }
        }
    }

    func testOutOfFoldPredictionsNeverComeFromRowsOfTheSamePrompt() throws {
        // Every image of a prompt has the same features and the same target,
        // and prompts' targets are unrelated to each other: a member that saw
        // a row of the prompt would predict it (cosine ≈ 1); one that did not cannot.
        var rng = SeededGenerator(seed: 9)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let prompts = 40, m = 16, d = 12
        var data = TrainingSet()
        var x: [Float] = []
        let targets = (0..<prompts).map { _ in Self.unit((0..<m).map { _ in r() }, m) }
        let features = (0..<prompts).map { _ in (0..<d).map { _ in r() } }
        for i in 0..<(4 * prompts) {
            let c = (i * 7) % prompts
            data.ids.append(Int64(i + 1)); data.contentHashes.append("\(i)")
            data.prompts.append("subject \(c)"); data.promptKeys.append("subject \(c)")
            data.targets += targets[c]; x += features[c]
            data.zeroShot += Self.unit((0..<m).map { _ in r() }, m)
        }
        data.features["enc"] = x
        var options = Self.options
        options.knnKs = [1]
        var run = try TrainingRun(data: data, options: options, progress: { _, _ in true })
        try run.trainHeads(of: "enc")
        try run.predictOutOfFold()
        // Prompts stay in one fold.
        for g in 0..<run.groups.count { XCTAssertEqual(Set((0..<run.n).filter { run.groups.ids[$0] == g }.map { run.fold[$0] }).count, 1) }
        XCTAssertGreaterThan(Set(run.fold).count, 1)
        // Under `mlpFoldRefitLimit` rows the MLP is refitted per fold too, and speaks on every row.
        XCTAssertLessThanOrEqual(run.n, options.mlpFoldRefitLimit)
        for member in [EnsembleMember.head(encoder: "enc", .knn), .head(encoder: "enc", .ridge), .head(encoder: "enc", .mlp)] {
            let p = try XCTUnwrap(run.outOfFold[member])
            for i in 0..<run.n { XCTAssert(p[(i * m)..<((i + 1) * m)].contains { $0 != 0 }, "\(member) has no prediction for row \(i)") }
            let c = EnsembleWeights.cosines(p, data.targets, dimension: m)
            XCTAssertLessThan(c.max() ?? 1, 0.9, "\(member) saw its own prompt")
        }
        // The same 1-NN, fitted on every row, predicts each row exactly: the planted leak is detectable.
        let (fx, fy, count) = run.groups.means(features: x, targets: data.targets, rows: Array(0..<run.n))
        let leaked = KNNRegressor(features: fx, targets: fy, count: count, k: 1).predict(x)
        XCTAssertGreaterThan(EnsembleWeights.meanCosine(leaked, data.targets, dimension: m), 0.99)
        XCTAssertEqual(run.outOfFold[.zeroShot], data.zeroShot)

        // Above the limit, the MLP member speaks on validation rows only.
        options.mlpFoldRefitLimit = run.n - 1
        var large = try TrainingRun(data: data, options: options, progress: { _, _ in true })
        try large.trainHeads(of: "enc")
        try large.predictOutOfFold()
        let mlp = try XCTUnwrap(large.outOfFold[.head(encoder: "enc", .mlp)])
        for i in 0..<large.n where !large.mask[i] { XCTAssert(mlp[(i * m)..<((i + 1) * m)].allSatisfy { $0 == 0 }) }
        for i in 0..<large.n where large.mask[i] { XCTAssert(mlp[(i * m)..<((i + 1) * m)].contains { $0 != 0 }) }
    }

    func testWeightsFittedOnAFewPromptsAreShrunkTowardEqualWhenThatScoresBetterOutOfFold() throws {
        // Two members equally good and independent: any fitted split between
        // them is noise, and equal weights (averaging their errors) score best.
        var rng = SeededGenerator(seed: 21)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let prompts = 30, m = 16
        var data = TrainingSet()
        for i in 0..<prompts {
            let t = Self.unit((0..<m).map { _ in r() }, m)
            data.ids.append(Int64(i + 1)); data.contentHashes.append("\(i)")
            data.prompts.append("subject \(i)"); data.promptKeys.append("subject \(i)")
            data.targets += t
            data.zeroShot += Self.unit(t.map { $0 + 0.6 * r() }, m)
        }
        data.features["enc"] = (0..<(prompts * 4)).map { _ in r() }
        var run = try TrainingRun(data: data, options: Self.options, progress: { _, _ in true })
        run.outOfFold = [.zeroShot: data.zeroShot, .dakl: Self.unit(data.targets.map { $0 + 0.6 * r() }, m)]
        let members: [EnsembleMember] = [.zeroShot, .dakl]
        let fit = run.ensembleWeights(for: members)
        XCTAssertLessThan(fit.share, 1, "weights \(fit.weights)")
        XCTAssertLessThan(abs(fit.weights[0] - fit.weights[1]), abs(run.outOfFoldWeights(for: members)[0] - run.outOfFoldWeights(for: members)[1]) + 1e-6)
        XCTAssertEqual(fit.weights.reduce(0, +), 1, accuracy: 1e-5)
        // One member truly better: its fitted weight is kept (share 1 or close).
        run.outOfFold[.dakl] = Self.unit(data.targets.map { $0 + 0.05 * r() }, m)
        let better = run.ensembleWeights(for: members)
        XCTAssertGreaterThan(better.weights[1], 0.8, "\(better)")
        XCTAssertGreaterThanOrEqual(better.share, 0.75)
    }

    func testTheWeightsPreferTheTrulyBetterMemberAndZeroShotIsOne() throws {
        let data = Self.planted(prompts: 60, zeroShotNoise: 2)
        let model = try LibraryTrainer(options: Self.options).train(data).model
        XCTAssertTrue(model.zeroShotMember)
        XCTAssertEqual(model.baseMembers.last, .zeroShot)
        XCTAssert(model.report.members.contains("zero-shot"))
        let w = Dictionary(uniqueKeysWithValues: zip(model.members, model.weights))
        let good = w.filter { if case .head(encoder: "good", _) = $0.key { true } else { false } }.values.reduce(0, +)
        let bad = w.filter { if case .head(encoder: "bad", _) = $0.key { true } else { false } }.values.reduce(0, +)
        XCTAssertGreaterThan(good, 0.6, "\(w)")
        XCTAssertGreaterThan(good, 5 * bad, "\(w)")
        XCTAssertGreaterThan(model.report.outOfFoldCosine ?? 0, (model.report.outOfFoldZeroShotCosine ?? 1) + 0.1)
    }

    func testAGoodZeroShotTakesTheWeightAndThePredictionUsesIt() throws {
        // Features that say nothing; a zero-shot prediction close to the truth.
        var data = Self.planted(prompts: 60, zeroShotNoise: 0.15)
        data.features["good"] = data.features["bad"].map { $0.map { -$0 } }
        let model = try LibraryTrainer(options: Self.options).train(data).model
        let w = Dictionary(uniqueKeysWithValues: zip(model.members, model.weights))
        XCTAssertGreaterThan(w[.zeroShot] ?? 0, 0.7, "\(w)")
        // On the rows the weights were fitted on, the ensemble is not below zero-shot.
        let n = data.count, dim = 16
        let f = data.features
        let with = model.predict(features: f, rows: n, zeroShot: data.zeroShot).ensemble
        let without = model.predict(features: f, rows: n).ensemble
        let zs = EnsembleWeights.meanCosine(data.zeroShot, data.targets, dimension: dim)
        XCTAssertGreaterThan(EnsembleWeights.meanCosine(with, data.targets, dimension: dim), zs - 0.02)
        XCTAssertGreaterThan(EnsembleWeights.meanCosine(with, data.targets, dimension: dim),
                             EnsembleWeights.meanCosine(without, data.targets, dimension: dim) + 0.2, "the prediction uses the zero-shot rows")
    }

    func testAnImageFartherFromEveryLabelledPromptThanTheLibraryKeepsItsZeroShotPrediction() throws {
        // The library's features live in one region; images of another
        // region (another source) were never measured and keep zero-shot.
        // The library's features fill the first half of each vector, the other source's the second half.
        var data = Self.planted(prompts: 40, zeroShotNoise: 1)
        let d = 20
        func half(_ x: [Float], first: Bool) -> [Float] {
            x.enumerated().map { i, v in ((i % d) < d / 2) == first ? v : 0 }
        }
        let original = data.features
        data.features = original.mapValues { half($0, first: true) }
        let model = try LibraryTrainer(options: Self.options).train(data).model
        let threshold = try XCTUnwrap(model.report.domainSimilarity)
        let n = data.count, m = 16
        // The library's own rows: inside (their nearest prompt is their own, cosine ≈ 1).
        let inside = model.predict(features: data.features, rows: n, zeroShot: data.zeroShot)
        XCTAssertEqual(inside.outsideDomain.filter { $0 }.count, 0)
        XCTAssertNotEqual(inside.ensemble, EnsembleFoldsTests.unit(data.zeroShot, m))
        // Features of another region: orthogonal to every library row (cosine 0, below the threshold).
        XCTAssertGreaterThan(threshold, 0)
        let far = original.mapValues { half($0, first: false) }
        let outside = model.predict(features: far, rows: n, zeroShot: data.zeroShot)
        XCTAssertEqual(outside.outsideDomain.filter { $0 }.count, n, "threshold \(threshold)")
        let z = EnsembleFoldsTests.unit(data.zeroShot, m)
        for i in 0..<(n * m) { XCTAssertEqual(outside.ensemble[i], z[i], accuracy: 1e-6) }
        // Without zero-shot predictions there is nothing to fall back on: the heads answer.
        XCTAssertEqual(model.predict(features: far, rows: n).outsideDomain, [])
        // It survives saving.
        let dir = TemporaryDirectory(), path = dir.path("heads.safetensors")
        try model.save(to: path)
        XCTAssertEqual(try LearnedModel(path: path).report.domainSimilarity, threshold)
    }

    func testTheDomainThresholdIsTheLibrarysLowestSimilarityUnlessThatRowIsAnOutlier() throws {
        // Similarities spread evenly: no row is an outlier, the lowest is the threshold.
        let spread = (0..<41).map { 0.3 + Float($0) * 0.015 }
        XCTAssertEqual(try XCTUnwrap(TrainingRun.domainThreshold(similarities: spread.shuffled())), 0.3, accuracy: 1e-6)
        // One stray library image far below a tight library (quartiles about 0.82 and 0.87):
        // images as far as it are outside, the fence 3 IQR below the lower quartile decides.
        let tight = (0..<40).map { 0.8 + Float($0) * 0.1 / 39 }
        let fenced = try XCTUnwrap(TrainingRun.domainThreshold(similarities: (tight + [0.45]).shuffled()))
        let sorted = (tight + [0.45]).sorted(), q1 = sorted[10], q3 = sorted[30]
        XCTAssertEqual(fenced, q1 - TrainingRun.domainFence * (q3 - q1), accuracy: 1e-5)
        XCTAssertGreaterThan(fenced, 0.6)
        XCTAssertLessThan(fenced, 0.8, "no row of the library itself is outside")
        XCTAssertNil(TrainingRun.domainThreshold(similarities: []))
        XCTAssertEqual(TrainingRun.domainThreshold(similarities: [0.7]), 0.7)
    }

    /// One quantile for the domain threshold's quartiles and the near
    /// weights' median: linear between the nearest ranks, as numpy's default.
    func testQuantilesInterpolateBetweenTheNearestRanks() {
        XCTAssertEqual(TrainingRun.quantile([1, 2, 3, 4], 0.5), 2.5)
        XCTAssertEqual(TrainingRun.quantile([1, 2, 3, 4], 0.25), 1.75)
        XCTAssertEqual(TrainingRun.quantile([1, 2, 3, 4, 5], 0.5), 3)
        XCTAssertEqual(TrainingRun.quantile([1, 2, 3, 4], 1), 4)
        XCTAssertEqual(TrainingRun.quantile([1, 2, 3, 4], 0), 1)
        XCTAssertEqual(TrainingRun.quantile([7], 0.5), 7)
    }

    /// A library of two kinds of prompt, 2 images each: twins (pairs of
    /// prompts a tag apart: nearly one target, features a linear map of it)
    /// and singletons (features that say nothing of the target). The heads
    /// predict a twin from its other half; nothing predicts a singleton but
    /// zero-shot (the target plus `zeroShotNoise`). Also, per twin pair, one
    /// more image of the first twin's prompt (a stripped seed variation),
    /// as features, zero-shot row and target.
    static func twinsAndSingletons(pairs: Int, singletons: Int, zeroShotNoise: Float, seed: UInt64 = 9)
        -> (library: TrainingSet, variations: (features: [String: [Float]], zeroShot: [Float], targets: [Float], rows: Int)) {
        var rng = SeededGenerator(seed: seed)
        func r() -> Float { Float(Double(rng.next() % 2000) / 1000 - 1) }
        let m = 16, d = 20
        let map = (0..<(m * d)).map { _ in r() }
        func mapped(_ t: [Float]) -> [Float] { (0..<d).map { j in (0..<m).reduce(Float(0)) { $0 + t[$1] * map[$1 * d + j] } + 0.02 * r() } }
        var data = TrainingSet()
        var a: [Float] = [], b: [Float] = []
        var v = (features: ["a": [Float](), "b": [Float]()], zeroShot: [Float](), targets: [Float](), rows: 0)
        func add(_ key: String, _ t: [Float], features: [Float]) {
            data.ids.append(Int64(data.ids.count + 1))
            data.contentHashes.append(SHA256.hex(string: "\(data.ids.count)"))
            data.prompts.append(key); data.promptKeys.append(key)
            data.targets += t
            data.zeroShot += unit(t.map { $0 + zeroShotNoise * r() }, m)
            a += features
            b += (0..<d).map { _ in r() }
        }
        for p in 0..<pairs {
            let centre = unit((0..<m).map { _ in r() }, m)
            for twin in 0..<2 {
                let t = unit(centre.map { $0 + 0.03 * r() }, m)
                for _ in 0..<2 { add("twin \(p) \(twin)", t, features: mapped(t)) }
                if twin == 0 {
                    v.features["a"]! += mapped(t); v.features["b"]! += (0..<d).map { _ in r() }
                    v.zeroShot += unit(t.map { $0 + zeroShotNoise * r() }, m); v.targets += t; v.rows += 1
                }
            }
        }
        for p in 0..<singletons {
            let t = unit((0..<m).map { _ in r() }, m), x = (0..<d).map { _ in r() }
            for _ in 0..<2 { add("singleton \(p)", t, features: x.map { $0 + 0.02 * r() }) }
        }
        data.features = ["a": a, "b": b]
        return (data, v)
    }

    func testImagesNearALibraryPromptUseTheWeightsFittedOnTheLibrarysNearestRows() throws {
        let (data, variations) = Self.twinsAndSingletons(pairs: 40, singletons: 80, zeroShotNoise: 0.8)
        let model = try LibraryTrainer(options: Self.options).train(data).model
        let near = try XCTUnwrap(model.report.nearWeights, "the near rows' own weights score better out of fold here")
        XCTAssertNotNil(model.report.nearSimilarity)
        XCTAssertGreaterThan(model.report.nearShare ?? 0, 0)
        XCTAssertEqual(near.count, model.members.count)
        let global = Dictionary(uniqueKeysWithValues: zip(model.members, model.weights))
        let gated = Dictionary(uniqueKeysWithValues: zip(model.members, near))
        // Near the library the heads beat zero-shot; over every row zero-shot carries the singletons.
        XCTAssertLessThan(gated[.zeroShot] ?? 1, (global[.zeroShot] ?? 0) - 0.1, "global \(global), near \(gated)")
        // A seed variation of a library prompt is predicted better with them than with the global weights alone.
        var ungated = model
        ungated.report.nearWeights = nil
        let m = 16
        let with = model.predict(features: variations.features, rows: variations.rows, zeroShot: variations.zeroShot).ensemble
        let without = ungated.predict(features: variations.features, rows: variations.rows, zeroShot: variations.zeroShot).ensemble
        XCTAssertGreaterThan(EnsembleWeights.meanCosine(with, variations.targets, dimension: m),
                             EnsembleWeights.meanCosine(without, variations.targets, dimension: m) + 0.01)
        let seen = model.predict(features: variations.features, rows: variations.rows, zeroShot: variations.zeroShot)
        XCTAssertGreaterThan(seen.nearLibrary.filter { $0 }.count, variations.rows * 3 / 4, "variations of library prompts lie near")
        // Images of no library prompt (singletons' features, reversed) keep the global weights, row by row.
        let far = data.features.mapValues { Array($0.suffix(20 * 20).reversed()) }
        let z = Array(data.zeroShot.suffix(m * 20))
        let farOut = model.predict(features: far, rows: 20, zeroShot: z), farUngated = ungated.predict(features: far, rows: 20, zeroShot: z)
        XCTAssertGreaterThan(farOut.nearLibrary.filter { !$0 }.count, 10)
        for r in 0..<20 where !farOut.nearLibrary[r] {
            XCTAssertEqual(Array(farOut.ensemble[(r * m)..<((r + 1) * m)]), Array(farUngated.ensemble[(r * m)..<((r + 1) * m)]))
        }
        // It survives saving.
        let dir = TemporaryDirectory(), path = dir.path("heads.safetensors")
        try model.save(to: path)
        let loaded = try LearnedModel(path: path)
        XCTAssertEqual(loaded.report.nearWeights, near)
        // (To rounding: products split over the cores may sum in another order from one call to the next.)
        let again = loaded.predict(features: variations.features, rows: variations.rows, zeroShot: variations.zeroShot).ensemble
        XCTAssertEqual(again.count, with.count)
        for (a, b) in zip(again, with) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    // MARK: Storage

    func testTheZeroShotMemberSurvivesSaveAndAModelSavedBeforeItStillLoads() throws {
        let model = try LibraryTrainer(options: Self.options).train(Self.planted(prompts: 30, zeroShotNoise: 1)).model
        let dir = TemporaryDirectory()
        let path = dir.path("heads.safetensors")
        try model.save(to: path)
        let loaded = try LearnedModel(path: path)
        XCTAssertTrue(loaded.zeroShotMember)
        XCTAssertEqual(loaded.weights, model.weights)
        let z = Array(Self.planted(prompts: 30, zeroShotNoise: 1).zeroShot.prefix(2 * 16))
        let f = model.encoders.reduce(into: [String: [Float]]()) { $0[$1] = Array(Self.planted(prompts: 30, zeroShotNoise: 1).features[$1]!.prefix(2 * 20)) }
        XCTAssertEqual(loaded.predict(features: f, rows: 2, zeroShot: z).ensemble, model.predict(features: f, rows: 2, zeroShot: z).ensemble)

        // A model of before: no zero-shot member, and no "zeroShotMember" in its manifest.
        var old = model
        old.zeroShotMember = false
        old.baseWeights.removeLast()
        old.weights.remove(at: old.baseWeights.count)
        try old.save(to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        var erased = false
        for key in [#",\"zeroShotMember\":false"#, #"\"zeroShotMember\":false,"#] {
            if let range = bytes.range(of: Data(key.utf8)) {
                bytes.replaceSubrange(range, with: Data(repeating: UInt8(ascii: " "), count: key.utf8.count))
                erased = true
            }
        }
        XCTAssertTrue(erased)
        try bytes.write(to: URL(fileURLWithPath: path))
        let before = try LearnedModel(path: path)
        XCTAssertFalse(before.zeroShotMember)
        XCTAssertEqual(before.members.count, model.members.count - 1)
        XCTAssertEqual(before.predict(features: f, rows: 2, zeroShot: z).ensemble, old.predict(features: f, rows: 2).ensemble)
    }
}
