/// DAKL's target domain, as the paper runs it (transductively): the
/// library's unlabelled images (no prompt in their metadata, analysed, with
/// stored features), a deterministic sample of at most `maximum`, read a
/// chunk at a time so that the trainer holds only the base ensemble's
/// (count, 384) predictions of them, never all their features at once.
public struct UnlabelledImages: Sendable {
    /// One chunk: features per encoder (rows, d) and, where known, each
    /// image's zero-shot prediction (rows, 384; empty: unknown).
    public struct Chunk: Sendable {
        public var rows: Int
        public var features: [String: [Float]]
        public var zeroShot: [Float]
        public init(rows: Int, features: [String: [Float]], zeroShot: [Float] = []) {
            self.rows = rows; self.features = features; self.zeroShot = zeroShot
        }
    }

    /// Most images DAKL reads (20,000 × 384 floats: 30 MB of predictions).
    public static let maximum = 20_000
    /// Images per chunk.
    public static let chunkSize = 1024

    /// Images in the sample (at most `maximum`).
    public let count: Int
    /// The sample's images `range` (a sub-range of 0..<count). A chunk may
    /// hold fewer rows than asked (an image deleted meanwhile).
    public let chunk: @Sendable (Range<Int>) throws -> Chunk

    public init(count: Int, chunk: @escaping @Sendable (Range<Int>) throws -> Chunk) {
        self.count = count
        self.chunk = chunk
    }

    /// Images held in memory: `features` (count, d) per encoder, `zeroShot` (count, 384) or empty.
    public init(features: [String: [Float]], zeroShot: [Float] = [], count: Int) {
        let dim = count > 0 ? zeroShot.count / count : 0
        self.init(count: count) { range in
            Chunk(rows: range.count,
                  features: features.mapValues { x in let d = x.count / count; return Array(x[(range.lowerBound * d)..<(range.upperBound * d)]) },
                  zeroShot: dim > 0 ? Array(zeroShot[(range.lowerBound * dim)..<(range.upperBound * dim)]) : [])
        }
    }

    /// Which of `total` candidates (in a stable order, e.g. by image id) a
    /// sample of at most `limit` keeps: all of them, or `limit` evenly
    /// spaced ones — the same for the same library, whatever the seed.
    public static func sample(_ total: Int, limit: Int = maximum) -> [Int] {
        guard total > limit else { return Array(0..<total) }
        return (0..<limit).map { Int((Double($0) + 0.5) * Double(total) / Double(limit)) }
    }
}

/// Where DAKL's k-means ran (`TrainingReport.daklDomain`).
public enum DAKLDomain: String, Sendable, Codable, Equatable {
    /// Over the base ensemble's predictions of the library's unlabelled
    /// images (the paper's transductive target domain).
    case unlabelled
    /// Over its predictions of the training rows: too few unlabelled images.
    case training
}
