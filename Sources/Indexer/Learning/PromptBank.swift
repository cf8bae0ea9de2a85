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
            var s: Float = 0
            for j in 0..<dimension { s += vectors[i * dimension + j] * vectors[i * dimension + j] }
            let inv = 1 / max(s.squareRoot(), 1e-12)
            for j in 0..<dimension { embeddings.append(vectors[i * dimension + j] * inv) }
        }
    }

    public func contains(_ text: String) -> Bool { positions[text] != nil }
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
        let k = min(k, count)
        let block = max(1, min(rows, (1 << 24) / max(count, 1)))   // ≤ 64 MiB of scores at a time
        var out: [[Candidate]] = []
        out.reserveCapacity(rows)
        var scores = [Float](repeating: 0, count: block * count)
        var start = 0
        while start < rows {
            let n = min(block, rows - start)
            queries.withUnsafeBufferPointer { qp in
                embeddings.withUnsafeBufferPointer { ep in
                    scores.withUnsafeMutableBufferPointer { sp in
                        BLAS.gemm(MatrixRef(qp.baseAddress! + start * dimension, rows: n, cols: dimension),
                                  MatrixRef(ep.baseAddress!, rows: count, cols: dimension), transposeB: true,
                                  MutableMatrixRef(sp.baseAddress!, rows: n, cols: count))
                    }
                }
            }
            for r in 0..<n {
                var best: [(Int, Float)] = []
                best.reserveCapacity(k + 1)
                let base = r * count
                for i in 0..<count {
                    let s = scores[base + i]
                    if best.count == k, s <= best[k - 1].1 { continue }
                    var pos = best.count
                    while pos > 0 && best[pos - 1].1 < s { pos -= 1 }
                    best.insert((i, s), at: pos)
                    if best.count > k { best.removeLast() }
                }
                out.append(best.map { Candidate(prompt: prompts[$0.0], cosine: $0.1) })
            }
            start += n
        }
        return out
    }
}
