import Foundation
import GRDB

/// Lexical evidence for a search (issue #12): which known prompts contain
/// the words the user typed. A word that stands in a prompt must not be lost
/// to the embedding ("fox" is in "fennec fox": keyword search found it at
/// 1.00 where the vector side alone scored 0.24).
extension IndexStore {
    /// At most this many prompts are ranked to find a search's lexical
    /// matches (the sum of the chosen words' document frequencies).
    public static let lexicalPostingBudget = 20_000

    /// For the labelled images whose known prompt (its search text,
    /// `PromptText.searchText`: "<lora:foo_v2:0.8>" is no word of it) holds
    /// at least one of the query's distinctive words (those in at most half
    /// of the prompts, the rarest first, within `lexicalPostingBudget`
    /// prompts), the share of the query it covers: the sum of the BM25 idf of the
    /// query's distinct words its prompt holds over the sum for all of them,
    /// in 0...1. Words are the full-text index's (unicode61: case and
    /// diacritics folded); the user's text is tokenised, never read as FTS5
    /// syntax. At most `limit` images, the best by BM25 first; within
    /// `allowed` when given.
    public func lexicalCoverage(of query: String, limit: Int, allowed: Set<Int64>? = nil,
                                postingBudget: Int = IndexStore.lexicalPostingBudget) throws -> [Int64: Float] {
        try read { db in
            let tokenizer = try db.makeTokenizer(.unicode61())
            var words: [String] = []
            for t in try tokenizer.tokenize(query: query) where !t.flags.contains(.colocated) && !words.contains(t.token) {
                words.append(t.token)
            }
            guard !words.isEmpty else { return [:] }
            let documents = Double(max(1, cachedCounts.withLock { $0.counts.withPrompt }))
            var idf: [String: Double] = [:], frequency: [(word: String, df: Double)] = []
            for w in words {
                let df = Double(try Int.fetchOne(db, sql: "SELECT doc FROM image_prompt_vocab WHERE term = ?", arguments: [w]) ?? 0)
                idf[w] = log(1 + (documents - df + 0.5) / (df + 0.5))
                if df > 0, df <= documents / 2 { frequency.append((w, df)) }
            }
            // The images are found through the rarest words, as long as their
            // prompts together stay within `postingBudget`: FTS5
            // ranks every prompt a word is in (at a million prompts, "a"
            // alone took 420 ms); coverage still counts every word.
            var distinctive: [String] = [], postings: Double = 0
            for (w, df) in frequency.sorted(by: { $0.df < $1.df }) {
                guard postings + df <= Double(postingBudget) else { break }
                distinctive.append(w); postings += df
            }
            guard let pattern = FTS5Pattern(matchingAnyTokenIn: distinctive.joined(separator: " ")) else { return [:] }
            let total = words.reduce(0) { $0 + idf[$1]! }
            var sql = "SELECT rowid, searchText FROM image_prompt WHERE image_prompt MATCH ?"
            var arguments: StatementArguments = [pattern]
            let restricted = allowed.map { $0.count <= 5000 } ?? false
            if let allowed, restricted {
                sql += " AND rowid IN (" + allowed.map(String.init).joined(separator: ",") + ")"
            }
            sql += " ORDER BY rank LIMIT ?"
            arguments += [allowed != nil && !restricted ? limit * 8 : limit]
            var out: [Int64: Float] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let id: Int64 = row["rowid"]
                if let allowed, !restricted, !allowed.contains(id) { continue }
                guard out.count < limit, let text: String = row["searchText"] else { continue }
                let held = Set(try tokenizer.tokenize(document: text).map(\.token))
                let covered = words.reduce(0) { $0 + (held.contains($1) ? idf[$1]! : 0) }
                out[id] = Float(covered / total)
            }
            return out
        }
    }
}
