import Foundation

/// How an image's rows make its score in a search.
///
/// `.bestRow` (the plain index): an image scores its best row. `.prompts`
/// is what a user's search needs (issue #12): the prompt a file carries is
/// the truth for that file, so a labelled image is ranked by its known
/// prompt alone and its prediction does not compete (a guess that happens to
/// lie nearer the query must not lift it, nor a real prompt be outranked by
/// its own image's guess). An unlabelled image is ranked by what its
/// prediction says of its true prompt's cosine to the query: with ρ the
/// cosine predictions are expected to have to their truth
/// (`SearchIndex.predictionAgreement`, or a trained model's held-out score:
/// the daemon's `ControlHandler.predictionConfidence`), that cosine is ρ·c
/// (c the prediction's cosine to the query) give or take √(1 − ρ²)·σ, σ the
/// spread of the query's cosines over the library's known prompts (`SearchIndex.Rows.knownSpread`). The image is
/// ranked one such step above its expectation:
///
///     score = ρ·c + √(1 − ρ²)·σ
///
/// A known prompt's cosine is certain, a prediction's is not, and a search
/// is after the images that may well match: ranked by the expectation alone
/// (ρ·c), a prediction could only come first where it is nearly certain,
/// and relevant unlabelled images stayed out of the results (3 of 202 in
/// the relevance bench, `bench/RESULTS.md`, which measures both). A
/// prediction near the library's mean meets a query at about the known
/// prompts' typical cosine m, and scores about ρ·m + √(1 − ρ²)·σ ≤ m + σ:
/// below every real match that stands out of the spread by a step.
///
/// Learned and zero-shot predictions each have their own ρ (after training,
/// an image outside what the learned heads were measured on keeps its
/// zero-shot prediction, which is no closer to its truth for that).
public struct Ranking: Sendable, Equatable {
    /// ρ of a prediction: its cosine to the query counts ρ times.
    public var predictedWeight: Float
    /// √(1 − ρ²): how many of the query's spreads (σ) a prediction is
    /// lifted by; 0 for none (`.bestRow`, or a certain prediction).
    public var predictedOptimism: Float
    /// The same for zero-shot predictions (`RowKind.zeroShotPredicted`).
    public var zeroShotWeight: Float
    public var zeroShotOptimism: Float
    /// The lifts of this query (optimism · σ), set by the index for each search.
    var predictedBonus: Float = 0, zeroShotBonus: Float = 0
    public var knownPromptDecides: Bool

    public init(predictedWeight: Float, predictedOptimism: Float = 0, knownPromptDecides: Bool) {
        self.init(predictedWeight: predictedWeight, predictedOptimism: predictedOptimism,
                  zeroShotWeight: predictedWeight, zeroShotOptimism: predictedOptimism, knownPromptDecides: knownPromptDecides)
    }

    public init(predictedWeight: Float, predictedOptimism: Float, zeroShotWeight: Float, zeroShotOptimism: Float, knownPromptDecides: Bool) {
        self.predictedWeight = predictedWeight
        self.predictedOptimism = predictedOptimism
        self.zeroShotWeight = zeroShotWeight
        self.zeroShotOptimism = zeroShotOptimism
        self.knownPromptDecides = knownPromptDecides
    }

    public static let bestRow = Ranking(predictedWeight: 1, knownPromptDecides: false)

    /// Known prompts decide; predictions ranked by ρ·c + √(1 − ρ²)·σ, ρ the
    /// `confidence` (clamped to 0...1), the same for both origins.
    public static func prompts(predictionConfidence confidence: Float) -> Ranking {
        prompts(learned: confidence, zeroShot: confidence)
    }

    /// Known prompts decide; learned predictions ranked with ρ = `learned`,
    /// zero-shot ones with ρ = `zeroShot` (each clamped to 0...1).
    public static func prompts(learned: Float, zeroShot: Float) -> Ranking {
        let l = min(max(learned, 0), 1), z = min(max(zeroShot, 0), 1)
        return Ranking(predictedWeight: l, predictedOptimism: (1 - l * l).squareRoot(),
                       zeroShotWeight: z, zeroShotOptimism: (1 - z * z).squareRoot(), knownPromptDecides: true)
    }

    /// Whether a query's spread changes any score.
    var liftsPredictions: Bool { predictedOptimism > 0 || zeroShotOptimism > 0 }

    /// The ρ of a prediction of `kind`.
    public func confidence(of kind: SearchIndex.RowKind) -> Float {
        switch kind {
        case .knownPrompt: return 1
        case .predicted: return predictedWeight
        case .zeroShotPredicted: return zeroShotWeight
        }
    }

    /// This ranking for a query whose cosines to the known prompts spread by `sigma`.
    func forQuery(spread sigma: Float) -> Ranking {
        var r = self
        r.predictedBonus = predictedOptimism * sigma
        r.zeroShotBonus = zeroShotOptimism * sigma
        return r
    }

    /// An image's score so far with one more of its rows (`cosine` to the
    /// query) folded in; `current.kind` is nil before its first row.
    @inline(__always)
    func fold(_ current: (score: Float, kind: SearchIndex.RowKind?), kind: SearchIndex.RowKind, cosine: Float)
        -> (score: Float, kind: SearchIndex.RowKind?) {
        let score: Float
        switch kind {
        case .knownPrompt: score = cosine
        case .predicted: score = predictedWeight * cosine + predictedBonus
        case .zeroShotPredicted: score = zeroShotWeight * cosine + zeroShotBonus
        }
        if knownPromptDecides {
            if kind == .knownPrompt { return (score, kind) }
            return current.kind == .knownPrompt ? current : (score, kind)
        }
        return current.kind == nil || score > current.score ? (score, kind) : current
    }
}

extension SearchIndex {
    /// One image found: its score under the ranking asked for, and which of
    /// its rows gave it.
    public struct Hit: Sendable, Equatable {
        public var id: Int64
        public var score: Float
        public var kind: RowKind

        public init(id: Int64, score: Float, kind: RowKind) { self.id = id; self.score = score; self.kind = kind }
    }
}

extension SearchIndex {
    /// How close predictions come to the truth in this index: the mean
    /// cosine between the predicted row and the known-prompt row of images
    /// that have both (up to `sample` of them, spread evenly over the
    /// index), and how many were measured; nil when none has both. For a
    /// zero-shot prediction, which never saw these prompts, this is an
    /// honest estimate of its cosine to the truth on the unlabelled images.
    /// Recomputed at most every `maxAge` while the index changes.
    public func predictionAgreement(sample: Int = 2000, maxAge: Duration = .seconds(2)) -> (mean: Float, images: Int)? {
        rows.withLock { $0.predictionAgreement(sample: sample, maxAge: maxAge) }
    }
}

extension SearchIndex.Rows {
    mutating func predictionAgreement(sample: Int, maxAge: Duration) -> (mean: Float, images: Int)? {
        if let cached = agreement, cached.generation == generation || ContinuousClock.now - cached.at < maxAge { return cached.value }
        var pairs: [(predicted: Int, known: Int)] = []
        for rows in rowsOfSlot where rows.count == 2 {
            let (a, b) = (rows[0], rows[1])
            pairs.append(rowKind[a].isPrediction ? (a, b) : (b, a))
        }
        var value: (mean: Float, images: Int)?
        if !pairs.isEmpty {
            let step = max(1, pairs.count / max(1, sample)), d = dimension
            var u = [Float](repeating: 0, count: d), v = [Float](repeating: 0, count: d)
            var sum: Double = 0, n = 0
            for i in stride(from: 0, to: pairs.count, by: step) {
                u.withUnsafeMutableBufferPointer { vectors.decode(pairs[i].predicted, 1, into: $0.baseAddress!) }
                v.withUnsafeMutableBufferPointer { vectors.decode(pairs[i].known, 1, into: $0.baseAddress!) }
                var dot: Float = 0
                for j in 0..<d { dot += u[j] * v[j] }
                sum += Double(dot); n += 1
            }
            value = (Float(sum / Double(n)), n)
        }
        agreement = (generation, ContinuousClock.now, value)
        return value
    }
}
