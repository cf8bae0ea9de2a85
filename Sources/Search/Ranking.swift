import Foundation

/// How an image's rows make its score in a search.
///
/// `.bestRow` (the plain index): an image scores its best row. `.prompts`
/// is what a user's search needs (issue #12): the prompt a file carries is
/// the truth for that file, so a labelled image is ranked by its known
/// prompt alone and its prediction does not compete (a guess that happens to
/// lie nearer the query must not lift it, nor a real prompt be outranked by
/// its own image's guess); an unlabelled image is ranked by its prediction's
/// cosine times `predictedWeight`, the cosine a prediction is expected to
/// have to its true prompt (`SearchIndex.predictionAgreement`, or a trained
/// model's validation score). A prediction near the library's mean lies at
/// a moderate cosine from every query; weighted by how far predictions are
/// from the truth, it no longer outranks a specific real match.
public struct Ranking: Sendable, Equatable {
    public var predictedWeight: Float
    public var knownPromptDecides: Bool

    public init(predictedWeight: Float, knownPromptDecides: Bool) {
        self.predictedWeight = predictedWeight
        self.knownPromptDecides = knownPromptDecides
    }

    public static let bestRow = Ranking(predictedWeight: 1, knownPromptDecides: false)

    /// Known prompts decide; predictions weighted by `confidence` (clamped to 0...1).
    public static func prompts(predictionConfidence confidence: Float) -> Ranking {
        Ranking(predictedWeight: min(max(confidence, 0), 1), knownPromptDecides: true)
    }

    /// An image's score so far with one more of its rows (`cosine` to the
    /// query) folded in; `current.kind` is nil before its first row.
    @inline(__always)
    func fold(_ current: (score: Float, kind: SearchIndex.RowKind?), kind: SearchIndex.RowKind, cosine: Float)
        -> (score: Float, kind: SearchIndex.RowKind?) {
        let score = kind == .predicted ? predictedWeight * cosine : cosine
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
            pairs.append(rowKind[a] == .predicted ? (a, b) : (b, a))
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
