import Foundation
import Learning
import RevsdProtocol
import Search
import Store

/// `search`: the vector ranking (`Ranking.prompts`) with the lexical
/// evidence of the known prompts added (issue #12).
extension ControlHandler {
    /// How many known prompts the lexical side brings in beside the vector ranking.
    static let lexicalCandidates = 200

    func search(_ r: SearchRequest) throws -> SearchResult {
        let query = r.query ?? ""   // not empty: the request was checked
        let q = service.analyzer.promptEncoder.embed([query])[0]
        let allowed: Set<Int64>? = r.hasFilter ? try service.store.filteredIDs(
            folder: r.folder.map(Self.standardized), hasPrompt: r.hasPrompt, since: r.since, until: r.until,
            model: r.model, text: r.text, maxAlignment: r.maxAlignment, tier: r.tier.map(Learning.Tier.init)) : nil
        let ranking = predictionRanking()
        let lexical = try lexicalEvidence(query, q, allowed: allowed)
        let hits = try distinctHits(k: r.k, allowed: allowed, ranking: ranking, groupingVariations: r.groupsVariations) {
            Self.fused(service.search.search(q, k: $0, allowed: allowed, ranking: ranking), lexical, weight: lexicalWeight)
        }
        return SearchResult(query: query, results: hits)
    }

    /// The labelled images whose known prompt holds words of the query:
    /// the share of the query they cover and their prompt's cosine to it
    /// (their score in the vector ranking, also for those it did not reach).
    func lexicalEvidence(_ query: String, _ q: [Float], allowed: Set<Int64>?) throws -> [Int64: (coverage: Float, cosine: Float)] {
        guard lexicalWeight > 0 else { return [:] }
        let coverage = try service.store.lexicalCoverage(of: query, limit: Self.lexicalCandidates, allowed: allowed)
        let prompts = try service.store.searchPromptVectors(ids: Array(coverage.keys))
        var out: [Int64: (coverage: Float, cosine: Float)] = [:]
        for (id, c) in coverage {
            guard let v = prompts[id], v.count == q.count else { continue }
            out[id] = (c, zip(v, q).reduce(0) { $0 + $1.0 * $1.1 })
        }
        return out
    }

    /// The vector ranking's hits and the lexically matched images, each
    /// scored by its vector score plus `weight` times the share of the
    /// query its prompt covers; best first (then id ascending).
    static func fused(_ hits: [SearchIndex.Hit], _ lexical: [Int64: (coverage: Float, cosine: Float)], weight: Float) -> [SearchIndex.Hit] {
        guard !lexical.isEmpty else { return hits }
        var out = hits.map { h in
            var h = h
            if let l = lexical[h.id] { h.score += weight * l.coverage }
            return h
        }
        let seen = Set(hits.map(\.id))
        for (id, l) in lexical where !seen.contains(id) {
            out.append(SearchIndex.Hit(id: id, score: l.cosine + weight * l.coverage, kind: .knownPrompt))
        }
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
        return out
    }

    /// How search ranks (`Ranking.prompts`): known prompts decide, and each
    /// prediction weighs by the cosine predictions of its origin are
    /// expected to have to their true prompt (`predictionConfidence`).
    func predictionRanking() -> Ranking {
        let c = Self.predictionConfidence(adopted: service.learner?.adoptedModel?.report, agreement: { service.search.predictionAgreement() })
        return .prompts(learned: c.learned, zeroShot: c.zeroShot)
    }

    /// The cosine a prediction is expected to have to its true prompt, for
    /// learned and for zero-shot predictions. While an adopted model makes
    /// the predictions: its validation score, or its out-of-fold score over
    /// every labelled prompt where validation held too few prompts to decide
    /// its adoption (`TrainingReport.decidedOutOfFold`: 2 validation prompts
    /// in the relevance bench's library); and for the images that keep their
    /// zero-shot prediction (outside what the heads were measured on), the
    /// zero-shot prediction's score on the same rows (the model's own where
    /// the report has none). Before training, or when the last run was not
    /// adopted (every prediction is zero-shot), how close the zero-shot
    /// predictions of the labelled images come to their prompts (they never
    /// saw them; `agreement`, asked for only then), for both; 0.5 with fewer
    /// than 5 labelled images to measure on (then nearly every image is
    /// ranked by its prediction, and the weight hardly changes the order).
    static func predictionConfidence(adopted report: TrainingReport?, agreement: () -> (mean: Float, images: Int)?)
        -> (learned: Float, zeroShot: Float) {
        if let report {
            if report.decidedOutOfFold, let learned = report.outOfFoldCosine {
                return (learned, report.outOfFoldZeroShotCosine ?? learned)
            }
            if report.validationExamples > 0 { return (report.ensembleCosine, report.zeroShotCosine ?? report.ensembleCosine) }
        }
        if let measured = agreement(), measured.images >= 5 { return (measured.mean, measured.mean) }
        return (0.5, 0.5)
    }
}
