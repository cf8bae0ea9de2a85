import Foundation
import RevsdSystem
import Search
import Store

/// The search matrix is derived from the index and always equal to it: it
/// holds, for every indexed image, its predicted and known-prompt
/// embeddings (the known prompt's search text, `prompt.search`), and nothing else. Nothing writes the matrix but `apply`,
/// which the store calls with what each committed transaction changed
/// (`IndexStore.observeSearchRows`, fed by triggers, so no write path can
/// forget it), and the load at start. `verifySearchMatchesStore` checks it.
extension IndexingService {
    static func apply(_ change: SearchRowsChange, to search: SearchIndex) {
        search.replace(ids: change.ids, with: change.rows.map(row))
    }

    static func row(_ r: SearchRow) -> SearchIndex.Row {
        (r.id, rowKind(r.kind, zeroShot: r.zeroShot), r.vector)
    }

    /// The matrix's kind of a stored search row.
    static func rowKind(_ kind: EmbeddingKind, zeroShot: Bool) -> SearchIndex.RowKind {
        kind == .predicted ? (zeroShot ? .zeroShotPredicted : .predicted) : .knownPrompt
    }

    /// Loads the whole matrix from the index while no write can commit, in
    /// bulk: a matrix per kind read through a cursor, its codes (in a large
    /// index) computed in batches and their axes trained afresh.
    func loadSearchMatrix() throws {
        try Self.load(search, from: store)
    }

    /// The writer first, then the matrix's lock (the order in which a
    /// commit publishes its change): no query sees a partial matrix.
    public static func load(_ search: SearchIndex, from store: IndexStore) throws {
        try store.withSearchMatrices(dimension: search.dimension) { read in
            try search.replaceAll { add in
                for kind in IndexStore.searchKinds {
                    for part in try read(kind) {
                        add(rowKind(kind, zeroShot: part.zeroShot), part.ids, part.vectors)
                    }
                }
            }
        }
    }

    /// Where the matrix and the index disagree (ids, kinds, vectors), one
    /// line each; empty when they are equal. A large index holds its rows as
    /// codes: a stored vector is compared as the index would hold it
    /// (`SearchIndex.held`, its precise codes decoded), exactly. Reads the
    /// index while no write can commit. For tests and debugging.
    public func verifySearchMatchesStore() throws -> [String] {
        try Self.differences(between: search, and: store)
    }

    static func differences(between search: SearchIndex, and store: IndexStore) throws -> [String] {
        var differences: [String] = []
        try store.withSearchRows { rows in
            var stored: [Int64: [SearchIndex.RowKind: [Float]]] = [:]
            for r in rows.map(Self.row) { stored[r.id, default: [:]][r.kind] = search.held(r.vector) }
            let held = search.snapshot()
            for id in Set(stored.keys).union(held.keys).sorted() {
                let s = stored[id] ?? [:], h = held[id] ?? [:]
                guard s != h else { continue }
                if s.isEmpty { differences.append("image \(id): in the search matrix, not in the index") }
                else if h.isEmpty { differences.append("image \(id): in the index, not in the search matrix") }
                else { differences.append("image \(id): rows differ (index \(s.keys.map { "\($0)" }.sorted()), matrix \(h.keys.map { "\($0)" }.sorted()))") }
            }
        }
        return differences
    }

    /// `reindex`: every record under `path` (nil: all) and every image file
    /// of the watched folders under it is analysed again, in place: records
    /// keep answering until their new results replace them, and a file whose
    /// content did not change keeps its alignment and tier. Returns how many
    /// files were queued.
    public func reindex(under path: String?) throws -> Int {
        var files: [String] = []
        for root in watchRoots {
            files += (watcher.addRoot(root) ?? []).filter { path == nil || Paths.isSameOrInside($0, root: path!) }.filter(Self.looksLikeImage)
        }
        let n = try store.enqueueReindex(under: path, files: files)
        signal.signal()
        onProgress()
        return n
    }
}
