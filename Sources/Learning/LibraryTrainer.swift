import Foundation
import Inference

/// Settings of a training run (the daemon's `[learning]` section).
public struct TrainingOptions: Sendable, Equatable {
    /// MLC vocabulary size (the paper's m).
    public var vocabularySize = 1000
    /// Ridge penalties tried; the best on validation is kept.
    public var ridgeAlphas: [Float] = [1, 10, 100, 1000]
    /// k-NN neighbours tried; the best on validation is kept.
    public var knnKs: [Int] = [5, 10, 25]
    /// DAKL kernel widths tried (γ in exp(−γ(1 − cos)/2)); the paper's
    /// 0.001–0.1 and wider ones, the best on validation is kept.
    public var daklGammas: [Float] = [0.001, 0.01, 0.1, 1, 10, 100]
    public var daklAlpha: Float = 10
    /// DAKL centroids: min(maxCentroids, n/20).
    public var daklMaxCentroids = 10_000
    /// Folds for the out-of-fold alignment scores.
    public var alignmentFolds = 5
    /// Curriculum exposure per epoch (the paper's: a third, a half, all).
    public var curriculumFractions: [Float] = [1.0 / 3, 0.5, 1]
    /// Fit the ensemble weights on validation (from equal weights), or keep them equal.
    public var fitEnsembleWeights = true
    /// Caps the MLP epochs (nil: sized to the data).
    public var maxEpochs: Int?
    public var seed: UInt64 = 1
    public init() {}
}

public struct TrainingFailure: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "training: \(reason)" }
}

/// Trains the whole ensemble on the library's labelled rows.
public struct LibraryTrainer: Sendable {
    public let options: TrainingOptions
    public static let minimumExamples = 20
    public static let minimumDAKLCentroids = 8

    public init(options: TrainingOptions = TrainingOptions()) { self.options = options }

    /// Progress: (phase, fraction done 0…1). Return false to cancel.
    public typealias Progress = @Sendable (String, Double) -> Bool

    public struct Result: Sendable {
        public var model: LearnedModel
        /// Every labelled image: out-of-fold alignment and curriculum tier.
        public var alignments: [(id: Int64, alignment: Float, tier: String)]
    }

    /// The deterministic split: validation by content hash (about a tenth);
    /// when the hash rule gives fewer than max(2, n/20), the tenth of the
    /// examples with the smallest hashes.
    public static func validationMask(hashes: [String]) -> [Bool] {
        var mask = hashes.map(TrainingSplit.isValidation)
        let n = hashes.count
        if mask.filter({ $0 }).count < max(2, n / 20) {
            let order = hashes.indices.sorted { hashes[$0] < hashes[$1] || (hashes[$0] == hashes[$1] && $0 < $1) }
            mask = [Bool](repeating: false, count: n)
            for i in order.prefix(max(2, (n + 9) / 10)) { mask[i] = true }
        }
        return mask
    }

    static func rows(_ x: [Float], _ indices: [Int], _ d: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(indices.count * d)
        for i in indices { out.append(contentsOf: x[(i * d)..<((i + 1) * d)]) }
        return out
    }

    public func train(_ data: TrainingSet, progress: Progress = { _, _ in true }) throws -> Result {
        let n = data.count
        guard n >= Self.minimumExamples else {
            throw TrainingFailure("\(n) labelled images; at least \(Self.minimumExamples) are needed (images whose metadata carries the prompt)")
        }
        let encoders = data.features.keys.sorted()
        guard !encoders.isEmpty else { throw TrainingFailure("no image features are cached in the index") }
        let dim = data.targets.count / n
        let mask = Self.validationMask(hashes: data.contentHashes)
        let trainIdx = (0..<n).filter { !mask[$0] }, valIdx = (0..<n).filter { mask[$0] }
        let yTrain = Self.rows(data.targets, trainIdx, dim), yVal = Self.rows(data.targets, valIdx, dim)
        let vocabulary = PromptVocabulary(prompts: trainIdx.map { data.prompts[$0] }, size: options.vocabularySize)
        let wordsTrain = trainIdx.map { Self.wordIndices(vocabulary, data.prompts[$0]) }
        var meanTarget = [Float](repeating: 0, count: dim)
        for r in 0..<trainIdx.count { for j in 0..<dim { meanTarget[j] += yTrain[r * dim + j] } }
        EnsembleWeights.normalizeRows(&meanTarget, dim)
        let constantVal = [Float]((0..<valIdx.count).flatMap { _ in meanTarget })

        var seconds: [String: Double] = [:]
        func timed<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
            let t0 = ContinuousClock.now
            defer { seconds[key, default: 0] += (ContinuousClock.now - t0).seconds }
            return try body()
        }
        var rows: [TrainingReport.Row] = []
        var heads: [String: LearnedModel.EncoderHeads] = [:]
        var valPredictions: [String: [Float]] = [:]   // by member
        var difficulty = [Float](repeating: 0, count: n), difficultyCount = 0
        let steps = Double(encoders.count) * 4 + 3
        var step = 0.0
        func report(_ phase: String) throws {
            guard progress(phase, min(step / steps, 1)) else { throw TrainingFailure("cancelled") }
        }
        for e in encoders {
            guard let x = data.features[e] else { continue }
            let d = x.count / n
            var xTrain = Self.rows(x, trainIdx, d)
            let xVal = Self.rows(x, valIdx, d)
            // Ridge, penalty chosen on validation.
            try report("\(e): ridge"); step += 1
            let ridges = try timed("ridge") { try RidgeRegressor.fit(x: xTrain, y: yTrain, count: trainIdx.count, alphas: options.ridgeAlphas) }
            var bestRidge = 0, bestRidgeCos = -Float.infinity, ridgeVal: [Float] = []
            for (i, r) in ridges.enumerated() {
                var p = r.predict(xVal); EnsembleWeights.normalizeRows(&p, dim)
                let c = EnsembleWeights.meanCosine(p, yVal, dimension: dim)
                if c > bestRidgeCos { bestRidgeCos = c; bestRidge = i; ridgeVal = p }
            }
            rows.append(.init(encoder: e, head: "ridge", technique: "vanilla", meanCosine: bestRidgeCos))
            valPredictions["\(e)/ridge"] = ridgeVal
            // k-NN in the encoder's feature space, k chosen on validation.
            try report("\(e): k-NN"); step += 1
            let knnAll = KNNRegressor(features: xTrain, targets: yTrain, count: trainIdx.count, k: options.knnKs.first ?? 10)
            var bestK = knnAll.k, bestKnnCos = -Float.infinity, knnVal: [Float] = []
            timed("k-NN") {
                let predictions = knnAll.predict(xVal, ks: options.knnKs)
                for (k, p) in zip(options.knnKs, predictions) {
                    let c = EnsembleWeights.meanCosine(p, yVal, dimension: dim)
                    if c > bestKnnCos { bestKnnCos = c; bestK = min(k, trainIdx.count); knnVal = p }
                }
            }
            let knn = knnAll.with(k: bestK)
            rows.append(.init(encoder: e, head: "knn", technique: "k-NN", meanCosine: bestKnnCos))
            valPredictions["\(e)/knn"] = knnVal
            // MLP heads: vanilla, +MLC, then +MLC+CL from the +MLC run's difficulty scores.
            let moments = LearnedModel.moments(xTrain, dimension: d)
            let zTrain = LearnedModel.standardize(xTrain, mean: moments.mean, inverseStd: moments.inverseStd)
            xTrain = []   // the k-NN head keeps its own (normalised) copy
            let zVal = LearnedModel.standardize(xVal, mean: moments.mean, inverseStd: moments.inverseStd)
            var mlp: [LearnedModel.Technique: MLPHead] = [:]
            var mlpVal: [LearnedModel.Technique: [Float]] = [:]
            let runs = try MLPMember.train(
                x: zTrain, y: yTrain, words: wordsTrain, vocabularySize: vocabulary.words.count,
                validationX: zVal, validationY: yVal, trainingRows: trainIdx, validationRows: valIdx, dimension: d, options: options,
                phase: { name in try report("\(e): MLP \(name)"); step += 1 }, keepGoing: { progress("\(e): MLP", min(step / steps, 1)) })
            for (k, v) in runs.seconds { seconds[k, default: 0] += v }
            var mlpCos: [LearnedModel.Technique: Float] = [:]
            for t in LearnedModel.Technique.allCases {
                guard let head = runs.heads[t] else { continue }
                mlp[t] = head
                let p = head.predict(zVal, rows: valIdx.count)
                mlpVal[t] = p
                mlpCos[t] = EnsembleWeights.meanCosine(p, yVal, dimension: dim)
                rows.append(.init(encoder: e, head: "mlp", technique: t.rawValue, meanCosine: mlpCos[t]!))
            }
            for i in 0..<n { difficulty[i] += runs.difficulty[i] }
            difficultyCount += 1
            // The best technique on validation; on a tie the later one (+MLC+CL over +MLC over vanilla).
            let best = LearnedModel.Technique.allCases.reversed().max { (mlpCos[$0] ?? -2) < (mlpCos[$1] ?? -2) } ?? .vanilla
            valPredictions["\(e)/mlp"] = mlpVal[best]
            heads[e] = .init(ridge: ridges[bestRidge], ridgeAlpha: options.ridgeAlphas[bestRidge], mlp: mlp, ensembleTechnique: best, knn: knn,
                             inputMean: moments.mean, inputInverseStd: moments.inverseStd)
        }
        // Ensemble weights on validation, then DAKL over the base ensemble.
        try report("ensemble"); step += 1
        var model = LearnedModel(encoders: encoders, heads: heads, dakl: nil, baseWeights: [], weights: [], vocabulary: vocabulary,
                                 meanTarget: meanTarget, report: TrainingReport(
                                    trainedAt: Date(), examples: n, trainExamples: trainIdx.count, validationExamples: valIdx.count,
                                    rows: [], ensembleCosine: 0, constantCosine: 0, members: [], weights: [], seconds: [:],
                                    daklGamma: nil, daklCentroids: 0, knnK: 0), dimension: dim)
        let baseVal = model.baseMembers.map { valPredictions[$0]! }
        model.baseWeights = options.fitEnsembleWeights ? EnsembleWeights.fit(members: baseVal, targets: yVal, dimension: dim)
            : [Float](repeating: 1 / Float(baseVal.count), count: baseVal.count)
        model.weights = model.baseWeights
        try report("DAKL"); step += 1
        timed("DAKL") {
            // The base ensemble on the training rows, a chunk at a time (bounded memory).
            var baseTrain = [Float]()
            baseTrain.reserveCapacity(trainIdx.count * dim)
            for lo in stride(from: 0, to: trainIdx.count, by: 4096) {
                let chunk = Array(trainIdx[lo..<min(trainIdx.count, lo + 4096)])
                let f = data.features.mapValues { Self.rows($0, chunk, $0.count / n) }
                baseTrain += model.predict(features: f, rows: chunk.count).ensemble
            }
            let baseValEnsemble = EnsembleWeights.combine(baseVal, weights: model.baseWeights, dimension: dim)
            // DAKL needs a few centroids to say anything (8: 160 training images).
            let r = min(options.daklMaxCentroids, trainIdx.count / 20)
            guard r >= Self.minimumDAKLCentroids else { return }
            let km = KMeans(points: baseTrain, count: trainIdx.count, k: r, seed: options.seed, maxIterations: 25, tolerance: 0.001)
            // Each centroid's target: the true embedding of its nearest labelled image.
            let nearest = KNNRegressor(features: baseTrain, targets: yTrain, count: trainIdx.count, k: 1)
            var centroids = km.centroids
            EnsembleWeights.normalizeRows(&centroids, dim)
            let targets = nearest.predict(centroids, k: 1)
            var bestCos = -Float.infinity
            for g in options.daklGammas {
                guard let krr = try? DomainAdaptiveKernelRidge(centroids: centroids, targets: targets, dimension: dim, gamma: g, alpha: options.daklAlpha) else { continue }
                var p = krr.predict(baseValEnsemble); EnsembleWeights.normalizeRows(&p, dim)
                let c = EnsembleWeights.meanCosine(p, yVal, dimension: dim)
                if c > bestCos { bestCos = c; model.dakl = krr; valPredictions["dakl"] = p }
            }
            if let dakl = model.dakl {
                rows.append(.init(encoder: "ensemble", head: "dakl", technique: "+DAKL", meanCosine: bestCos))
                model.report.daklGamma = dakl.gamma
                model.report.daklCentroids = dakl.count
                model.weights = options.fitEnsembleWeights
                    ? EnsembleWeights.fit(members: baseVal + [valPredictions["dakl"]!], targets: yVal, dimension: dim)
                    : [Float](repeating: 1 / Float(baseVal.count + 1), count: baseVal.count + 1)
            }
        }
        let ensembleVal = EnsembleWeights.combine(model.members.map { valPredictions[$0]! }, weights: model.weights, dimension: dim)
        // Out-of-fold alignment for every labelled image and curriculum tiers.
        try report("alignment"); step += 1
        let alignment = try timed("alignment") { try outOfFoldAlignment(data, encoders: encoders, dimension: dim, model: model) }
        let scores = difficultyCount > 0 ? difficulty.map { $0 / Float(difficultyCount) } : alignment
        let tiers = Self.tiers(scores: scores, trainingMask: mask.map { !$0 })
        model.report.rows = rows
        model.report.ensembleCosine = EnsembleWeights.meanCosine(ensembleVal, yVal, dimension: dim)
        model.report.constantCosine = EnsembleWeights.meanCosine(constantVal, yVal, dimension: dim)
        model.report.members = model.members
        model.report.weights = model.weights
        model.report.seconds = seconds
        model.report.knnK = heads.values.first?.knn.k ?? 0
        _ = progress("done", 1)
        return Result(model: model, alignments: (0..<n).map { (data.ids[$0], alignment[$0], tiers[$0]) })
    }

    static func wordIndices(_ v: PromptVocabulary, _ prompt: String) -> [Int32] {
        Array(Set(PromptVocabulary.words(in: prompt).compactMap { v.index[$0].map(Int32.init) })).sorted()
    }

    /// Tiers by difficulty score: the thresholds are the training examples'
    /// terciles (the curriculum's easiest third is "easy"), applied to every
    /// labelled image.
    public static func tiers(scores: [Float], trainingMask: [Bool]) -> [String] {
        var ref = zip(scores, trainingMask).filter(\.1).map(\.0).sorted()
        if ref.isEmpty { ref = scores.sorted() }
        guard !ref.isEmpty else { return [] }
        let hardBelow = ref[ref.count / 3], easyFrom = ref[min(ref.count - 1, (2 * ref.count) / 3)]
        return scores.map { $0 >= easyFrom ? "easy" : ($0 < hardBelow ? "hard" : "medium") }
    }

    /// Cosine between each labelled image's prompt embedding and the
    /// prediction of a ridge + k-NN ensemble (equal weights over encoders,
    /// the trained penalties and k) fitted on the other folds.
    func outOfFoldAlignment(_ data: TrainingSet, encoders: [String], dimension dim: Int, model: LearnedModel) throws -> [Float] {
        let n = data.count
        let folds = max(2, min(options.alignmentFolds, n))
        let fold = data.contentHashes.enumerated().map { i, h in
            Int((UInt64(h.prefix(8), radix: 16) ?? UInt64(i)) % UInt64(folds))
        }
        var out = [Float](repeating: 0, count: n)
        for f in 0..<folds {
            let test = (0..<n).filter { fold[$0] == f }, train = (0..<n).filter { fold[$0] != f }
            guard !test.isEmpty, train.count >= 2 else { continue }
            let yTrain = Self.rows(data.targets, train, dim)
            var members: [[Float]] = []
            for e in encoders {
                guard let x = data.features[e], let h = model.heads[e] else { continue }
                let d = x.count / n
                let xTrain = Self.rows(x, train, d), xTest = Self.rows(x, test, d)
                var p = try RidgeRegressor(x: xTrain, y: yTrain, count: train.count, alpha: h.ridgeAlpha).predict(xTest)
                EnsembleWeights.normalizeRows(&p, dim)
                members.append(p)
                members.append(KNNRegressor(features: xTrain, targets: yTrain, count: train.count, k: h.knn.k).predict(xTest))
            }
            let p = EnsembleWeights.combine(members, weights: [Float](repeating: 1, count: members.count), dimension: dim)
            let c = EnsembleWeights.cosines(p, Self.rows(data.targets, test, dim), dimension: dim)
            for (i, t) in test.enumerated() { out[t] = c[i] }
        }
        return out
    }
}

extension Duration {
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
