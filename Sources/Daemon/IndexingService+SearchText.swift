import Foundation
import Analysis
import Store

extension IndexingService {
    /// Labelled images whose search text an idle worker embeds at a time.
    static let searchTextBatch = 64

    /// An index made before schema v6 holds no search texts: its labelled
    /// images are searched by their raw prompt (its embedding, its words)
    /// until an idle worker cleans and embeds them, a batch at a time (one
    /// worker at a time; the queue always comes first). Returns how many it
    /// stored; 0 when none is left (then it never looks again: new files
    /// bring theirs).
    func completeSearchTexts(limit: Int = IndexingService.searchTextBatch) -> Int {
        let mine = state.withLock { s -> Bool in
            guard !s.searchTextsBusy, !s.searchTextsComplete else { return false }
            s.searchTextsBusy = true
            return true
        }
        guard mine else { return 0 }
        var stored = 0, complete = false
        defer { state.withLock { $0.searchTextsBusy = false; $0.searchTextsComplete = $0.searchTextsComplete || complete } }
        do {
            let pending = try store.promptsLackingSearchEmbedding(limit: limit)
            complete = pending.isEmpty
            guard !complete else { return 0 }
            let vectors = ImageAnalyzer.searchEmbeddings(pending.map(\.prompt), known: pending.map(\.known)) {
                analyzer.promptEncoder.embed($0)
            }
            stored = try store.storeSearchTexts(zip(pending, vectors).map { ($0.id, $0.prompt, $1.search) })
            logger.debug("embedded the search texts of an older index", metadata: ["stored": "\(stored)"])
        } catch {
            logger.error("cannot embed the search texts of an older index", metadata: ["error": "\(error)"])
            complete = true   // tried again at the next start
        }
        return stored
    }
}
