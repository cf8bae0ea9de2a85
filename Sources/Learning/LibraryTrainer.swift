import Foundation
import Inference

/// Settings of a training run (the daemon's `[learning]` section).
public struct TrainingOptions: Sendable, Equatable {
    /// MLC vocabulary size (the paper's m).
    public var vocabularySize = 1000
    /// Keeps the MLC vocabulary to nouns, adjectives and verbs (nil: stop words only).
    public var lexicon: PartOfSpeechLexicon?
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
    /// Folds (by prompt) for the ensemble's weights, its out-of-fold score and the alignment scores.
    public var alignmentFolds = 5
    /// Up to this many labelled images, each encoder's MLP head is trained
    /// again without each fold (for the epochs its early stopping chose), so
    /// its ensemble weight is fitted on every row out of fold like the other
    /// members', not on the validation rows alone. Above it, the refits would
    /// multiply the run's time (the MLPs are most of it) for weights that the
    /// validation rows alone already fit well.
    public var mlpFoldRefitLimit = 2_000
    /// Curriculum exposure per epoch (the paper's: a third, a half, all).
    public var curriculumFractions: [Float] = [1.0 / 3, 0.5, 1]
    /// Fit the ensemble weights on validation (from equal weights), or keep them equal.
    public var fitEnsembleWeights = true
    /// How much the ensemble's validation mean cosine must beat the zero-shot
    /// prediction's by for the model to replace it (`TrainingReport.adopted`).
    public var adoptionMargin: Float = 0
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
        public var alignments: [(id: Int64, alignment: Float, tier: Tier)]
    }

    /// The deterministic split (true = validation): by normalised prompt,
    /// about a tenth of the examples (`PromptGroups.validationMask`).
    public static func validationMask(_ data: TrainingSet) -> [Bool] { PromptGroups(data).validationMask() }

    static func rows(_ x: [Float], _ indices: [Int], _ d: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(indices.count * d)
        for i in indices { out.append(contentsOf: x[(i * d)..<((i + 1) * d)]) }
        return out
    }

    /// Trains every member on `data`, in the named steps of `TrainingRun`:
    /// per encoder ridge, k-NN and the MLP heads; the ensemble's weights; DAKL
    /// over it; then the out-of-fold alignment and tier of every image.
    public func train(_ data: TrainingSet, progress: @escaping Progress = { _, _ in true }) throws -> Result {
        var run = try TrainingRun(data: data, options: options, progress: progress)
        for encoder in run.encoders { try run.trainHeads(of: encoder) }
        try run.predictOutOfFold()
        var model = try run.fitEnsemble()
        try run.fitDAKL(&model)
        let alignments = try run.scoreAlignments(model)
        return Result(model: run.finish(model), alignments: alignments)
    }

    static func wordIndices(_ v: PromptVocabulary, _ prompt: String) -> [Int32] {
        Array(Set(PromptVocabulary.words(in: prompt).compactMap { v.index[$0].map(Int32.init) })).sorted()
    }

    /// Tiers by difficulty score: the thresholds are the training examples'
    /// terciles (the curriculum's easiest third is "easy"), applied to every
    /// labelled image.
    public static func tiers(scores: [Float], trainingMask: [Bool]) -> [Tier] {
        var ref = zip(scores, trainingMask).filter(\.1).map(\.0).sorted()
        if ref.isEmpty { ref = scores.sorted() }
        guard !ref.isEmpty else { return [] }
        let hardBelow = ref[ref.count / 3], easyFrom = ref[min(ref.count - 1, (2 * ref.count) / 3)]
        return scores.map { $0 >= easyFrom ? .easy : ($0 < hardBelow ? .hard : .medium) }
    }
}

extension Duration {
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
