/// Where an image's keywords come from.
public enum KeywordsSource: String, Sendable, Codable, Equatable {
    /// The MLC head's most probable vocabulary words.
    case mlc
    /// The zero-shot prediction's classes (what revsd shows without learning).
    case zeroShot = "zero_shot"
}

/// Whether the MLC head's keywords say something about the image: its
/// ranking of the vocabulary, per held-out image, against the one ranking
/// every image would get from word frequency alone (the vocabulary's order:
/// the training prompts' most frequent words first). A head that ranks an
/// image's true words no better than that prior gives every image roughly
/// the same keywords, so the zero-shot classes are shown instead.
public enum KeywordChoice {
    /// Fewer held-out prompts with a vocabulary word than this: unmeasured,
    /// the zero-shot classes (2 validation images cannot show the head is better).
    public static let minimumPrompts = 5

    /// The measurement and the choice.
    public struct Decision: Sendable, Equatable {
        public var source: KeywordsSource
        /// Mean average precision of the MLC head's ranking and of the
        /// frequency ranking (nil: fewer than `minimumPrompts` prompts scored).
        public var mlcPrecision: Float?
        public var priorPrecision: Float?
    }

    /// `probabilities`: (rows, m) MLC probabilities of held-out images;
    /// `truth`: per row, the vocabulary indices of its prompt's words;
    /// `groups`: per row, its prompt group (each prompt weighs once).
    public static func decide(probabilities: [Float], truth: [[Int32]], groups: [Int], vocabularySize m: Int) -> Decision {
        let rows = truth.count
        guard m > 0, probabilities.count == rows * m, groups.count == rows else { return Decision(source: .zeroShot) }
        let scored = (0..<rows).filter { !truth[$0].isEmpty }
        var size: [Int: Int] = [:]
        for r in scored { size[groups[r], default: 0] += 1 }
        guard size.count >= minimumPrompts else { return Decision(source: .zeroShot) }
        let prior = (0..<m).map { -Float($0) }
        var mlc: Float = 0, freq: Float = 0, total: Float = 0
        for r in scored {
            let w = 1 / Float(size[groups[r]]!)
            let relevant = Set(truth[r].map(Int.init))
            mlc += w * averagePrecision(scores: probabilities[(r * m)..<((r + 1) * m)], relevant: relevant)
            freq += w * averagePrecision(scores: prior[...], relevant: relevant)
            total += w
        }
        let decision = Decision(source: mlc > freq ? .mlc : .zeroShot, mlcPrecision: mlc / total, priorPrecision: freq / total)
        return decision
    }

    /// Average precision of ranking the vocabulary by `scores` (descending,
    /// ties by index) for the `relevant` indices (0-based within `scores`).
    public static func averagePrecision(scores: ArraySlice<Float>, relevant: Set<Int>) -> Float {
        guard !relevant.isEmpty else { return 0 }
        let base = scores.startIndex
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var hits = 0, sum: Float = 0
        for (rank, i) in order.enumerated() where relevant.contains(i - base) {
            hits += 1
            sum += Float(hits) / Float(rank + 1)
            if hits == relevant.count { break }
        }
        return sum / Float(relevant.count)
    }
}
