import Inference

/// Labelled images grouped by normalised prompt. Images of one prompt are
/// mostly seed variations: on both sides of the split they make validation
/// optimistic, and counted once each they pull every prediction toward the
/// library's most repeated prompt. So the split is by prompt and every
/// distinct prompt weighs the same (each image 1 / images of its prompt).
public struct PromptGroups: Sendable, Equatable {
    /// Per example, its group (0..<count, in order of first appearance).
    public let ids: [Int]
    /// Per group, the normalised prompt.
    public let keys: [String]
    public var count: Int { keys.count }

    /// Groups of `keys` (one normalised prompt per example).
    public init(keys exampleKeys: [String]) {
        var index: [String: Int] = [:], keys: [String] = []
        ids = exampleKeys.map { k in
            if let g = index[k] { return g }
            index[k] = keys.count; keys.append(k)
            return keys.count - 1
        }
        self.keys = keys
    }

    /// The set's groups: its `promptKeys`, or its prompts lowercased with
    /// whitespace collapsed when it has none.
    public init(_ data: TrainingSet) {
        self.init(keys: data.promptKeys.count == data.count ? data.promptKeys : data.prompts.map(Self.fallbackKey))
    }

    static func fallbackKey(_ prompt: String) -> String {
        prompt.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Per row of `rows`, 1 / (rows of its group among `rows`), scaled so the
    /// weights average 1 (a ridge penalty keeps its meaning).
    public func weights(of rows: [Int]) -> [Float] {
        var size = [Int: Int]()
        for r in rows { size[ids[r], default: 0] += 1 }
        let scale = Float(rows.count) / Float(max(size.count, 1))
        return rows.map { scale / Float(size[ids[$0]]!) }
    }

    /// One row per group among `rows`: the mean of its unit features and the
    /// normalised mean of its targets (`features`, `targets`: one row per
    /// entry of `rows`), in order of first appearance; and the row count.
    public func means(features x: [Float], targets y: [Float], rows: [Int]) -> (features: [Float], targets: [Float], count: Int) {
        means(x, y, dimension: x.count / max(rows.count, 1), outputs: y.count / max(rows.count, 1), rows: rows) { k, _ in k }
    }

    /// The same, reading the rows `rows` of the whole (n, d) features and
    /// (n, m) targets in place (no copy of the rows: at 100k labelled rows a
    /// fold's copy was 370 MB).
    public func means(ofRows rows: [Int], features x: [Float], targets y: [Float], count n: Int) -> (features: [Float], targets: [Float], count: Int) {
        means(x, y, dimension: x.count / max(n, 1), outputs: y.count / max(n, 1), rows: rows) { _, r in r }
    }

    /// `position(k, r)`: where the k-th row, row `r`, lies in `x` and `y`.
    private func means(_ x: [Float], _ y: [Float], dimension d: Int, outputs m: Int, rows: [Int],
                       position: (Int, Int) -> Int) -> (features: [Float], targets: [Float], count: Int) {
        var slot: [Int: Int] = [:]
        for r in rows where slot[ids[r]] == nil { slot[ids[r]] = slot.count }
        var fx = [Float](repeating: 0, count: slot.count * d), fy = [Float](repeating: 0, count: slot.count * m)
        var unit = [Float](repeating: 0, count: d)   // one row at a time, scaled to unit length
        for (k, r) in rows.enumerated() {
            let g = slot[ids[r]]!, at = position(k, r)
            for j in 0..<d { unit[j] = x[at * d + j] }
            VectorMath.l2Normalize(&unit)
            for j in 0..<d { fx[g * d + j] += unit[j] }
            for j in 0..<m { fy[g * m + j] += y[at * m + j] }
        }
        VectorMath.l2NormalizeRows(&fx, cols: d)
        VectorMath.l2NormalizeRows(&fy, cols: m)
        return (fx, fy, slot.count)
    }

    /// How many groups `rows` cover.
    public func distinct(in rows: [Int]) -> Int { Set(rows.map { ids[$0] }).count }

    /// FNV-1a (64 bit) of the key's UTF-8: stable across runs and machines.
    static func hash(_ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// The deterministic split by prompt (true = validation): a group is in
    /// validation when the top byte of its key's hash is below 26 (about a
    /// tenth of the prompts, unchanged as the library grows), as long as
    /// validation stays under a fifth of the examples; when that gives fewer
    /// than max(2, n/20) examples, further groups in hash order that fit
    /// under the fifth until a tenth is reached; and at least the smallest
    /// group when there are two or more. A prompt is never on both sides.
    public func validationMask() -> [Bool] {
        let n = ids.count
        var size = [Int](repeating: 0, count: count)
        for g in ids { size[g] += 1 }
        let order = (0..<count).sorted { (Self.hash(keys[$0]), keys[$0]) < (Self.hash(keys[$1]), keys[$1]) }
        let cap = max(2, n / 5)
        var chosen = [Bool](repeating: false, count: count), taken = 0
        for g in order where Self.hash(keys[g]) >> 56 < 26 && taken + size[g] <= cap {
            chosen[g] = true; taken += size[g]
        }
        if taken < max(2, n / 20) {
            for g in order where !chosen[g] && taken + size[g] <= cap && taken < max(2, (n + 9) / 10) {
                chosen[g] = true; taken += size[g]
            }
        }
        if taken == 0, count >= 2, let g = (0..<count).min(by: { (size[$0], $0) < (size[$1], $1) }) { chosen[g] = true }
        return ids.map { chosen[$0] }
    }
}

extension TrainingSet {
    /// Images smaller than this on either side are left out of training and
    /// validation: icons, placeholders and 1×1 test files carry no picture of
    /// their prompt, yet each would weigh as much as a real image.
    public static let minimumSide = 32

    /// Whether example `i` is under `minimumSide` on either side (unknown
    /// sizes are kept).
    public func isTiny(_ i: Int) -> Bool {
        let w = i < widths.count ? widths[i] : 0, h = i < heights.count ? heights[i] : 0
        return (w > 0 && w < Self.minimumSide) || (h > 0 && h < Self.minimumSide)
    }

    /// The set without its tiny images, and how many were left out.
    public func excludingTinyImages() -> (set: TrainingSet, excluded: Int) {
        let keep = (0..<count).filter { !isTiny($0) }
        guard keep.count < count else { return (self, 0) }
        return (rows(keep), count - keep.count)
    }

    /// The examples at `keep`, in that order.
    func rows(_ keep: [Int]) -> TrainingSet {
        var out = TrainingSet()
        func pick<T>(_ a: [T]) -> [T] { a.count == count ? keep.map { a[$0] } : [] }
        out.ids = pick(ids); out.contentHashes = pick(contentHashes); out.prompts = pick(prompts)
        out.promptKeys = pick(promptKeys); out.widths = pick(widths); out.heights = pick(heights)
        let dim = targets.count / max(count, 1)
        out.targets = LibraryTrainer.rows(targets, keep, dim)
        out.features = features.mapValues { LibraryTrainer.rows($0, keep, $0.count / max(count, 1)) }
        if zeroShot.count == targets.count { out.zeroShot = LibraryTrainer.rows(zeroShot, keep, dim) }
        out.unlabelled = unlabelled
        return out
    }
}
