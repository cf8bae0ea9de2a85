import Foundation
import Inference

/// What revsd learned from the library's labelled images: per image encoder a
/// ridge head, MLP heads (vanilla, +MLC, +MLC+CL) and a k-NN regressor, the
/// DAKL member on top of their ensemble, the ensemble weights, the MLC
/// vocabulary and the constant baseline. Immutable: training builds a new
/// one and the daemon swaps it in whole.
public struct LearnedModel: Sendable {
    public struct EncoderHeads: Sendable {
        public var ridge: RidgeRegressor
        public var ridgeAlpha: Float
        public var mlp: [Technique: MLPHead]
        /// The MLP technique that joins the ensemble (best on validation).
        public var ensembleTechnique: Technique
        public var knn: KNNRegressor
        /// Per-dimension standardisation of the features fed to the MLPs.
        public var inputMean: [Float]
        public var inputInverseStd: [Float]
    }

    /// Encoder names, sorted (e.g. "efficientnet-lite0", "clip:vit-b-32").
    public var encoders: [String]
    public var heads: [String: EncoderHeads]
    public var dakl: DomainAdaptiveKernelRidge?
    /// Weights of the base members (`baseMembers` order).
    public var baseWeights: [Float]
    /// Weights of the base members and then DAKL (when present).
    public var weights: [Float]
    public var vocabulary: PromptVocabulary
    /// The constant baseline: the normalised mean of the training targets.
    public var meanTarget: [Float]
    public var report: TrainingReport
    public let dimension: Int
    /// Whether the zero-shot prediction is a base member (after the
    /// encoders' heads). false in models saved before it was one, and when
    /// the training set had no zero-shot predictions.
    public var zeroShotMember = false

    /// Members in ensemble order, without DAKL.
    public var baseMembers: [EnsembleMember] { encoders.flatMap(EnsembleMember.base) + (zeroShotMember ? [.zeroShot] : []) }
    public var members: [EnsembleMember] { baseMembers + (dakl == nil ? [] : [.dakl]) }

    /// Every member's unit predictions for `rows` images.
    public struct Outputs: Sendable {
        public var members: [EnsembleMember: [Float]] = [:]
        /// By encoder, head and technique, for evaluation.
        public var techniques: [HeadVariant: [Float]] = [:]
        public var ensemble: [Float] = []
        /// MLC probabilities (rows, vocabulary), averaged over the encoders.
        public var keywordProbabilities: [Float] = []
        /// Per row, whether it lies outside the labelled library's domain
        /// (`TrainingReport.domainSimilarity`): its ensemble is then its
        /// zero-shot prediction. Empty when not measured.
        public var outsideDomain: [Bool] = []
        /// Per row, whether it lies near a labelled prompt
        /// (`TrainingReport.nearSimilarity`): its ensemble then uses
        /// `TrainingReport.nearWeights`. Empty when the model has none.
        public var nearLibrary: [Bool] = []
    }

    /// Predicts from `features` (encoder → (rows, d)) and, for the
    /// zero-shot member, each image's zero-shot prediction (`zeroShot`,
    /// (rows, dimension); nil or another shape: the member does not count,
    /// the others' weighted mean is the ensemble). With `allTechniques`,
    /// also runs the MLP heads that are not in the ensemble (for `eval`).
    public func predict(features: [String: [Float]], rows: Int, zeroShot: [Float]? = nil, allTechniques: Bool = false) -> Outputs {
        var out = Outputs()
        guard rows > 0 else { return out }
        if zeroShotMember, var z = zeroShot, z.count == rows * dimension {
            EnsembleWeights.normalizeRows(&z, dimension)
            out.members[.zeroShot] = z
        }
        let m = vocabulary.words.count
        var keywordSum = [Float](repeating: 0, count: rows * m)
        var keywordHeads = 0
        // Per row, the feature cosine to the nearest labelled prompt summed over encoders (the k-NN heads' pass).
        var near = [Float](repeating: 0, count: rows), measured = 0
        for e in encoders {
            guard let h = heads[e], let x = features[e], x.count == rows * h.ridge.inputs else { continue }
            var ridge = h.ridge.predict(x)
            EnsembleWeights.normalizeRows(&ridge, dimension)
            out.members[.head(encoder: e, .ridge)] = ridge
            out.techniques[HeadVariant(encoder: e, head: .ridge, technique: .vanilla)] = ridge
            let z = Self.standardize(x, mean: h.inputMean, inverseStd: h.inputInverseStd)
            let keywordTechnique = Self.keywordTechnique(h.mlp, ensemble: h.ensembleTechnique)
            for t in Technique.mlp where allTechniques || t == h.ensembleTechnique || t == keywordTechnique {
                guard let head = h.mlp[t] else { continue }
                let p = head.predictWithKeywords(z, rows: rows)
                out.techniques[HeadVariant(encoder: e, head: .mlp, technique: t)] = p.embeddings
                if t == h.ensembleTechnique { out.members[.head(encoder: e, .mlp)] = p.embeddings }
                if t == keywordTechnique, p.keywords.count == keywordSum.count {
                    for i in 0..<p.keywords.count { keywordSum[i] += p.keywords[i] }
                    keywordHeads += 1
                }
            }
            let (knns, nearest) = h.knn.predictWithNearest(x)
            let knn = knns[0]
            for r in 0..<rows { near[r] += nearest[r] }
            measured += 1
            out.members[.head(encoder: e, .knn)] = knn
            out.techniques[HeadVariant(encoder: e, head: .knn, technique: .knn)] = knn
        }
        let base = baseMembers.map { out.members[$0] ?? [Float](repeating: 0, count: rows * dimension) }
        let baseEnsemble = EnsembleWeights.combine(base, weights: baseWeights, dimension: dimension)
        if let dakl {
            var d = dakl.predict(baseEnsemble)
            EnsembleWeights.normalizeRows(&d, dimension)
            out.members[.dakl] = d
            out.techniques[.dakl] = d
            out.ensemble = EnsembleWeights.combine(base + [d], weights: weights, dimension: dimension)
        } else {
            out.ensemble = baseEnsemble
        }
        // Images as near a labelled prompt as the library's nearest rows are to
        // each other's: the weights fitted on those rows.
        if let w = report.nearWeights, let threshold = report.nearSimilarity, w.count == members.count, measured > 0 {
            let all = members.map { out.members[$0] ?? [Float](repeating: 0, count: rows * dimension) }
            out.nearLibrary = near.map { $0 / Float(measured) >= threshold }
            if out.nearLibrary.contains(true) {
                let gated = EnsembleWeights.combine(all, weights: w, dimension: dimension)
                for r in 0..<rows where out.nearLibrary[r] {
                    for j in 0..<dimension { out.ensemble[r * dimension + j] = gated[r * dimension + j] }
                }
            }
        }
        if keywordHeads > 0 { out.keywordProbabilities = keywordSum.map { $0 / Float(keywordHeads) } }
        // An image farther from every labelled prompt than the library's own images are from each other's.
        if let threshold = report.domainSimilarity, let z = out.members[.zeroShot], measured > 0 {
            out.outsideDomain = near.map { $0 / Float(measured) < threshold }
            for r in 0..<rows where out.outsideDomain[r] {
                for j in 0..<dimension { out.ensemble[r * dimension + j] = z[r * dimension + j] }
            }
        }
        return out
    }

    /// The MLP head keywords come from: the ensemble's when it has an MLC
    /// head, else the +MLC+CL or +MLC one (nil: none has).
    static func keywordTechnique(_ mlp: [Technique: MLPHead], ensemble: Technique) -> Technique? {
        [ensemble, .curriculum, .mlc].first { (mlp[$0]?.keywords ?? 0) > 0 }
    }

    /// The image's keywords: vocabulary words with probability ≥ 0.5 (at most
    /// `limit`), or the top 3 when none is that sure.
    public func keywords(_ probabilities: [Float], row: Int, limit: Int = 8) -> [String] {
        let m = vocabulary.words.count
        guard m > 0, probabilities.count >= (row + 1) * m else { return [] }
        let p = probabilities[(row * m)..<((row + 1) * m)]
        let ranked = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        let sure = ranked.prefix(limit).filter { p[$0] >= 0.5 }
        return (sure.isEmpty ? Array(ranked.prefix(3)) : sure).map { vocabulary.words[$0 - row * m] }
    }

    static func standardize(_ x: [Float], mean: [Float], inverseStd: [Float]) -> [Float] {
        let d = mean.count
        var z = x
        for r in 0..<(x.count / d) { for j in 0..<d { z[r * d + j] = (x[r * d + j] - mean[j]) * inverseStd[j] } }
        return z
    }

    /// Column means and inverse standard deviations of (n, d) rows.
    static func moments(_ x: [Float], dimension d: Int) -> (mean: [Float], inverseStd: [Float]) {
        let n = x.count / d
        var mean = [Double](repeating: 0, count: d), sq = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { let v = Double(x[r * d + j]); mean[j] += v; sq[j] += v * v } }
        let inv = (0..<d).map { j -> Float in
            let m = mean[j] / Double(max(n, 1))
            let variance = max(sq[j] / Double(max(n, 1)) - m * m, 0)
            return Float(1 / (variance.squareRoot() + 1e-3))
        }
        return (mean.map { Float($0 / Double(max(n, 1))) }, inv)
    }
}

/// Numbers from a training run, kept with the model (and shown by `train`).
public struct TrainingReport: Sendable, Codable, Equatable {
    public struct Row: Sendable, Codable, Equatable {
        public var encoder: String
        public var head: HeadKind
        public var technique: Technique
        public var meanCosine: Float

        public init(_ variant: HeadVariant, meanCosine: Float) {
            encoder = variant.encoder; head = variant.head; technique = variant.technique; self.meanCosine = meanCosine
        }
    }
    public var trainedAt: Date
    /// Labelled images used (tiny ones left out), and their split.
    public var examples: Int
    public var trainExamples: Int
    public var validationExamples: Int
    /// Distinct normalised prompts among `examples`, and in validation (each
    /// prompt is on one side only and weighs once). nil in models trained
    /// before prompts were grouped.
    public var distinctPrompts: Int?
    public var validationPrompts: Int?
    /// Labelled images left out for being under `TrainingSet.minimumSide`
    /// pixels on a side (nil: models trained before).
    public var excludedTinyImages: Int?
    /// Validation mean cosine per encoder/head/technique.
    public var rows: [Row]
    /// The ensemble's validation mean cosine, each row's weights fitted
    /// without its fold (held out from the weights too).
    public var ensembleCosine: Float
    public var constantCosine: Float
    /// The zero-shot prediction's validation mean cosine, on the same split
    /// and weights (nil: models trained before it was measured, or a
    /// training set without zero-shot predictions).
    public var zeroShotCosine: Float?
    /// Out of fold, over every labelled prompt (each weighing once): the
    /// mean cosine of the ensemble (members' grouped k-fold predictions,
    /// weights fitted without the row's fold; DAKL, and the MLPs of a
    /// library too large to refit them per fold, count on validation rows
    /// only, `TrainingRun+Folds`) and of the zero-shot
    /// predictions. Decide adoption when validation holds too few prompts
    /// to (nil: models trained before, or no zero-shot rows).
    public var outOfFoldCosine: Float?
    public var outOfFoldZeroShotCosine: Float?
    /// The constant's, out of fold (each row predicted by the mean target
    /// of the other folds; nil: models trained before).
    public var outOfFoldConstantCosine: Float?
    /// Out of fold, per encoder, its best member against the constant and
    /// zero-shot on the same rows (`TrainingRun.encoderScores`). nil: models
    /// trained before.
    public var encoderScores: [String: EncoderScore]?

    /// An encoder's best member out of fold, and what not learning scores on its rows.
    public struct EncoderScore: Sendable, Codable, Equatable {
        public var member: String
        public var cosine: Float
        public var constant: Float
        public var zeroShot: Float?

        public init(member: String, cosine: Float, constant: Float, zeroShot: Float?) {
            self.member = member; self.cosine = cosine; self.constant = constant; self.zeroShot = zeroShot
        }

        /// How far it is above the better of the constant and zero-shot.
        public var margin: Float { cosine - max(constant, zeroShot ?? -.infinity) }
    }
    /// Whether the model replaces the zero-shot predictions
    /// (`decideAdoption`; nil: models trained before, adopted).
    public var adopted: Bool?
    /// Member names in ensemble order ("efficientnet-lite0/ridge", …, "dakl").
    public var members: [String]
    public var weights: [Float]
    /// How much of the fitted weights the ensemble keeps against equal
    /// weights (0…1, chosen nested out of fold, `TrainingRun.ensembleWeights`;
    /// nil: models trained before, as fitted).
    public var ensembleShare: Float?
    /// The feature cosine to the nearest labelled prompt below which an
    /// image keeps its zero-shot prediction (`TrainingRun.domainThreshold`;
    /// nil: models trained before, or without zero-shot predictions).
    public var domainSimilarity: Float?
    /// Weights (`members` order) for images at least `nearSimilarity`
    /// near a labelled prompt (the feature cosine of `domainSimilarity`):
    /// fitted out of fold on the labelled rows that near another prompt's
    /// images, shrunk toward `weights` by `nearShare` (chosen nested out of
    /// fold, `TrainingRun.nearWeights`). nil: one set of weights for every
    /// image (models trained before, or where the near rows' own weights did
    /// no better out of fold).
    public var nearWeights: [Float]?
    public var nearSimilarity: Float?
    public var nearShare: Float?
    /// Seconds spent per technique (summed over encoders).
    public var seconds: [String: Double]
    public var daklGamma: Float?
    public var daklCentroids: Int
    /// Where DAKL's k-means ran: over the unlabelled images' predictions
    /// (the target domain) or, with too few of them, the training rows'; and
    /// how many unlabelled images it read (in the fallback, the too few
    /// there were). nil: models trained before (training rows), or no DAKL.
    public var daklDomain: DAKLDomain?
    public var daklUnlabelledImages: Int?
    public var knnK: Int
    /// Where the daemon's keywords come from (`KeywordChoice`): the MLC
    /// head where it ranked held-out prompts' words better than word
    /// frequency alone, else the zero-shot classes; with the two mean
    /// average precisions. nil: models trained before (MLC keywords).
    public var keywordsSource: KeywordsSource?
    public var keywordsMLCPrecision: Float?
    public var keywordsPriorPrecision: Float?
    /// The source in use (models trained before the choice: MLC).
    public var keywordSource: KeywordsSource { keywordsSource ?? .mlc }

    /// The adoption rule: a model that does not beat the zero-shot
    /// prediction and the constant by more than `margin` must not replace
    /// the zero-shot predictions (unmeasured, without zero-shot predictions,
    /// it does, as against an unmeasured constant).
    public static func adopts(ensemble: Float, zeroShot: Float?, constant: Float? = nil, margin: Float) -> Bool {
        guard let zeroShot else { return true }
        return ensemble > zeroShot + margin && ensemble > (constant ?? -.infinity) + margin
    }

    /// Below this many validation prompts the validation scores are too few
    /// to decide on (2 images decided a 45-image library of the fixtures):
    /// the out-of-fold scores of every prompt decide instead.
    public static let minimumValidationPrompts = 10

    /// Whether adoption is decided out of fold rather than on validation.
    public var decidedOutOfFold: Bool {
        (validationPrompts ?? 0) < Self.minimumValidationPrompts && outOfFoldCosine != nil && outOfFoldZeroShotCosine != nil
    }

    /// Sets `adopted`: the ensemble against zero-shot on validation, or,
    /// with too few validation prompts, the out-of-fold scores.
    public mutating func decideAdoption(margin: Float) {
        if decidedOutOfFold, let learned = outOfFoldCosine {
            adopted = Self.adopts(ensemble: learned, zeroShot: outOfFoldZeroShotCosine, constant: outOfFoldConstantCosine, margin: margin)
        } else {
            adopted = Self.adopts(ensemble: ensembleCosine, zeroShot: zeroShotCosine, constant: constantCosine, margin: margin)
        }
    }

    /// Whether the model makes the predictions (models trained before the
    /// rule: yes).
    public var isAdopted: Bool { adopted ?? true }

    /// Why the model is not in use (nil when adopted).
    public var notAdoptedReason: String? {
        guard !isAdopted else { return nil }
        func f(_ x: Float) -> String { String(format: "%.3f", x) }
        let learned: Float, zeroShot: Float?, constant: Float?, where_: String
        if decidedOutOfFold, let l = outOfFoldCosine, let z = outOfFoldZeroShotCosine {
            (learned, zeroShot, constant) = (l, z, outOfFoldConstantCosine)
            where_ = "out of fold over every labelled prompt (validation holds \(validationPrompts ?? 0) prompts, fewer than \(Self.minimumValidationPrompts))"
        } else {
            guard let z = zeroShotCosine else { return nil }
            (learned, zeroShot, constant, where_) = (ensembleCosine, z, constantCosine, "on validation")
        }
        if let zeroShot, learned > zeroShot, let constant, learned <= constant {
            return "kept the zero-shot predictions: the learned model (\(f(learned))) did not beat the constant prediction "
                + "(\(f(constant)), the library's mean prompt for every image) " + where_
        }
        return "kept the zero-shot predictions: the learned model (\(f(learned))) did not beat them (\(f(zeroShot ?? 0))) " + where_
    }
}
