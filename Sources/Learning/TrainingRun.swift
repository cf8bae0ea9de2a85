import Foundation
import Inference

/// One training run's state, in the order of its steps: the split and the
/// targets (init), each encoder's heads (`trainHeads`), the ensemble's
/// weights (`fitEnsemble`), DAKL over the base ensemble (`fitDAKL`), the
/// alignment and tiers of every labelled image (`scoreAlignments`) and the
/// report (`finish`). Validation predictions of every member are kept to
/// report each head; the ensemble's weights are fitted on grouped k-fold
/// predictions (`TrainingRun+Folds`), the zero-shot prediction among the
/// members, and shrunk toward equal weights as far as that scores better
/// nested out of fold. Images under
/// `TrainingSet.minimumSide` are left out; the split is by normalised prompt
/// and each distinct prompt weighs once (`PromptGroups`) in the ridge, the
/// k-NN rows (one per prompt), every validation score and the ensemble fit.
struct TrainingRun {
    let data: TrainingSet
    let options: TrainingOptions
    let n: Int
    /// Prompt-embedding dimension.
    let dim: Int
    let encoders: [String]
    let groups: PromptGroups
    let excludedTiny: Int
    /// true = validation.
    let mask: [Bool]
    let trainIdx: [Int], valIdx: [Int]
    /// Per training and validation row: 1 / (rows of its prompt on that side), mean 1.
    let wTrain: [Float], wVal: [Float]
    /// (train, dim) and (validation, dim) unit targets.
    let yTrain: [Float], yVal: [Float]
    let vocabulary: PromptVocabulary
    let wordsTrain: [[Int32]]
    /// The constant baseline: the normalised mean training target.
    let meanTarget: [Float]

    var rows: [TrainingReport.Row] = []
    var heads: [String: LearnedModel.EncoderHeads] = [:]
    /// (validation, dim) predictions of each member.
    var validationPredictions: [EnsembleMember: [Float]] = [:]
    /// (n, dim) out-of-fold predictions of each member (`TrainingRun+Folds`).
    var outOfFold: [EnsembleMember: [Float]] = [:]
    /// Per labelled row, its feature cosine to the nearest training prompt
    /// of the other folds (the mean over encoders; `domainThreshold`).
    var outOfFoldSimilarity: [Float]
    /// The members of the last weights fitted (`ensembleWeights`) and their per-fold weights.
    var fitted: (members: [EnsembleMember], folds: [[Float]])?
    /// Per row, its fold by prompt; how many folds.
    let fold: [Int]
    let folds: Int
    /// Whether every row has its zero-shot prediction (then a member).
    let hasZeroShot: Bool
    /// (validation, vocabulary) MLC probabilities summed over the encoders' keyword heads, and how many.
    var validationKeywords: [Float] = []
    var keywordHeads = 0
    /// Curriculum difficulty per labelled row, summed over encoders.
    var difficulty: [Float]
    var difficultyCount = 0
    let meter: ProgressMeter

    init(data all: TrainingSet, options: TrainingOptions, progress: @escaping LibraryTrainer.Progress) throws {
        let (data, excluded) = all.excludingTinyImages()
        excludedTiny = excluded
        n = data.count
        guard n >= LibraryTrainer.minimumExamples else {
            let tiny = excluded > 0 ? " (\(excluded) smaller than \(TrainingSet.minimumSide) px left out)" : ""
            throw TrainingFailure("\(n) labelled images\(tiny); at least \(LibraryTrainer.minimumExamples) are needed (images whose metadata carries the prompt)")
        }
        groups = PromptGroups(data)
        guard groups.count >= 2 else { throw TrainingFailure("every labelled image has the same prompt; at least 2 distinct prompts are needed") }
        encoders = data.features.keys.sorted()
        guard !encoders.isEmpty else { throw TrainingFailure("no image features are cached in the index") }
        self.data = data
        self.options = options
        dim = data.targets.count / n
        let mask = groups.validationMask()
        self.mask = mask
        trainIdx = (0..<n).filter { !mask[$0] }
        valIdx = (0..<n).filter { mask[$0] }
        wTrain = groups.weights(of: trainIdx)
        wVal = groups.weights(of: valIdx)
        yTrain = LibraryTrainer.rows(data.targets, trainIdx, dim)
        yVal = LibraryTrainer.rows(data.targets, valIdx, dim)
        let vocabulary = PromptVocabulary(prompts: trainIdx.map { data.prompts[$0] }, size: options.vocabularySize,
                                          lexicon: options.lexicon)
        self.vocabulary = vocabulary
        wordsTrain = trainIdx.map { LibraryTrainer.wordIndices(vocabulary, data.prompts[$0]) }
        var mean = [Float](repeating: 0, count: dim)
        for r in 0..<trainIdx.count { for j in 0..<dim { mean[j] += wTrain[r] * yTrain[r * dim + j] } }
        EnsembleWeights.normalizeRows(&mean, dim)
        meanTarget = mean
        difficulty = [Float](repeating: 0, count: n)
        outOfFoldSimilarity = [Float](repeating: 0, count: n)
        (fold, folds) = Self.folds(groups, count: options.alignmentFolds)
        hasZeroShot = data.zeroShot.count == data.targets.count
        if hasZeroShot { validationPredictions[.zeroShot] = LibraryTrainer.rows(data.zeroShot, valIdx, dim) }
        meter = ProgressMeter(steps: Double(encoders.count) * 4 + 4, progress: progress)
    }

    func report(_ phase: String) throws { try meter.report(phase) }

    func timed<T>(_ key: String, _ body: () throws -> T) rethrows -> T { try meter.timed(key, body) }

    mutating func scored(_ variant: HeadVariant, _ predictions: [Float]) -> Float {
        let c = EnsembleWeights.meanCosine(predictions, yVal, dimension: dim, weights: wVal)
        rows.append(.init(variant, meanCosine: c))
        return c
    }

    // MARK: Heads

    /// Ridge, k-NN and the three MLP heads of one encoder.
    mutating func trainHeads(of e: String) throws {
        guard let x = data.features[e] else { return }
        let d = x.count / n
        var xTrain = LibraryTrainer.rows(x, trainIdx, d)
        let xVal = LibraryTrainer.rows(x, valIdx, d)
        let (ridge, alpha) = try trainRidge(e, xTrain, xVal)
        let knn = try trainKNN(e, xTrain, xVal)
        let moments = LearnedModel.moments(xTrain, dimension: d)
        let zTrain = LearnedModel.standardize(xTrain, mean: moments.mean, inverseStd: moments.inverseStd)
        xTrain = []   // the k-NN head keeps its own (normalised) copy
        let zVal = LearnedModel.standardize(xVal, mean: moments.mean, inverseStd: moments.inverseStd)
        let (mlp, best) = try trainMLPs(e, zTrain, zVal, inputs: d)
        heads[e] = .init(ridge: ridge, ridgeAlpha: alpha, mlp: mlp, ensembleTechnique: best, knn: knn,
                         inputMean: moments.mean, inputInverseStd: moments.inverseStd)
    }

    /// Closed-form weighted ridge, the penalty chosen on validation.
    mutating func trainRidge(_ e: String, _ xTrain: [Float], _ xVal: [Float]) throws -> (RidgeRegressor, alpha: Float) {
        try report("\(e): ridge")
        let ridges = try timed("ridge") { try RidgeRegressor.fit(x: xTrain, y: yTrain, count: trainIdx.count, alphas: options.ridgeAlphas, weights: wTrain) }
        var best = 0, bestCos = -Float.infinity, bestVal: [Float] = []
        for (i, r) in ridges.enumerated() {
            var p = r.predict(xVal); EnsembleWeights.normalizeRows(&p, dim)
            let c = EnsembleWeights.meanCosine(p, yVal, dimension: dim, weights: wVal)
            if c > bestCos { bestCos = c; best = i; bestVal = p }
        }
        rows.append(.init(HeadVariant(encoder: e, head: .ridge, technique: .vanilla), meanCosine: bestCos))
        validationPredictions[.head(encoder: e, .ridge)] = bestVal
        return (ridges[best], options.ridgeAlphas[best])
    }

    /// k-NN in the encoder's feature space, k chosen on validation (all k
    /// from one pass). One row per training prompt (`PromptGroups.means`:
    /// the mean of its images' unit features and of their targets), so a
    /// prompt repeated 40 times is one neighbour, not the k nearest.
    mutating func trainKNN(_ e: String, _ xTrain: [Float], _ xVal: [Float]) throws -> KNNRegressor {
        try report("\(e): k-NN")
        let (fx, fy, count) = groups.means(features: xTrain, targets: yTrain, rows: trainIdx)
        let all = KNNRegressor(features: fx, targets: fy, count: count, k: options.knnKs.first ?? 10)
        var bestK = all.k, bestCos = -Float.infinity, bestVal: [Float] = []
        let ks = options.knnKs, wVal = wVal
        timed("k-NN") {
            for (k, p) in zip(ks, all.predict(xVal, ks: ks)) {
                let c = EnsembleWeights.meanCosine(p, yVal, dimension: dim, weights: wVal)
                if c > bestCos { bestCos = c; bestK = min(k, count); bestVal = p }
            }
        }
        rows.append(.init(HeadVariant(encoder: e, head: .knn, technique: .knn), meanCosine: bestCos))
        validationPredictions[.head(encoder: e, .knn)] = bestVal
        return all.with(k: bestK)
    }

    /// The MLP heads (vanilla, +MLC, +MLC+CL from the +MLC run's difficulty
    /// scores) and the one that joins the ensemble: the best on validation,
    /// on a tie the later one (+MLC+CL over +MLC over vanilla).
    mutating func trainMLPs(_ e: String, _ zTrain: [Float], _ zVal: [Float], inputs d: Int) throws
        -> ([Technique: MLPHead], best: Technique) {
        let meter = self.meter
        let runs = try MLPMember.train(
            x: zTrain, y: yTrain, words: wordsTrain, vocabularySize: vocabulary.words.count,
            validationX: zVal, validationY: yVal, trainingRows: trainIdx, validationRows: valIdx, dimension: d, options: options,
            phase: { name in try meter.report("\(e): MLP \(name)") }, keepGoing: { meter.keepGoing("\(e): MLP") })
        for (k, v) in runs.seconds { meter.seconds[k, default: 0] += v }
        var mlp: [Technique: MLPHead] = [:], cosine: [Technique: Float] = [:], predictions: [Technique: [Float]] = [:]
        for t in Technique.mlp {
            guard let head = runs.heads[t] else { continue }
            mlp[t] = head
            let p = head.predict(zVal, rows: valIdx.count)
            predictions[t] = p
            cosine[t] = scored(HeadVariant(encoder: e, head: .mlp, technique: t), p)
        }
        for i in 0..<n { difficulty[i] += runs.difficulty[i] }
        difficultyCount += 1
        let best = Technique.mlp.reversed().max { (cosine[$0] ?? -2) < (cosine[$1] ?? -2) } ?? .vanilla
        validationPredictions[.head(encoder: e, .mlp)] = predictions[best]
        if n <= options.mlpFoldRefitLimit {
            outOfFold[.head(encoder: e, .mlp)] = try timed("MLP out-of-fold") {
                try mlpOutOfFold(e, best, runs: runs, zTrain: zTrain, zVal: zVal, inputs: d)
            }
        }
        // The keywords the daemon would show for validation, from the head it takes them from.
        if let t = LearnedModel.keywordTechnique(mlp, ensemble: best), let head = mlp[t] {
            let k = head.predictWithKeywords(zVal, rows: valIdx.count).keywords
            if validationKeywords.isEmpty { validationKeywords = [Float](repeating: 0, count: k.count) }
            if k.count == validationKeywords.count { for i in 0..<k.count { validationKeywords[i] += k[i] }; keywordHeads += 1 }
        }
        return (mlp, best)
    }

    // MARK: Ensemble

    /// The model of the base members (the zero-shot prediction among them
    /// when every row has one), their weights fitted on the out-of-fold
    /// predictions (or equal, `fitEnsembleWeights` false).
    mutating func fitEnsemble() throws -> LearnedModel {
        try report("ensemble")
        var model = LearnedModel(encoders: encoders, heads: heads, dakl: nil, baseWeights: [], weights: [], vocabulary: vocabulary,
                                 meanTarget: meanTarget, report: TrainingReport(
                                    trainedAt: Date(), examples: n, trainExamples: trainIdx.count, validationExamples: valIdx.count,
                                    distinctPrompts: groups.count, validationPrompts: groups.distinct(in: valIdx), excludedTinyImages: excludedTiny,
                                    rows: [], ensembleCosine: 0, constantCosine: 0, members: [], weights: [], seconds: [:],
                                    daklGamma: nil, daklCentroids: 0, knnK: 0), dimension: dim, zeroShotMember: hasZeroShot)
        model.report.encoderScores = encoderScores()
        let fit = ensembleWeights(for: model.baseMembers)
        fitted = (model.baseMembers, fit.folds)
        model.baseWeights = fit.weights
        model.weights = fit.weights
        model.report.ensembleShare = fit.share
        return model
    }

    /// DAKL, transductive as in the paper: k-means++ over the base
    /// ensemble's predictions for the library's unlabelled images (the
    /// target domain, `TrainingSet.unlabelled`; min(maxCentroids, u/20)
    /// centroids), or, with fewer than `LibraryTrainer.minimumDAKLCentroids`
    /// centroids' worth of them, for the training rows (as before); each
    /// centroid targeted with the labelled prompt of the training row whose
    /// prediction is nearest; RBF kernel ridge with γ chosen on validation;
    /// then the weights again with DAKL as a member. Skipped below
    /// `minimumDAKLCentroids` centroids.
    mutating func fitDAKL(_ model: inout LearnedModel) throws {
        try report("DAKL")
        let t0 = ContinuousClock.now
        defer { meter.seconds["DAKL", default: 0] += (ContinuousClock.now - t0).seconds }
        // The base ensemble on the training rows, a chunk at a time (bounded memory).
        var baseTrain = [Float]()
        baseTrain.reserveCapacity(trainIdx.count * dim)
        for lo in stride(from: 0, to: trainIdx.count, by: 4096) {
            let chunk = Array(trainIdx[lo..<min(trainIdx.count, lo + 4096)])
            let f = data.features.mapValues { LibraryTrainer.rows($0, chunk, $0.count / n) }
            let z = hasZeroShot ? LibraryTrainer.rows(data.zeroShot, chunk, dim) : nil
            baseTrain += model.predict(features: f, rows: chunk.count, zeroShot: z).ensemble
        }
        let baseVal = model.baseMembers.map { validationPredictions[$0]! }
        let baseValEnsemble = EnsembleWeights.combine(baseVal, weights: model.baseWeights, dimension: dim)
        let target = try unlabelledPredictions(model)
        let transductive = target.count / 20 >= LibraryTrainer.minimumDAKLCentroids
        let domain: DAKLDomain = transductive ? .unlabelled : .training
        let points = transductive ? target.predictions : baseTrain
        let count = transductive ? target.count : trainIdx.count
        let r = min(options.daklMaxCentroids, count / 20)
        guard r >= LibraryTrainer.minimumDAKLCentroids else { return }
        let km = KMeans(points: points, count: count, k: r, seed: options.seed, maxIterations: 25, tolerance: 0.001)
        let nearest = KNNRegressor(features: baseTrain, targets: yTrain, count: trainIdx.count, k: 1)
        var centroids = km.centroids
        EnsembleWeights.normalizeRows(&centroids, dim)
        let targets = nearest.predict(centroids, k: 1)
        var bestCos = -Float.infinity
        for g in options.daklGammas {
            guard let krr = try? DomainAdaptiveKernelRidge(centroids: centroids, targets: targets, dimension: dim, gamma: g, alpha: options.daklAlpha) else { continue }
            var p = krr.predict(baseValEnsemble); EnsembleWeights.normalizeRows(&p, dim)
            let c = EnsembleWeights.meanCosine(p, yVal, dimension: dim, weights: wVal)
            if c > bestCos { bestCos = c; model.dakl = krr; validationPredictions[.dakl] = p }
        }
        guard let dakl = model.dakl else { return }
        outOfFold[.dakl] = onValidationRows(validationPredictions[.dakl] ?? [])
        rows.append(.init(.dakl, meanCosine: bestCos))
        model.report.daklGamma = dakl.gamma
        model.report.daklCentroids = dakl.count
        model.report.daklDomain = domain
        model.report.daklUnlabelledImages = target.count
        let fit = ensembleWeights(for: model.members)
        fitted = (model.members, fit.folds)
        model.weights = fit.weights
        model.report.ensembleShare = fit.share
    }

    /// The base ensemble's (count, dim) predictions for the sample of
    /// unlabelled images, read a chunk at a time (only the predictions are
    /// kept). Chunks without every encoder's features, or without zero-shot
    /// predictions when those are a member, are skipped.
    func unlabelledPredictions(_ model: LearnedModel) throws -> (predictions: [Float], count: Int) {
        guard let source = data.unlabelled, source.count > 0 else { return ([], 0) }
        let total = min(source.count, UnlabelledImages.maximum)
        var out = [Float](), count = 0
        out.reserveCapacity(total * dim)
        for lo in stride(from: 0, to: total, by: UnlabelledImages.chunkSize) {
            guard meter.keepGoing("DAKL: unlabelled images") else { throw TrainingFailure("cancelled") }
            let c = try source.chunk(lo..<min(total, lo + UnlabelledImages.chunkSize))
            guard c.rows > 0, encoders.allSatisfy({ c.features[$0]?.count == c.rows * (data.features[$0]!.count / n) }) else { continue }
            if hasZeroShot && c.zeroShot.count != c.rows * dim { continue }
            out += model.predict(features: c.features, rows: c.rows, zeroShot: hasZeroShot ? c.zeroShot : nil).ensemble
            count += c.rows
        }
        return (out, count)
    }

    // MARK: Alignment and report

    /// Out-of-fold alignment for every labelled image, and curriculum tiers
    /// (from the MLP runs' difficulty, or the alignment without MLPs).
    func scoreAlignments(_ model: LearnedModel) throws -> [(id: Int64, alignment: Float, tier: Tier)] {
        try report("alignment")
        let alignment = timed("alignment") { outOfFoldAlignment() }
        let scores = difficultyCount > 0 ? difficulty.map { $0 / Float(difficultyCount) } : alignment
        let tiers = LibraryTrainer.tiers(scores: scores, trainingMask: mask.map { !$0 })
        return (0..<n).map { (data.ids[$0], alignment[$0], tiers[$0]) }
    }

    /// The model with its report: validation cosines of every head, the
    /// ensemble (its weights fitted without the row's fold, `nestedValidation`),
    /// the constant baseline and the zero-shot prediction; over every row out
    /// of fold, the ensemble and zero-shot (adoption); the members and their
    /// weights; where keywords come from (`KeywordChoice`).
    func finish(_ trained: LearnedModel) -> LearnedModel {
        var model = trained
        let foldWeights = fitted?.members == model.members ? fitted!.folds : ensembleWeights(for: model.members).folds
        let nested = nestedEnsemble(model.members, weights: foldWeights)
        let ensembleVal = nestedValidation(model.members, weights: foldWeights)
        let constantVal = [Float]((0..<valIdx.count).flatMap { _ in meanTarget })
        model.report.rows = rows
        model.report.ensembleCosine = EnsembleWeights.meanCosine(ensembleVal, yVal, dimension: dim, weights: wVal)
        model.report.constantCosine = EnsembleWeights.meanCosine(constantVal, yVal, dimension: dim, weights: wVal)
        if data.zeroShot.count == data.targets.count {
            let zeroShotVal = LibraryTrainer.rows(data.zeroShot, valIdx, dim)
            model.report.zeroShotCosine = EnsembleWeights.meanCosine(zeroShotVal, yVal, dimension: dim, weights: wVal)
        }
        if hasZeroShot {
            let weights = groups.weights(of: Array(0..<n))
            model.report.outOfFoldCosine = EnsembleWeights.meanCosine(nested, data.targets, dimension: dim, weights: weights)
            model.report.outOfFoldZeroShotCosine = EnsembleWeights.meanCosine(data.zeroShot, data.targets, dimension: dim, weights: weights)
            let constant = outOfFoldConstantCosines(), total = weights.reduce(0, +)
            model.report.outOfFoldConstantCosine = total > 0 ? zip(constant, weights).reduce(0) { $0 + $1.0 * $1.1 } / total : 0
        }
        let m = vocabulary.words.count
        let keywords = KeywordChoice.decide(probabilities: validationKeywords, truth: valIdx.map { LibraryTrainer.wordIndices(vocabulary, data.prompts[$0]) },
                                            groups: valIdx.map { groups.ids[$0] }, vocabularySize: m)
        model.report.keywordsSource = keywords.source
        model.report.keywordsMLCPrecision = keywords.mlcPrecision
        model.report.keywordsPriorPrecision = keywords.priorPrecision
        model.report.decideAdoption(margin: options.adoptionMargin)
        model.report.domainSimilarity = domainThreshold()
        if let near = nearWeights(model.members, global: model.weights, folds: foldWeights) {
            model.report.nearSimilarity = near.similarity
            model.report.nearWeights = near.weights
            model.report.nearShare = near.share
        }
        model.report.members = model.members.map(\.name)
        model.report.weights = model.weights
        model.report.seconds = meter.seconds
        model.report.knnK = heads.values.first?.knn.k ?? 0
        _ = meter.progress("done", 1)
        return model
    }
}

/// A run's progress through its steps (each named phase reports the
/// fraction done and may cancel the run) and the seconds spent per technique.
final class ProgressMeter {
    let steps: Double
    let progress: LibraryTrainer.Progress
    private(set) var step = 0.0
    var seconds: [String: Double] = [:]

    init(steps: Double, progress: @escaping LibraryTrainer.Progress) {
        self.steps = steps
        self.progress = progress
    }

    /// Starts `phase`; throws when the caller asked to cancel.
    func report(_ phase: String) throws {
        guard keepGoing(phase) else { throw TrainingFailure("cancelled") }
        step += 1
    }

    /// Reports progress within the current step; false = cancel.
    func keepGoing(_ phase: String) -> Bool { progress(phase, min(step / steps, 1)) }

    func timed<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
        let t0 = ContinuousClock.now
        defer { seconds[key, default: 0] += (ContinuousClock.now - t0).seconds }
        return try body()
    }
}
