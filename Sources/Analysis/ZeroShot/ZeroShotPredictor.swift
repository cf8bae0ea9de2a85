import Foundation
import Inference
import Imaging
import Models
import RevsdSystem

/// A prompt-embedding prediction made without training.
public struct ZeroShotPrediction: Sendable {
    /// Unit vector in the all-MiniLM-L6-v2 space.
    public var embedding: [Float]
    /// The most probable ImageNet classes under the encoders' mean posterior.
    public var classes: [(name: String, probability: Float)]
    public var caption: String
    public var keywords: [String]
}

/// The first prediction revsd makes for an image that carries no prompt:
///
///     p     = mean of the EfficientNet-Lite encoders' ImageNet posteriors
///     image = normalise(Σ_c p_c · MiniLM(class name c))
///     pred  = normalise(w · image + (1 − w) · prior)
///
/// where `prior` is the normalised mean embedding of typical prompt wording
/// (`PromptPrior`, or the user's own known prompts) and w = 0.5. The image
/// term says what is depicted; the prior says how prompts are written, which
/// is most of what all prompts share (see bench/RESULTS.md for the measure).
public final class ZeroShotPredictor: Sendable {
    public static let imageWeight: Float = 0.5

    public let imageEncoders: [EfficientNetLiteEncoder]
    /// (1000, 384): MiniLM embedding of each class name.
    let classEmbeddings: [Float]
    public let prior: [Float]
    let dimension: Int

    public init(promptEncoder: SentenceEncoder, imageEncoders: [EfficientNetLiteEncoder],
                priorPrompts: [String] = PromptPrior.builtinPrompts, cacheDirectory: URL? = nil) throws {
        precondition(!imageEncoders.isEmpty, "at least one image encoder")
        self.imageEncoders = imageEncoders
        dimension = promptEncoder.dimension
        classEmbeddings = try Self.classEmbeddings(promptEncoder, cacheDirectory: cacheDirectory)
        prior = Self.normalized(Self.mean(promptEncoder.embed(priorPrompts), dimension: promptEncoder.dimension))
    }

    /// Class-name embeddings, cached on disk (keyed by the encoder's weights
    /// and the class list) because they cost a thousand forward passes.
    static func classEmbeddings(_ encoder: SentenceEncoder, cacheDirectory: URL?) throws -> [Float] {
        let names = ImageNetClasses.names
        let d = encoder.dimension
        let keySource = names.joined(separator: "\n") + "|" + encoder.cacheKey
        let key = String(SHA256.hex(string: keySource).prefix(16))
        let cacheFile = cacheDirectory?.appendingPathComponent("imagenet-class-embeddings-\(key).f32")
        if let cacheFile, let data = FileManager.default.contents(atPath: cacheFile.path), data.count == names.count * d * 4 {
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let vectors = encoder.embed(names, batchSize: 64).flatMap { $0 }
        if let cacheFile, let dir = cacheDirectory {
            // A cache is an optimisation: failing to write one is not an error.
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try? vectors.withUnsafeBytes { try AtomicFile.write($0, to: cacheFile.path) }
        }
        return vectors
    }

    static func mean(_ vectors: [[Float]], dimension: Int) -> [Float] {
        var m = [Float](repeating: 0, count: dimension)
        for v in vectors { for i in 0..<dimension { m[i] += v[i] } }
        return m
    }

    static func normalized(_ v: [Float]) -> [Float] { VectorMath.l2Normalized(v) }

    /// Every encoder's output for `image`, by model id.
    public func encode(_ image: RGBAImage) -> [String: ImageEncoding] {
        var out: [String: ImageEncoding] = [:]
        for e in imageEncoders { out[e.variant.id] = e.encode(image) }
        return out
    }

    /// The mean ImageNet posterior of the encoders' outputs.
    public func posterior(_ encodings: [String: ImageEncoding]) -> [Float] {
        var p = [Float](repeating: 0, count: ImageNetClasses.names.count)
        for e in encodings.values {
            let q = e.probabilities
            for i in 0..<p.count { p[i] += q[i] / Float(encodings.count) }
        }
        return p
    }

    /// The EfficientNet ids whose pooled features `predict(pooledFeatures:)` needs.
    public var featureNames: [String] { imageEncoders.map(\.variant.id) }

    /// The zero-shot predictions of `rows` images from their stored pooled
    /// features (encoder id → (rows, 1280)): each encoder's classifier head
    /// applied to them gives the posterior indexing computed, so no image is
    /// decoded again. nil when an encoder's features are missing.
    public func predict(pooledFeatures features: [String: [Float]], rows: Int) -> [ZeroShotPrediction]? {
        var logits: [[Float]] = []
        for e in imageEncoders {
            guard let x = features[e.variant.id], x.count == rows * e.model.featureCount else { return nil }
            logits.append(e.model.logits(features: x, rows: rows))
        }
        return (0..<rows).map { r in
            var encodings: [String: ImageEncoding] = [:]
            for (e, l) in zip(imageEncoders, logits) {
                let classes = e.model.classCount
                encodings[e.variant.id] = ImageEncoding(features: [], logits: Array(l[(r * classes)..<((r + 1) * classes)]))
            }
            return predict(posterior: posterior(encodings))
        }
    }

    public func predict(_ image: RGBAImage) -> ZeroShotPrediction {
        predict(posterior: posterior(encode(image)))
    }

    public func predict(posterior p: [Float]) -> ZeroShotPrediction {
        let d = dimension
        var image = [Float](repeating: 0, count: d)
        p.withUnsafeBufferPointer { pp in
            classEmbeddings.withUnsafeBufferPointer { e in
                image.withUnsafeMutableBufferPointer { out in
                    BLAS.gemm(MatrixRef(pp.baseAddress!, rows: 1, cols: p.count),
                              MatrixRef(e.baseAddress!, rows: p.count, cols: d),
                              MutableMatrixRef(out.baseAddress!, rows: 1, cols: d))
                }
            }
        }
        image = Self.normalized(image)
        let w = Self.imageWeight
        let blended = Self.normalized((0..<d).map { w * image[$0] + (1 - w) * prior[$0] })
        let top = p.indices.sorted { p[$0] > p[$1] }.prefix(5)
        let classes = top.map { (ImageNetClasses.names[$0], p[$0]) }
        // Keywords: the classes that carry real mass; the caption names the likeliest.
        var keywords: [String] = []
        for (name, prob) in classes where prob >= 0.05 || keywords.isEmpty {
            if !keywords.contains(name) { keywords.append(name) }
        }
        let caption = "a picture of " + Self.article(keywords[0]) + keywords[0] +
            (keywords.count > 1 ? " (or " + keywords.dropFirst().prefix(2).joined(separator: ", ") + ")" : "")
        return ZeroShotPrediction(embedding: blended, classes: classes, caption: caption, keywords: keywords)
    }

    static func article(_ noun: String) -> String {
        guard let first = noun.lowercased().first else { return "" }
        return "aeiou".contains(first) ? "an " : "a "
    }
}
