import Analysis
import Foundation
import Learning
import Metadata
import RevsdProtocol
import Store

/// The protocol's result types built from what the daemon's parts know:
/// the one place where index records, analyses and evaluation numbers
/// become wire values (Float → Double, Learning's types → the protocol's).

extension RevsdProtocol.Tier {
    init(_ tier: Learning.Tier) {
        switch tier {
        case .easy: self = .easy
        case .medium: self = .medium
        case .hard: self = .hard
        }
    }
}

extension Learning.Tier {
    init(_ tier: RevsdProtocol.Tier) {
        switch tier {
        case .easy: self = .easy
        case .medium: self = .medium
        case .hard: self = .hard
        }
    }
}

extension CaptionResult {
    /// The `caption` answer for an analysed file (also what `revsdctl caption
    /// --local` prints): zero-shot, before any learned prediction is added.
    public init(_ a: ImageAnalysis, includeEmbedding: Bool) {
        self.init(path: a.path, metadata: a.metadata.map(FileMetadata.init), caption: a.caption, keywords: a.keywords,
                  knownPromptCosine: a.knownPromptCosine.map(Double.init), error: a.error,
                  includesEmbedding: includeEmbedding, embedding: a.embedding?.map(Double.init))
    }
}

extension CaptionResult.FileMetadata {
    public init(_ m: GenerationMetadata) {
        self.init(prompt: m.prompt, negativePrompt: m.negativePrompt, source: m.source, steps: m.steps, sampler: m.sampler,
                  cfgScale: m.cfgScale, seed: m.seed, width: m.width, height: m.height, model: m.model, modelHash: m.modelHash)
    }
}

extension CaptionResult.IndexedScore {
    init(_ rec: ImageRecord) {
        self.init(alignment: rec.alignment.map(Double.init), tier: rec.tier.map(RevsdProtocol.Tier.init))
    }
}

extension SearchHit {
    /// `score` is the cosine, or (listing the least aligned) the alignment.
    init(_ rec: ImageRecord, score: Double?, otherPaths: [String] = [], match: Match? = nil, confidence: Double? = nil,
         variations: [String] = []) {
        self.init(path: rec.path, score: score, caption: rec.caption, prompt: rec.prompt,
                  alignment: rec.alignment.map(Double.init), tier: rec.tier.map(RevsdProtocol.Tier.init), paths: otherPaths,
                  match: match, confidence: confidence, variations: variations, imageID: rec.id)
    }
}

extension ImageSummary {
    /// A gallery card: the record's file, its prompt and metadata, its stored caption and score.
    init(_ rec: ImageRecord) {
        self.init(imageID: rec.id, path: rec.path, mtime: Double(rec.mtimeNs) / 1e9, width: rec.width, height: rec.height,
                  prompt: rec.prompt, caption: rec.caption, model: rec.metadata?.model, sampler: rec.metadata?.sampler,
                  alignment: rec.alignment.map(Double.init), tier: rec.tier.map(RevsdProtocol.Tier.init))
    }
}

extension EvalRunResult {
    /// The scores of an evaluation, its human table, and each image's caption when asked.
    init(_ r: EvaluationResult, includeCaptions: Bool) {
        self.init(
            images: r.images,
            rows: r.rows.map { Row(encoder: $0.encoder, head: $0.head.rawValue, technique: $0.technique.rawValue, meanCosine: Double($0.meanCosine)) },
            ensemble: MeanCosine(Double(r.ensemble)), constant: MeanCosine(Double(r.constant)),
            zeroShot: r.zeroShot.map { MeanCosine(Double($0)) },
            caption: CaptionScore(exactMatchRate: Double(r.captionExactMatch), meanCosine: Double(r.captionMeanCosine)),
            refCLIPScore: r.refCLIPScore.map {
                RefCLIP(clipScore: Double($0.clipScore), referenceScore: Double($0.referenceScore), refCLIPScore: Double($0.refCLIPScore))
            },
            retrainedExcluding: r.retrainedExcluding,
            retrainedExcludingNearDuplicates: r.retrainedExcludingNearDuplicates, table: r.table(),
            captions: includeCaptions ? r.captions.map { CaptionRow(name: $0.name, caption: $0.caption, prompt: $0.prompt) } : nil)
    }
}

extension LearningService {
    /// For `status` and `train`: the state, and the last run's numbers.
    public func status() -> LearningStatus {
        let state: LearningStatus.State = switch self.state {
        case .idle: .idle
        case let .training(phase, fraction, reason): .training(phase: phase, fraction: fraction, reason: reason)
        case let .predicting(done, total): .predicting(done: done, total: total)
        }
        let run = model.map { m in
            LearningStatus.Run(trainedAt: m.report.trainedAt.timeIntervalSince1970, examples: m.report.examples,
                               validationMeanCosine: Double(m.report.ensembleCosine), constantMeanCosine: Double(m.report.constantCosine),
                               members: m.members.map(\.name), distinctPrompts: m.report.distinctPrompts,
                               validationExamples: m.report.validationExamples, validationPrompts: m.report.validationPrompts,
                               excludedTinyImages: m.report.excludedTinyImages,
                               zeroShotMeanCosine: m.report.zeroShotCosine.map(Double.init),
                               outOfFoldMeanCosine: m.report.outOfFoldCosine.map(Double.init),
                               outOfFoldZeroShotMeanCosine: m.report.outOfFoldZeroShotCosine.map(Double.init), adopted: m.report.isAdopted,
                               notAdoptedReason: m.report.notAdoptedReason, keywordsSource: m.report.keywordSource.rawValue,
                               daklCentroids: m.dakl.map { _ in m.report.daklCentroids },
                               daklDomain: m.dakl == nil ? nil : (m.report.daklDomain ?? .training).rawValue,
                               daklUnlabelledImages: m.dakl == nil ? nil : m.report.daklUnlabelledImages,
                               weights: m.weights.count == m.members.count ? m.weights.map(Double.init) : nil,
                               weightsFittedShare: m.report.ensembleShare.map(Double.init),
                               domainSimilarity: m.report.domainSimilarity.map(Double.init),
                               outOfFoldConstantMeanCosine: m.report.outOfFoldConstantCosine.map(Double.init),
                               encoders: m.report.encoderScores.map { scores in
                                   scores.sorted { $0.key < $1.key }.map { e, s in
                                       LearningStatus.EncoderScore(encoder: e, member: s.member, meanCosine: Double(s.cosine),
                                                                   constantMeanCosine: Double(s.constant), zeroShotMeanCosine: s.zeroShot.map(Double.init))
                                   }
                               },
                               nearWeights: m.report.nearWeights.flatMap { $0.count == m.members.count ? $0.map(Double.init) : nil },
                               nearSimilarity: m.report.nearSimilarity.map(Double.init),
                               nearWeightsFittedShare: m.report.nearShare.map(Double.init))
        }
        return LearningStatus(state: state, lastRun: run, promptBank: bank.count, lastError: lastError)
    }
}

extension FailedFile {
    init(_ rec: ImageRecord) {
        self.init(path: rec.path, error: rec.error ?? "failed", at: rec.indexedAt.timeIntervalSince1970)
    }
}

extension CaptionResult.Candidate {
    /// A prompt of the bank near a prediction, as `caption` and `image` show it.
    init(_ c: PromptBank.Candidate) { self.init(prompt: c.prompt, cosine: Double(c.cosine)) }
}
