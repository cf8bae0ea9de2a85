import Inference

/// Buffers of the approximate search, allocated when a search first needs
/// them and reused (a search holds the index's lock).
final class ScanScratch {
    /// (padded dimension): the query, zero-padded.
    private(set) var query = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    /// (axes, 16): the query's integer weights for the scan.
    private(set) var weights = UnsafeMutablePointer<Int16>.allocate(capacity: 0)
    /// (parts, 2 · keep): each part's candidate keys; (parts): how many.
    private(set) var keys = UnsafeMutablePointer<UInt64>.allocate(capacity: 0)
    private(set) var counts = UnsafeMutablePointer<Int>.allocate(capacity: 0)
    /// (slots / 64): one bit per image slot, set for the allowed ones.
    private(set) var allowedSlots = UnsafeMutablePointer<UInt64>.allocate(capacity: 0)
    private var sizes = (query: 0, weights: 0, keys: 0, counts: 0, allowedSlots: 0)

    deinit { query.deallocate(); weights.deallocate(); keys.deallocate(); counts.deallocate(); allowedSlots.deallocate() }

    /// The bitmap of `allowed`, for `slots` slots.
    func markAllowed(_ allowed: Set<Int64>, slots: Int, slotOf: [Int64: Int]) {
        let words = (slots + 63) / 64
        if words > sizes.allowedSlots { allowedSlots.deallocate(); allowedSlots = .allocate(capacity: words); sizes.allowedSlots = words }
        allowedSlots.initialize(repeating: 0, count: words)
        for id in allowed { if let s = slotOf[id] { allowedSlots[s >> 6] |= 1 << UInt64(s & 63) } }
    }

    func reserve(query q: Int, weights w: Int, keys k: Int, counts c: Int) {
        if q > sizes.query { query.deallocate(); query = .allocate(capacity: q); sizes.query = q }
        query.initialize(repeating: 0, count: q)
        if w > sizes.weights { weights.deallocate(); weights = .allocate(capacity: w); sizes.weights = w }
        if k > sizes.keys { keys.deallocate(); keys = .allocate(capacity: k); sizes.keys = k }
        if c > sizes.counts { counts.deallocate(); counts = .allocate(capacity: c); sizes.counts = c }
    }
}

/// A search over the codes of a large index (`RowVectors`):
/// 1. every row's 4-bit projected code is scored against the query (the
///    whole matrix, 64 B a row, split over the cores), keeping the best
///    `keep` rows (3,000, or 20 per result asked for when more);
/// 2. each of their images is scored by its best row, every row of it from
///    the 12-bit precise codes (the score returned), best `k` kept in the
///    exact scan's order (score descending, then id ascending).
/// A full scan, not a list or a graph: short-text queries lie far from the
/// prompt clusters, so that their best images are spread over most of an
/// inverted file's lists (measured at 1M images: 256 lists need 32 % of
/// the rows scanned, even with exact scores, for a recall of 0.993 on them;
/// bench/RESULTS.md).
///
/// `allowed`: a set small enough to score directly (at most 1/256 of the
/// rows, or 1,024: about as long as the first pass) is scored directly,
/// exactly over the precise codes; otherwise the first pass keeps only
/// allowed rows, so it finds the best `keep` allowed rows however selective
/// the filter. It asks the set about each row that beats its threshold
/// (about keep / f · ln(f · rows / keep) of them for a fraction f allowed):
/// for a selective filter, where that is more than looking up every allowed
/// id once, the allowed images are first marked in a bitmap of slots.
extension RowVectors {
    static let keepRows = 3000

    func approximateSearch(_ query: [Float], k: Int, allowed: Set<Int64>?, ranking: Ranking, owners: [Int32], kinds: [SearchIndex.RowKind],
                           slotIDs: [Int64], slotOf: [Int64: Int], rowsOfSlot: [SlotRows]) -> [SearchIndex.Hit] {
        guard let precise, let projected, count > 0 else { return [] }
        let keep = min(count, max(Self.keepRows, 20 * k))
        let blocks = (count + 31) / 32
        let parts = min(Parallel.cores, max(1, blocks / 512))
        scratch.reserve(query: precise.padded, weights: projected.axes * 16, keys: parts * 2 * keep, counts: parts)
        let q = scratch.query
        var offset: Float = 0   // q · mean of the precise codes
        for i in 0..<dimension { q[i] = query[i]; offset += query[i] * precise.mean[i] }
        func score(_ slot: Int, into best: inout TopImages) {
            var s: (score: Float, kind: SearchIndex.RowKind?) = (-.infinity, nil)
            for r in rowsOfSlot[slot] { s = ranking.fold(s, kind: kinds[r], cosine: offset + precise.dot(r, q)) }
            if let kind = s.kind { best.insert(slotIDs[slot], s.score, kind) }
        }
        var best = TopImages(k: k)
        if let allowed, allowed.count <= max(1024, count / 256) {
            for id in allowed { if let slot = slotOf[id] { score(slot, into: &best) } }
            return best.items
        }
        var filter = Filter.none
        if let allowed {
            if allowed.count * allowed.count < 4 * keep * slotIDs.count {
                scratch.markAllowed(allowed, slots: slotIDs.count, slotOf: slotOf)
                filter = .marked
            } else {
                filter = .set(allowed)
            }
        }
        let rows = firstPass(keep: keep, parts: parts, filter: filter, owners: owners, slotIDs: slotIDs)
        var slots = rows.map { Int(owners[$0]) }
        slots.sort()
        var previous = -1
        for slot in slots where slot != previous {
            previous = slot
            score(slot, into: &best)
        }
        return best.items
    }

    /// The best `keep` rows (among the allowed) by their projected codes,
    /// the blocks split in `parts` over the cores.
    /// Which rows the first pass may keep.
    enum Filter {
        case none
        /// Rows of the slots marked in `scratch.allowedSlots`.
        case marked
        /// Rows of these images.
        case set(Set<Int64>)
    }

    private func firstPass(keep: Int, parts: Int, filter: Filter, owners: [Int32], slotIDs: [Int64]) -> [Int] {
        guard let projected else { return [] }
        let blocks = (count + 31) / 32, rows = count
        let weights = UnsafePointer(scratch.weights), keys = scratch.keys, counts = scratch.counts
        let marks = UnsafePointer(scratch.allowedSlots)
        projected.projection.weights(scratch.query, into: scratch.weights)
        Parallel.forEachChunk(parts, minChunk: 1) { range in
            for part in range {
                let mine = (blocks * part / parts)..<(blocks * (part + 1) / parts)
                counts[part] = projected.scan(blocks: mine, rows: rows, weights: weights, keep: keep,
                                              buffer: keys + part * 2 * keep) { row in
                    switch filter {
                    case .none: return true
                    case .marked:
                        let slot = Int(owners[row])
                        return marks[slot >> 6] & (1 << UInt64(slot & 63)) != 0
                    case .set(let allowed): return allowed.contains(slotIDs[Int(owners[row])])
                    }
                }
            }
        }
        // Every part's keys side by side, then the best `keep` of them.
        var total = 0
        for part in 0..<parts {
            let from = keys + part * 2 * keep
            for i in 0..<counts[part] { keys[total + i] = from[i] }   // forward: total ≤ its start
            total += counts[part]
        }
        let kept = Candidates.keepBest(keys, count: total, keep: keep)
        return (0..<kept).map { Candidates.row(keys[$0]) }
    }
}

/// The best `k` images seen, best first: score descending, then id
/// ascending (the exact scan's order).
struct TopImages {
    let k: Int
    private(set) var items: [SearchIndex.Hit] = []

    init(k: Int) { self.k = k; items.reserveCapacity(k + 1) }

    /// Whether an image with this score would enter the top `k`.
    @inline(__always)
    func admits(_ id: Int64, _ score: Float) -> Bool {
        guard items.count == k, let last = items.last else { return true }
        return score > last.score || (score == last.score && id < last.id)
    }

    mutating func insert(_ id: Int64, _ score: Float, _ kind: SearchIndex.RowKind) {
        guard admits(id, score) else { return }
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].score > score || (items[mid].score == score && items[mid].id < id) { lo = mid + 1 } else { hi = mid }
        }
        items.insert(SearchIndex.Hit(id: id, score: score, kind: kind), at: lo)
        if items.count > k { items.removeLast() }
    }
}
