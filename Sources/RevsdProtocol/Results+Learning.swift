/// The results of the learning half.

/// `train`: whether a run started (false: one is already going on), or
/// that the running one was asked to stop; and the learning status.
public struct TrainResult: ControlResult {
    /// Set when starting (absent when cancelling).
    public var started: Bool?
    /// True when cancelling (absent when starting).
    public var cancelled: Bool?
    public var learning: LearningStatus

    public init(started: Bool, learning: LearningStatus) { self.started = started; self.cancelled = nil; self.learning = learning }
    public init(cancelled learning: LearningStatus) { self.started = nil; self.cancelled = true; self.learning = learning }
}

/// `prompts_import`: prompts read, new ones added, the bank's size after.
public struct PromptsImportResult: ControlResult {
    public var read: Int
    public var added: Int
    public var promptBank: Int

    public init(read: Int, added: Int, promptBank: Int) { self.read = read; self.added = added; self.promptBank = promptBank }

    enum CodingKeys: String, CodingKey { case read, added, promptBank = "prompt_bank" }
}

/// `eval_add`: `{"name", "added": true}`, or `{"name", "error"}` for a file
/// that cannot be used (the others go on).
public struct EvalAddResult: ControlResult {
    public var name: String
    /// Why the file was left out; nil when it was added.
    public var error: String?

    public init(name: String, error: String? = nil) { self.name = name; self.error = error }

    enum CodingKeys: String, CodingKey { case name, added, error }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        error = try c.decodeIfPresent(String.self, forKey: .error)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        if let error { try c.encode(error, forKey: .error) } else { try c.encode(true, forKey: .added) }
    }
}

/// `eval_run` (and `revsdctl eval --json`, without `table`): the paper's
/// metric per encoder/head/technique, the ensemble, the baselines, the
/// captions' scores.
public struct EvalRunResult: ControlResult {
    public struct Row: Codable, Sendable, Equatable {
        public var encoder: String
        public var head: String
        public var technique: String
        public var meanCosine: Double

        public init(encoder: String, head: String, technique: String, meanCosine: Double) {
            self.encoder = encoder; self.head = head; self.technique = technique; self.meanCosine = meanCosine
        }

        enum CodingKeys: String, CodingKey { case encoder, head, technique, meanCosine = "mean_cosine" }
    }

    public struct MeanCosine: Codable, Sendable, Equatable {
        public var meanCosine: Double

        public init(_ meanCosine: Double) { self.meanCosine = meanCosine }

        enum CodingKeys: String, CodingKey { case meanCosine = "mean_cosine" }
    }

    /// 1-NN captions from the bank against the true prompts.
    public struct CaptionScore: Codable, Sendable, Equatable {
        public var exactMatchRate: Double
        public var meanCosine: Double

        public init(exactMatchRate: Double, meanCosine: Double) { self.exactMatchRate = exactMatchRate; self.meanCosine = meanCosine }

        enum CodingKeys: String, CodingKey { case exactMatchRate = "exact_match_rate", meanCosine = "mean_cosine" }
    }

    /// RefCLIPScore of the captions (Hessel et al. 2021).
    public struct RefCLIP: Codable, Sendable, Equatable {
        public var clipScore: Double
        public var referenceScore: Double
        public var refCLIPScore: Double

        public init(clipScore: Double, referenceScore: Double, refCLIPScore: Double) {
            self.clipScore = clipScore; self.referenceScore = referenceScore; self.refCLIPScore = refCLIPScore
        }

        enum CodingKeys: String, CodingKey { case clipScore = "clip_s", referenceScore = "reference_s", refCLIPScore = "refclip_s" }
    }

    /// One image's 1-NN caption (null with an empty bank) and true prompt.
    public struct CaptionRow: Codable, Sendable, Equatable {
        public var name: String
        public var caption: String?
        public var prompt: String

        public init(name: String, caption: String?, prompt: String) { self.name = name; self.caption = caption; self.prompt = prompt }

        enum CodingKeys: String, CodingKey { case name, caption, prompt }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(caption, forKey: .caption)
            try c.encode(prompt, forKey: .prompt)
        }
    }

    public var images: Int
    public var rows: [Row]
    public var ensemble: MeanCosine
    public var constant: MeanCosine
    /// Null when some image lacks a zero-shot prediction.
    public var zeroShot: MeanCosine?
    public var caption: CaptionScore
    /// Absent without a CLIP model that has both towers.
    public var refCLIPScore: RefCLIP?
    /// How many evaluated images a fresh run was trained without (their
    /// content was in the library's labelled set).
    public var retrainedExcluding: Int
    /// How many more library images (distinct contents) it was trained
    /// without because they are near-duplicates of evaluated images: the
    /// same picture saved again (re-encoded, resized, metadata stripped).
    public var retrainedExcludingNearDuplicates: Int
    /// The human table (revsdctl prints it, and leaves it out of --json).
    public var table: String?
    /// Absent unless the request asked for `captions`.
    public var captions: [CaptionRow]?

    public init(images: Int, rows: [Row], ensemble: MeanCosine, constant: MeanCosine, zeroShot: MeanCosine?, caption: CaptionScore,
                refCLIPScore: RefCLIP?, retrainedExcluding: Int, retrainedExcludingNearDuplicates: Int = 0,
                table: String?, captions: [CaptionRow]?) {
        self.images = images; self.rows = rows; self.ensemble = ensemble; self.constant = constant; self.zeroShot = zeroShot
        self.caption = caption; self.refCLIPScore = refCLIPScore; self.retrainedExcluding = retrainedExcluding
        self.retrainedExcludingNearDuplicates = retrainedExcludingNearDuplicates
        self.table = table; self.captions = captions
    }

    enum CodingKeys: String, CodingKey {
        case images, rows, ensemble, constant, caption, table, captions
        case zeroShot = "zero_shot", refCLIPScore = "refclipscore", retrainedExcluding = "retrained_excluding"
        case retrainedExcludingNearDuplicates = "retrained_excluding_near_duplicates"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(images, forKey: .images)
        try c.encode(rows, forKey: .rows)
        try c.encode(ensemble, forKey: .ensemble)
        try c.encode(constant, forKey: .constant)
        try c.encode(zeroShot, forKey: .zeroShot)   // null, not absent
        try c.encode(caption, forKey: .caption)
        try c.encodeIfPresent(refCLIPScore, forKey: .refCLIPScore)
        try c.encode(retrainedExcluding, forKey: .retrainedExcluding)
        try c.encode(retrainedExcludingNearDuplicates, forKey: .retrainedExcludingNearDuplicates)
        try c.encodeIfPresent(table, forKey: .table)
        try c.encodeIfPresent(captions, forKey: .captions)
    }
}
