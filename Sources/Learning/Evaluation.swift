import Foundation

/// One image of an evaluation set: its cached-style features, the MiniLM
/// embedding of its true prompt, and the zero-shot prediction revsd makes
/// without training.
public struct EvaluationItem: Sendable {
    public var name: String
    public var contentHash: String
    public var prompt: String
    public var target: [Float]
    public var features: [String: [Float]]
    public var zeroShot: [Float]?
    /// Its pixel signature (`Imaging.PixelSignature`), to find its
    /// near-duplicates in the library (`NearDuplicates`); nil: none looked for.
    public var pixelSignature: [Float]?
    public init(name: String, contentHash: String, prompt: String, target: [Float], features: [String: [Float]], zeroShot: [Float]?,
                pixelSignature: [Float]? = nil) {
        self.name = name; self.contentHash = contentHash; self.prompt = prompt; self.target = target
        self.features = features; self.zeroShot = zeroShot; self.pixelSignature = pixelSignature
    }
}

/// The paper's metric on a held-out set: mean cosine between predicted and
/// true prompt embeddings, per encoder, head and technique, for the
/// ensemble, beside the constant baseline (the mean training embedding) and
/// the zero-shot prediction; and 1-NN captioning (exact match, mean cosine).
public struct EvaluationResult: Sendable {
    /// Mean cosine of one encoder/head/technique.
    public typealias Row = TrainingReport.Row
    public var images: Int
    public var rows: [Row]
    public var ensemble: Float
    public var constant: Float
    public var zeroShot: Float?
    public var captionExactMatch: Float
    public var captionMeanCosine: Float
    /// RefCLIPScore of the captions against the true prompts (with a CLIP model).
    public var refCLIPScore: (clipScore: Float, referenceScore: Float, refCLIPScore: Float)?
    /// Content hashes left out of training because they were evaluated (0 when
    /// the model in use had not seen any of them).
    public var retrainedExcluding: Int
    /// Library images (distinct contents) left out of training and of the
    /// caption bank as near-duplicates of evaluated images (`NearDuplicates`),
    /// beside the identical ones counted by `retrainedExcluding`.
    public var retrainedExcludingNearDuplicates = 0
    public var captions: [(name: String, caption: String?, prompt: String)]

    /// Evaluates `model` on `items` with captions from `bank`.
    public static func evaluate(model: LearnedModel, items: [EvaluationItem], bank: PromptBank) -> EvaluationResult {
        let n = items.count, dim = model.dimension
        var features: [String: [Float]] = [:]
        for e in model.encoders { features[e] = items.flatMap { $0.features[e] ?? [] } }
        let targets = items.flatMap(\.target)
        let zeroShotRows = items.allSatisfy({ $0.zeroShot?.count == dim }) ? items.flatMap { $0.zeroShot! } : nil
        let out = model.predict(features: features, rows: n, zeroShot: zeroShotRows, allTechniques: true)
        var rows: [Row] = []
        for (variant, p) in out.techniques.sorted(by: { $0.key < $1.key }) {
            rows.append(Row(variant, meanCosine: EnsembleWeights.meanCosine(p, targets, dimension: dim)))
        }
        let constant = EnsembleWeights.meanCosine([Float]((0..<n).flatMap { _ in model.meanTarget }), targets, dimension: dim)
        var zeroShot: Float?
        if items.allSatisfy({ $0.zeroShot?.count == dim }) {
            zeroShot = EnsembleWeights.meanCosine(items.flatMap { $0.zeroShot! }, targets, dimension: dim)
        }
        let nearest = bank.nearest(out.ensemble, k: 1)
        var exact = 0, captionCos: Float = 0
        var captions: [(String, String?, String)] = []
        for (i, item) in items.enumerated() {
            let c = nearest[i].first
            captions.append((item.name, c?.prompt, item.prompt))
            if let c, Self.normalized(c.prompt) == Self.normalized(item.prompt) { exact += 1 }
            if let c, let j = bank.index(of: c.prompt) {
                var dot: Float = 0
                for t in 0..<dim { dot += bank.embeddings[j * dim + t] * item.target[t] }
                captionCos += dot
            }
        }
        return EvaluationResult(
            images: n, rows: rows, ensemble: EnsembleWeights.meanCosine(out.ensemble, targets, dimension: dim), constant: constant,
            zeroShot: zeroShot, captionExactMatch: n > 0 ? Float(exact) / Float(n) : 0, captionMeanCosine: n > 0 ? captionCos / Float(n) : 0,
            refCLIPScore: nil, retrainedExcluding: 0, captions: captions)
    }

    static func normalized(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
    }

    /// The human table: one row per encoder/head/technique, then the
    /// ensemble, the baselines and the captions.
    public func table() -> String {
        var lines: [[String]] = [["encoder", "head", "technique", "mean cosine"]]
        for r in rows { lines.append([r.encoder, r.head.rawValue, r.technique.rawValue, String(format: "%.4f", r.meanCosine)]) }
        lines.append(["ensemble", "all", "weighted", String(format: "%.4f", ensemble)])
        lines.append(["constant", "mean", "baseline", String(format: "%.4f", constant)])
        if let zeroShot { lines.append(["zero-shot", "imagenet", "prior", String(format: "%.4f", zeroShot)]) }
        let widths = (0..<4).map { c in lines.map { $0[c].count }.max() ?? 0 }
        var out = lines.map { l in (0..<4).map { c in c == 3 ? l[c] : l[c].padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined(separator: "  ") }
        out.insert(String(repeating: "-", count: widths.reduce(0, +) + 6), at: 1)
        out.append("")
        out.append("\(images) images; 1-NN captions: exact match \(String(format: "%.1f", captionExactMatch * 100)) %, mean cosine \(String(format: "%.4f", captionMeanCosine))")
        if let r = refCLIPScore {
            out.append("RefCLIPScore \(String(format: "%.4f", r.refCLIPScore)) (CLIP-S \(String(format: "%.4f", r.clipScore)), reference \(String(format: "%.4f", r.referenceScore)))")
        }
        if retrainedExcluding > 0 { out.append("(heads retrained without the \(retrainedExcluding) evaluated images found in the library)") }
        if retrainedExcludingNearDuplicates > 0 {
            out.append("(heads retrained without the \(retrainedExcludingNearDuplicates) library images that are near-duplicates of evaluated ones)")
        }
        return out.joined(separator: "\n")
    }
}

extension PromptBank {
    /// The row of a prompt in the bank.
    public func index(of prompt: String) -> Int? { positionOf(prompt) }
}
