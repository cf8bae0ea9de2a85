/// The paper's curriculum: training examples ordered from easy to hard by a
/// difficulty score (high = easy: the cosine a vanilla run reached on them),
/// and an exposed prefix of that order that grows with the epoch — by
/// default the easiest third in epoch 1, the easiest half in epoch 2, all
/// from epoch 3 on. Pure: scores in, order and subsets out.
public struct Curriculum: Sendable, Equatable {
    /// The paper's schedule: ⅓, ½, then everything.
    public static let paperFractions: [Double] = [1.0 / 3, 0.5, 1]

    /// Example indices, easiest (highest score) first; ties by index.
    public let order: [Int32]
    /// The share of `order` exposed in epoch 1, 2, …; the last value holds
    /// for every later epoch.
    public let fractions: [Double]

    public var count: Int { order.count }

    /// `scores[i]` is example i's ease (higher = easier). `fractions` must be
    /// non-empty, each in (0, 1]; a schedule that never reaches 1 keeps the
    /// hardest examples out for good.
    public init(scores: [Float], fractions: [Double] = paperFractions) {
        precondition(!fractions.isEmpty && fractions.allSatisfy { $0 > 0 && $0 <= 1 }, "curriculum fractions must lie in (0, 1]")
        precondition(scores.count < Int(Int32.max), "too many examples for Int32 indices")
        self.fractions = fractions
        // NaN scores (a diverged prediction) count as hardest.
        order = scores.indices.sorted { a, b in
            let sa = scores[a].isNaN ? -Float.infinity : scores[a], sb = scores[b].isNaN ? -Float.infinity : scores[b]
            return sa != sb ? sa > sb : a < b
        }.map { Int32($0) }
    }

    /// Examples exposed in `epoch` (1-based): ⌈fraction·n⌉, at least 1 when n > 0.
    public func exposedCount(epoch: Int) -> Int {
        let n = order.count
        guard n > 0 else { return 0 }
        let f = fractions[min(max(epoch, 1), fractions.count) - 1]
        // The small slack keeps 9·(1/3) at 3 rather than rounding 3.0000000000000004 up to 4.
        let c = Int((f * Double(n) - 1e-9).rounded(.up))
        return min(n, max(1, c))
    }

    /// The examples exposed in `epoch`, easiest first.
    public func exposed(epoch: Int) -> ArraySlice<Int32> {
        order.prefix(exposedCount(epoch: epoch))
    }
}

/// The difficulty scores of the paper's curriculum, accumulated during a
/// vanilla run: after each epoch in which the validation cosine improves,
/// every training example's cosine between prediction and target is added
/// with weight = the epoch number (1-based), so later, better epochs count
/// more. Only running sums are kept: O(n) memory.
public struct DifficultyScores: Sendable, Equatable {
    public private(set) var weightedSums: [Double]
    public private(set) var totalWeight: Double = 0
    public private(set) var epochs: [Int] = []

    public init(count: Int) {
        weightedSums = [Double](repeating: 0, count: count)
    }

    /// Adds the per-example cosines measured after `epoch` (1-based).
    public mutating func add(epoch: Int, cosines: [Float]) {
        precondition(cosines.count == weightedSums.count, "\(cosines.count) cosines for \(weightedSums.count) examples")
        let w = Double(epoch)
        for i in 0..<cosines.count { weightedSums[i] += w * Double(cosines[i]) }
        totalWeight += w
        epochs.append(epoch)
    }

    /// Σ epoch·cos / Σ epoch per example (high = easy); zeros before any epoch was added.
    public var scores: [Float] {
        guard totalWeight > 0 else { return [Float](repeating: 0, count: weightedSums.count) }
        return weightedSums.map { Float($0 / totalWeight) }
    }
}
