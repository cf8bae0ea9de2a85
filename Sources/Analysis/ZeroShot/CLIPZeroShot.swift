import Foundation
import Inference
import Imaging
import Models
import RevsdSystem

/// What CLIP ranks an image against: whole prompts (the library's known
/// prompts, imported prompt corpora) and keywords (keyword lists).
public struct CLIPPromptVocabulary: Sendable, Equatable {
    public var prompts: [String]
    public var keywords: [String]

    /// Trims, drops empty entries and repeats (first occurrence kept).
    public init(prompts: [String], keywords: [String] = []) {
        func clean(_ list: [String]) -> [String] {
            var seen = Set<String>()
            return list.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty && seen.insert($0).inserted }
        }
        self.prompts = clean(prompts)
        self.keywords = clean(keywords)
    }

    /// Prompts from corpus files (one prompt per line; in a TSV the first
    /// column, with a first line "prompt…" taken as a header; "\n" escapes
    /// decoded) and keywords from lists (one per line, or comma-separated).
    public static func load(promptFiles: [String], keywordFiles: [String] = []) throws -> CLIPPromptVocabulary {
        var prompts: [String] = [], keywords: [String] = []
        for path in promptFiles {
            var lines = try TextInput.lines(of: path)
            if let first = lines.first, first.lowercased().hasPrefix("prompt\t") || first.lowercased() == "prompt" { lines.removeFirst() }
            prompts += lines.map { String($0.split(separator: "\t", omittingEmptySubsequences: false).first ?? "").replacingOccurrences(of: "\\n", with: "\n") }
        }
        for path in keywordFiles {
            keywords += try TextInput.lines(of: path).flatMap { $0.split(separator: ",").map(String.init) }
        }
        return CLIPPromptVocabulary(prompts: prompts, keywords: keywords)
    }
}

/// A prediction made with CLIP before any training.
public struct CLIPZeroShotPrediction: Sendable {
    /// The prompt of the vocabulary closest to the image.
    public var caption: String
    public var keywords: [String]
    /// Unit vector in the all-MiniLM-L6-v2 space: the MiniLM embeddings of
    /// the best prompts, weighted by CLIP's probabilities.
    public var embedding: [Float]
    /// The best prompts with their probabilities (softmax of logit scale × cosine).
    public var prompts: [(text: String, probability: Float)]
}

/// Zero-shot prediction with CLIP: the image embedding ranked against the
/// CLIP text embeddings of a prompt vocabulary, as CLIP classifies:
///
///     p_i      = softmax_i(logitScale · cos(image, prompt_i))
///     caption  = the prompt of highest p
///     pred     = normalise(Σ_{i ∈ top k} p_i · MiniLM(prompt_i))
///     keywords = the keywords closest to the image (those with a softmax
///                probability ≥ `keywordThreshold`, at most `keywordCount`);
///                without a keyword list, the comma-separated phrases of the
///                top prompts, weighted by their probabilities
public final class CLIPZeroShot: Sendable {
    public let vocabulary: CLIPPromptVocabulary
    public let logitScale: Float
    public let topPrompts: Int
    public let keywordCount: Int
    public let keywordThreshold: Float
    /// The encoder whose embeddings these are, for `predict(image:)`.
    public let encoder: CLIPEncoder?
    let dimension: Int
    let miniLMDimension: Int
    let promptVectors: [Float]    // (prompts, D) unit CLIP text embeddings
    let promptMiniLM: [Float]     // (prompts, 384) unit MiniLM embeddings
    let keywordVectors: [Float]   // (keywords, D)

    /// From precomputed embeddings (unit length or not: they are normalised).
    public init(vocabulary: CLIPPromptVocabulary, promptEmbeddings: [[Float]], promptMiniLM: [[Float]],
                keywordEmbeddings: [[Float]] = [], logitScale: Float = 100, topPrompts: Int = 8,
                keywordCount: Int = 8, keywordThreshold: Float = 0.02, encoder: CLIPEncoder? = nil) {
        precondition(!vocabulary.prompts.isEmpty, "a prompt vocabulary needs at least one prompt")
        precondition(promptEmbeddings.count == vocabulary.prompts.count && promptMiniLM.count == vocabulary.prompts.count,
                     "one CLIP and one MiniLM embedding per prompt")
        precondition(keywordEmbeddings.count == vocabulary.keywords.count, "one CLIP embedding per keyword")
        self.vocabulary = vocabulary
        self.logitScale = logitScale
        self.topPrompts = max(1, topPrompts)
        self.keywordCount = max(1, keywordCount)
        self.keywordThreshold = keywordThreshold
        self.encoder = encoder
        dimension = promptEmbeddings[0].count
        miniLMDimension = promptMiniLM[0].count
        promptVectors = promptEmbeddings.flatMap(CLIPModel.normalized)
        self.promptMiniLM = promptMiniLM.flatMap(CLIPModel.normalized)
        keywordVectors = keywordEmbeddings.flatMap(CLIPModel.normalized)
    }

    /// Embeds the vocabulary with the CLIP text tower and MiniLM, through
    /// `cacheDirectory` when given (a large corpus costs minutes to embed).
    public convenience init(clip: CLIPEncoder, promptEncoder: SentenceEncoder, vocabulary: CLIPPromptVocabulary,
                            cacheDirectory: URL? = nil, topPrompts: Int = 8, keywordCount: Int = 8) {
        let key = promptEncoder.cacheKey
        self.init(clip: clip, miniLMKey: key, miniLM: { promptEncoder.embed($0, batchSize: 64) }, vocabulary: vocabulary,
                  cacheDirectory: cacheDirectory, topPrompts: topPrompts, keywordCount: keywordCount)
    }

    /// `miniLM` embeds prompts in the prediction space; `miniLMKey` names it for the cache.
    convenience init(clip: CLIPEncoder, miniLMKey: String, miniLM: ([String]) -> [[Float]], vocabulary: CLIPPromptVocabulary,
                     cacheDirectory: URL?, topPrompts: Int, keywordCount: Int) {
        precondition(clip.hasText, "\(clip.name) has no text tower")
        let prompts = EmbeddingCache.vectors(directory: cacheDirectory, kind: "clip-text-\(clip.cacheKey)", texts: vocabulary.prompts) {
            clip.embed(texts: $0)
        }
        let keywords = vocabulary.keywords.isEmpty ? [] : EmbeddingCache.vectors(directory: cacheDirectory, kind: "clip-text-\(clip.cacheKey)",
                                                                                  texts: vocabulary.keywords) { clip.embed(texts: $0) }
        let miniLM = EmbeddingCache.vectors(directory: cacheDirectory, kind: "minilm-\(SHA256.hex(string: miniLMKey).prefix(16))",
                                    texts: vocabulary.prompts, embed: miniLM)
        self.init(vocabulary: vocabulary, promptEmbeddings: prompts, promptMiniLM: miniLM, keywordEmbeddings: keywords,
                  logitScale: clip.model.logitScale, topPrompts: topPrompts, keywordCount: keywordCount, encoder: clip)
    }

    public func predict(image: RGBAImage) -> CLIPZeroShotPrediction {
        guard let encoder else { preconditionFailure("built from embeddings: use predict(imageEmbedding:)") }
        return predict(imageEmbedding: encoder.embed(image: image))
    }

    public func predict(imageEmbedding: [Float]) -> CLIPZeroShotPrediction {
        precondition(imageEmbedding.count == dimension, "image embedding of \(imageEmbedding.count) values, expected \(dimension)")
        let image = CLIPModel.normalized(imageEmbedding)
        let p = Self.softmax(Self.cosines(image, promptVectors, dimension: dimension), scale: logitScale)
        let top = Self.topIndices(p, count: topPrompts)
        var embedding = [Float](repeating: 0, count: miniLMDimension)
        for i in top {
            let row = i * miniLMDimension
            for j in 0..<miniLMDimension { embedding[j] += p[i] * promptMiniLM[row + j] }
        }
        let ranked = top.map { (vocabulary.prompts[$0], p[$0]) }
        return CLIPZeroShotPrediction(caption: vocabulary.prompts[top[0]], keywords: keywords(image: image, ranked: ranked),
                                      embedding: CLIPModel.normalized(embedding), prompts: ranked)
    }

    func keywords(image: [Float], ranked: [(String, Float)]) -> [String] {
        if !vocabulary.keywords.isEmpty {
            let q = Self.softmax(Self.cosines(image, keywordVectors, dimension: dimension), scale: logitScale)
            let best = Self.topIndices(q, count: keywordCount)
            return best.enumerated().filter { $0.offset == 0 || q[$0.element] >= keywordThreshold }.map { vocabulary.keywords[$0.element] }
        }
        // The phrases of the best prompts, each scored by the probability of the prompts that hold it.
        var score: [String: Float] = [:]
        var order: [String] = []
        for (prompt, probability) in ranked {
            for phrase in prompt.split(separator: ",") {
                let k = phrase.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                guard !k.isEmpty else { continue }
                if score[k] == nil { order.append(k) }
                score[k, default: 0] += probability
            }
        }
        let sorted = order.enumerated().sorted { (score[$0.element]!, -$0.offset) > (score[$1.element]!, -$1.offset) }.map(\.element)
        return Array(sorted.prefix(keywordCount))
    }

    /// cos(x, row) for every row of a (n, d) matrix of unit rows; x unit.
    static func cosines(_ x: [Float], _ rows: [Float], dimension d: Int) -> [Float] {
        let n = rows.count / d
        var out = [Float](repeating: 0, count: n)
        guard n > 0 else { return out }
        x.withUnsafeBufferPointer { xp in
            rows.withUnsafeBufferPointer { r in
                out.withUnsafeMutableBufferPointer { o in
                    BLAS.gemm(MatrixRef(xp.baseAddress!, rows: 1, cols: d), MatrixRef(r.baseAddress!, rows: n, cols: d), transposeB: true,
                              MutableMatrixRef(o.baseAddress!, rows: 1, cols: n))
                }
            }
        }
        return out
    }

    static func softmax(_ v: [Float], scale: Float) -> [Float] {
        let m = v.max() ?? 0
        let e = v.map { Foundation.exp(scale * ($0 - m)) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Indices of the `count` largest values, largest first (ties: lower index first).
    static func topIndices(_ v: [Float], count: Int) -> [Int] {
        Array(v.indices.sorted { (v[$0], -$0) > (v[$1], -$1) }.prefix(count))
    }
}

/// Embeddings of a list of texts kept in a file of float32s, keyed by what
/// made them and by the texts, so a vocabulary is embedded once.
enum EmbeddingCache {
    static func vectors(directory: URL?, kind: String, texts: [String], embed: ([String]) -> [[Float]]) -> [[Float]] {
        guard let directory else { return embed(texts) }
        let key = SHA256.hex(string: texts.joined(separator: "\u{1F}")).prefix(16)
        let file = directory.appendingPathComponent("\(kind)-\(key).f32")
        if let data = FileManager.default.contents(atPath: file.path), data.count >= 4 {
            let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let d = floats.count / max(texts.count, 1)
            if d > 0 && floats.count == d * texts.count {
                return (0..<texts.count).map { Array(floats[($0 * d)..<(($0 + 1) * d)]) }
            }
        }
        let vectors = embed(texts)
        // A cache is an optimisation: failing to write one is not an error.
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? vectors.flatMap { $0 }.withUnsafeBytes { try AtomicFile.write($0, to: file.path) }
        return vectors
    }
}
