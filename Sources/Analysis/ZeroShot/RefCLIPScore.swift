import Foundation
import Inference
import Imaging
import Models

/// RefCLIPScore (Hessel et al. 2021, "CLIPScore: A Reference-free
/// Evaluation Metric for Image Captioning"), the paper's captioning metric,
/// in CLIP space:
///
///     CLIP-S(c, v)       = w · max(cos(c, v), 0)                 w = 2.5
///     RefCLIP-S(c, R, v) = H-Mean(CLIP-S(c, v), max(max_{r∈R} cos(c, r), 0))
///
/// where c is the candidate caption (a predicted prompt), v the image and R
/// the reference captions (the true prompts), all embedded by one CLIP
/// model. The harmonic mean of two non-negative numbers is 2ab/(a + b), 0
/// when both are 0. A corpus score is the mean of the per-image scores.
public struct RefCLIPScore: Sendable, Equatable {
    public static let w: Float = 2.5

    /// CLIP-S: how well the caption matches the image.
    public var clipScore: Float
    /// max(max_r cos(c, r), 0): how close the caption is to a reference.
    public var referenceScore: Float
    /// Their harmonic mean.
    public var refCLIPScore: Float

    public init(clipScore: Float, referenceScore: Float) {
        self.clipScore = clipScore
        self.referenceScore = referenceScore
        let sum = clipScore + referenceScore
        refCLIPScore = sum > 0 ? 2 * clipScore * referenceScore / sum : 0
    }

    /// The score of one caption from embeddings (any length: cosines are taken).
    public init(image: [Float], caption: [Float], references: [[Float]]) {
        let clip = Self.w * max(CLIPModel.cosine(caption, image), 0)
        let best = references.map { CLIPModel.cosine(caption, $0) }.max() ?? 0
        self.init(clipScore: clip, referenceScore: max(best, 0))
    }

    /// The mean of each score over a corpus (zeros for an empty one).
    public static func mean(_ scores: [RefCLIPScore]) -> (clipScore: Float, referenceScore: Float, refCLIPScore: Float) {
        guard !scores.isEmpty else { return (0, 0, 0) }
        let n = Float(scores.count)
        return (scores.reduce(0) { $0 + $1.clipScore } / n, scores.reduce(0) { $0 + $1.referenceScore } / n,
                scores.reduce(0) { $0 + $1.refCLIPScore } / n)
    }
}

/// RefCLIPScore with a CLIP model that has both towers.
public struct RefCLIPScorer: Sendable {
    public let clip: CLIPEncoder
    /// Put before every caption and reference. Hessel et al. used
    /// "A photo depicts" for photo captions; prompts are scored as written
    /// by default.
    public var captionPrefix: String

    public init(clip: CLIPEncoder, captionPrefix: String = "") {
        precondition(clip.hasVision && clip.hasText, "RefCLIPScore needs a CLIP model with both towers")
        self.clip = clip
        self.captionPrefix = captionPrefix
    }

    public func score(image: RGBAImage, caption: String, references: [String]) -> RefCLIPScore {
        score(imageEmbedding: clip.embed(image: image), caption: caption, references: references)
    }

    public func score(imageEmbedding: [Float], caption: String, references: [String]) -> RefCLIPScore {
        let texts = ([caption] + references).map { captionPrefix.isEmpty ? $0 : captionPrefix + " " + $0 }
        let e = clip.embed(texts: texts)
        return RefCLIPScore(image: imageEmbedding, caption: e[0], references: Array(e.dropFirst()))
    }
}
