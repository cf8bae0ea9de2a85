import Foundation
import Inference

/// The prompts captions are chosen from (the paper's 1-NN captioning): the
/// known prompts of the library and imported corpora, with their MiniLM
/// embeddings in one contiguous (n, d) matrix. The caption of a predicted
/// embedding is its nearest prompt by cosine, found with one sgemm per block
/// of queries.
public struct PromptBank: Sendable {
    public private(set) var prompts: [String]
    /// (n, dimension), unit rows.
    public private(set) var embeddings: [Float]
    public let dimension: Int
    private var positions: [String: Int]

    public var count: Int { prompts.count }

    public init(dimension: Int) {
        self.dimension = dimension
        prompts = []; embeddings = []; positions = [:]
    }

    /// Adds prompts not already present (same text); `vectors` (count, d) are
    /// their embeddings, normalised here.
    public mutating func add(_ texts: [String], vectors: [Float]) {
        precondition(vectors.count == texts.count * dimension, "one vector per prompt")
        embeddings.reserveCapacity(embeddings.count + vectors.count)
        for (i, t) in texts.enumerated() where positions[t] == nil {
            positions[t] = prompts.count
            prompts.append(t)
            let start = embeddings.count
            embeddings += vectors[(i * dimension)..<((i + 1) * dimension)]
            embeddings.withUnsafeMutableBufferPointer { VectorMath.l2Normalize(UnsafeMutableBufferPointer(rebasing: $0[start...])) }
        }
    }

    public func contains(_ text: String) -> Bool { positions[text] != nil }

    /// The (unit) embedding the bank holds for `text`, if it holds it.
    public func embedding(of text: String) -> [Float]? {
        positions[text].map { Array(embeddings[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }
    func positionOf(_ text: String) -> Int? { positions[text] }

    /// The bank without the given prompts (for evaluation: a caption must not
    /// come from the image's own prompt unless another source holds it).
    public func excluding(_ texts: Set<String>) -> PromptBank {
        var out = PromptBank(dimension: dimension)
        for (i, p) in prompts.enumerated() where !texts.contains(p) {
            out.positions[p] = out.prompts.count
            out.prompts.append(p)
            out.embeddings.append(contentsOf: embeddings[(i * dimension)..<((i + 1) * dimension)])
        }
        return out
    }

    public struct Candidate: Sendable, Equatable {
        public let prompt: String
        public let cosine: Float
    }

    /// The `k` nearest prompts of each query row (rows, d), best first.
    public func nearest(_ queries: [Float], k: Int = 3) -> [[Candidate]] {
        let rows = queries.count / dimension
        guard count > 0, rows > 0 else { return Array(repeating: [], count: rows) }
        var out = [[Candidate]](repeating: [], count: rows)
        NearestRows.scan(queries: queries, matrix: embeddings, count: count, dimension: dimension, k: k) { r, best in
            out[r] = best.map { Candidate(prompt: prompts[$0.index], cosine: $0.score) }
        }
        return out
    }
}
