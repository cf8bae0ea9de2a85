/// `caption`: what revsd says about one file, the object `revsdctl caption
/// --json` prints (also when it computes locally). The base keys are always
/// there, null when unknown: path, metadata, caption, keywords, tags,
/// known_prompt_cosine, error; `embedding` when asked for; with a learned
/// model also prediction, candidates, confidence, zero_shot_caption (when
/// the learned caption's confidence is low) and alignment/tier.
public struct CaptionResult: ControlResult {
    /// The generation metadata the file carries; every key present, null when unknown.
    public struct FileMetadata: Codable, Sendable, Equatable {
        public var prompt: String?
        public var negativePrompt: String?
        /// The tool or format ("automatic1111", "comfyui", …).
        public var source: String
        public var steps: Int?
        public var sampler: String?
        public var cfgScale: Double?
        public var seed: UInt64?
        public var width: Int?
        public var height: Int?
        public var model: String?
        public var modelHash: String?

        public init(prompt: String?, negativePrompt: String?, source: String, steps: Int?, sampler: String?, cfgScale: Double?,
                    seed: UInt64?, width: Int?, height: Int?, model: String?, modelHash: String?) {
            self.prompt = prompt; self.negativePrompt = negativePrompt; self.source = source; self.steps = steps; self.sampler = sampler
            self.cfgScale = cfgScale; self.seed = seed; self.width = width; self.height = height; self.model = model; self.modelHash = modelHash
        }

        enum CodingKeys: String, CodingKey {
            case prompt, source, steps, sampler, seed, width, height, model
            case negativePrompt = "negative_prompt", cfgScale = "cfg_scale", modelHash = "model_hash"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(prompt, forKey: .prompt)
            try c.encode(negativePrompt, forKey: .negativePrompt)
            try c.encode(source, forKey: .source)
            try c.encode(steps, forKey: .steps)
            try c.encode(sampler, forKey: .sampler)
            try c.encode(cfgScale, forKey: .cfgScale)
            try c.encode(seed, forKey: .seed)
            try c.encode(width, forKey: .width)
            try c.encode(height, forKey: .height)
            try c.encode(model, forKey: .model)
            try c.encode(modelHash, forKey: .modelHash)
        }
    }

    public enum Prediction: String, Codable, Sendable {
        case learned
        case zeroShot = "zero-shot"
    }

    /// A prompt of the bank near the prediction.
    public struct Candidate: Codable, Sendable, Equatable {
        public var prompt: String
        public var cosine: Double

        public init(prompt: String, cosine: Double) { self.prompt = prompt; self.cosine = cosine }
    }

    /// The stored score of the same content, when it is indexed (each null
    /// until a training run scored it).
    public struct IndexedScore: Sendable, Equatable {
        public var alignment: Double?
        public var tier: Tier?

        public init(alignment: Double?, tier: Tier?) { self.alignment = alignment; self.tier = tier }
    }

    public var path: String
    public var metadata: FileMetadata?
    public var caption: String?
    public var keywords: [String]
    /// Cosine between the prediction and the embedded prompt's embedding.
    public var knownPromptCosine: Double?
    public var error: String?
    /// Whether `embedding` is part of the answer (asked for); it is then the
    /// predicted unit embedding, or null.
    public var includesEmbedding: Bool
    public var embedding: [Double]?
    /// Absent from a local (revsdctl --local) or learning-less answer.
    public var prediction: Prediction?
    /// The 3 nearest prompts of the bank (learned prediction only).
    public var candidates: [Candidate]?
    /// Present when the same content is indexed (learned prediction only).
    public var indexedScore: IndexedScore?
    /// The cosine the learned caption is expected to have to the true
    /// prompt: its cosine to the prediction times the model's validation
    /// cosine (learned prediction only).
    public var confidence: Double?
    /// The zero-shot description, given beside a learned caption whose
    /// confidence is no better than the constant prediction's validation
    /// cosine (learned prediction only).
    public var zeroShotCaption: String?
    /// The keywords as a tag-style caption ("red, circle, flat
    /// illustration"), as booru-trained models are prompted.
    public var tags: String { keywords.joined(separator: ", ") }

    public init(path: String, metadata: FileMetadata?, caption: String?, keywords: [String], knownPromptCosine: Double?, error: String?,
                includesEmbedding: Bool, embedding: [Double]?, prediction: Prediction? = nil, candidates: [Candidate]? = nil,
                indexedScore: IndexedScore? = nil) {
        self.path = path; self.metadata = metadata; self.caption = caption; self.keywords = keywords
        self.knownPromptCosine = knownPromptCosine; self.error = error; self.includesEmbedding = includesEmbedding
        self.embedding = includesEmbedding ? embedding : nil
        self.prediction = prediction; self.candidates = candidates; self.indexedScore = indexedScore
    }

    /// A file that could not be read at all.
    public static func failure(path: String, error: String, includesEmbedding: Bool) -> CaptionResult {
        CaptionResult(path: path, metadata: nil, caption: nil, keywords: [], knownPromptCosine: nil, error: error,
                      includesEmbedding: includesEmbedding, embedding: nil)
    }

    enum CodingKeys: String, CodingKey {
        case path, metadata, caption, keywords, error, embedding, prediction, candidates, alignment, tier, confidence, tags
        case knownPromptCosine = "known_prompt_cosine", zeroShotCaption = "zero_shot_caption"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        metadata = try c.decodeIfPresent(FileMetadata.self, forKey: .metadata)
        caption = try c.decodeIfPresent(String.self, forKey: .caption)
        keywords = try c.decode([String].self, forKey: .keywords)
        knownPromptCosine = try c.decodeIfPresent(Double.self, forKey: .knownPromptCosine)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        includesEmbedding = c.contains(.embedding)
        embedding = try c.decodeIfPresent([Double].self, forKey: .embedding)
        prediction = try c.decodeIfPresent(Prediction.self, forKey: .prediction)
        candidates = try c.decodeIfPresent([Candidate].self, forKey: .candidates)
        confidence = try c.decodeIfPresent(Double.self, forKey: .confidence)
        zeroShotCaption = try c.decodeIfPresent(String.self, forKey: .zeroShotCaption)
        indexedScore = c.contains(.alignment) || c.contains(.tier)
            ? IndexedScore(alignment: try c.decodeIfPresent(Double.self, forKey: .alignment), tier: try c.decodeIfPresent(Tier.self, forKey: .tier))
            : nil
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(caption, forKey: .caption)
        try c.encode(keywords, forKey: .keywords)
        try c.encode(tags, forKey: .tags)
        try c.encode(knownPromptCosine, forKey: .knownPromptCosine)
        try c.encode(error, forKey: .error)
        if includesEmbedding { try c.encode(embedding, forKey: .embedding) }
        try c.encodeIfPresent(prediction, forKey: .prediction)
        try c.encodeIfPresent(candidates, forKey: .candidates)
        try c.encodeIfPresent(confidence, forKey: .confidence)
        try c.encodeIfPresent(zeroShotCaption, forKey: .zeroShotCaption)
        if let indexedScore {
            try c.encode(indexedScore.alignment, forKey: .alignment)
            try c.encode(indexedScore.tier, forKey: .tier)
        }
    }
}
