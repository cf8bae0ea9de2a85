/// The results of the index half. Keys as in version 1 of the protocol;
/// fields that version 1 sends as null are encoded as explicit nulls.

/// `status`: counts, watches, models, the inotify budget, and learning.
public struct StatusResult: ControlResult {
    public var indexed: Int
    public var queued: Int
    public var failed: Int
    public var withPrompt: Int
    public var watches: [String]
    public var models: [String]
    public var watchedDirectories: Int
    /// The sticky message once the inotify watch limit was reached (null before).
    public var watchLimit: String?
    /// Watched folders that are not there now (watched for their return).
    public var missingWatches: [String]
    /// The most recent failed files (at most 20; `failed` pages through all).
    public var failedFiles: [FailedFile]
    public var processedSinceStart: Int
    public var failedSinceStart: Int
    /// The two phases (nil from a daemon that predates them): indexed images
    /// whose prompt or prediction is in the search index, those whose pixels
    /// are analysed, those waiting for their analysis, and analyses since start.
    public var searchable: Int?
    public var analysed: Int?
    public var analysisQueued: Int?
    public var analysedSinceStart: Int?
    public var version: String
    public var pid: Int
    /// Absent when the daemon runs without learning.
    public var learning: LearningStatus?

    public init(indexed: Int, queued: Int, failed: Int, withPrompt: Int, watches: [String], models: [String], watchedDirectories: Int,
                watchLimit: String?, missingWatches: [String] = [], failedFiles: [FailedFile] = [], processedSinceStart: Int, failedSinceStart: Int, version: String, pid: Int, learning: LearningStatus?) {
        self.indexed = indexed; self.queued = queued; self.failed = failed; self.withPrompt = withPrompt; self.watches = watches
        self.models = models; self.watchedDirectories = watchedDirectories; self.watchLimit = watchLimit
        self.missingWatches = missingWatches; self.failedFiles = failedFiles
        self.processedSinceStart = processedSinceStart; self.failedSinceStart = failedSinceStart; self.version = version
        self.pid = pid; self.learning = learning
    }

    /// `status` with the two phases' counts.
    public init(indexed: Int, queued: Int, failed: Int, withPrompt: Int, searchable: Int, analysed: Int, analysisQueued: Int,
                watches: [String], models: [String], watchedDirectories: Int, watchLimit: String?, missingWatches: [String] = [],
                failedFiles: [FailedFile] = [], processedSinceStart: Int, failedSinceStart: Int, analysedSinceStart: Int,
                version: String, pid: Int, learning: LearningStatus?) {
        self.init(indexed: indexed, queued: queued, failed: failed, withPrompt: withPrompt, watches: watches, models: models,
                  watchedDirectories: watchedDirectories, watchLimit: watchLimit, missingWatches: missingWatches, failedFiles: failedFiles,
                  processedSinceStart: processedSinceStart, failedSinceStart: failedSinceStart, version: version, pid: pid, learning: learning)
        self.searchable = searchable; self.analysed = analysed; self.analysisQueued = analysisQueued
        self.analysedSinceStart = analysedSinceStart
    }

    enum CodingKeys: String, CodingKey {
        case indexed, queued, failed, watches, models, version, pid, learning
        case withPrompt = "with_prompt", watchedDirectories = "watched_directories", watchLimit = "watch_limit"
        case missingWatches = "missing_watches", failedFiles = "failed_files"
        case processedSinceStart = "processed_since_start", failedSinceStart = "failed_since_start"
        case searchable, analysed, analysisQueued = "analysis_queued", analysedSinceStart = "analysed_since_start"
    }

    /// `missing_watches` and `failed_files` are read as empty from a daemon
    /// that predates them; `searchable`, `analysed`, `analysis_queued` and
    /// `analysed_since_start` as nil.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        indexed = try c.decode(Int.self, forKey: .indexed)
        queued = try c.decode(Int.self, forKey: .queued)
        failed = try c.decode(Int.self, forKey: .failed)
        withPrompt = try c.decode(Int.self, forKey: .withPrompt)
        watches = try c.decode([String].self, forKey: .watches)
        models = try c.decode([String].self, forKey: .models)
        watchedDirectories = try c.decode(Int.self, forKey: .watchedDirectories)
        watchLimit = try c.decodeIfPresent(String.self, forKey: .watchLimit)
        missingWatches = try c.decodeIfPresent([String].self, forKey: .missingWatches) ?? []
        failedFiles = try c.decodeIfPresent([FailedFile].self, forKey: .failedFiles) ?? []
        processedSinceStart = try c.decode(Int.self, forKey: .processedSinceStart)
        failedSinceStart = try c.decode(Int.self, forKey: .failedSinceStart)
        searchable = try c.decodeIfPresent(Int.self, forKey: .searchable)
        analysed = try c.decodeIfPresent(Int.self, forKey: .analysed)
        analysisQueued = try c.decodeIfPresent(Int.self, forKey: .analysisQueued)
        analysedSinceStart = try c.decodeIfPresent(Int.self, forKey: .analysedSinceStart)
        version = try c.decode(String.self, forKey: .version)
        pid = try c.decode(Int.self, forKey: .pid)
        learning = try c.decodeIfPresent(LearningStatus.self, forKey: .learning)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(indexed, forKey: .indexed)
        try c.encode(queued, forKey: .queued)
        try c.encode(failed, forKey: .failed)
        try c.encode(withPrompt, forKey: .withPrompt)
        try c.encode(watches, forKey: .watches)
        try c.encode(models, forKey: .models)
        try c.encode(watchedDirectories, forKey: .watchedDirectories)
        try c.encode(watchLimit, forKey: .watchLimit)   // null until the limit is hit
        try c.encode(missingWatches, forKey: .missingWatches)
        try c.encode(failedFiles, forKey: .failedFiles)
        try c.encode(processedSinceStart, forKey: .processedSinceStart)
        try c.encode(failedSinceStart, forKey: .failedSinceStart)
        try c.encodeIfPresent(searchable, forKey: .searchable)
        try c.encodeIfPresent(analysed, forKey: .analysed)
        try c.encodeIfPresent(analysisQueued, forKey: .analysisQueued)
        try c.encodeIfPresent(analysedSinceStart, forKey: .analysedSinceStart)
        try c.encode(version, forKey: .version)
        try c.encode(pid, forKey: .pid)
        try c.encodeIfPresent(learning, forKey: .learning)
    }
}

/// A file recorded failed: where, why, and when (seconds since the epoch).
public struct FailedFile: Codable, Sendable, Equatable {
    public var path: String
    /// One line naming the file and the problem.
    public var error: String
    public var at: Double

    public init(path: String, error: String, at: Double) { self.path = path; self.error = error; self.at = at }
}

/// `failed`: how many files are failed in all, and one page of them, most recent first.
public struct FailedResult: ControlResult {
    public var total: Int
    public var offset: Int
    public var files: [FailedFile]

    public init(total: Int, offset: Int, files: [FailedFile]) { self.total = total; self.offset = offset; self.files = files }
}

/// What learning is doing, and the last successful run's numbers (`status`'s
/// and `train`'s `learning` object). One flat object on the wire.
public struct LearningStatus: Codable, Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case idle
        case training(phase: String, fraction: Double, reason: String)
        case predicting(done: Int, total: Int)
    }

    /// One image encoder's best member out of fold, beside not learning.
    public struct EncoderScore: Codable, Sendable, Equatable {
        public var encoder: String
        public var member: String
        public var meanCosine: Double
        public var constantMeanCosine: Double
        public var zeroShotMeanCosine: Double?

        public init(encoder: String, member: String, meanCosine: Double, constantMeanCosine: Double, zeroShotMeanCosine: Double?) {
            self.encoder = encoder; self.member = member; self.meanCosine = meanCosine
            self.constantMeanCosine = constantMeanCosine; self.zeroShotMeanCosine = zeroShotMeanCosine
        }

        enum CodingKeys: String, CodingKey {
            case encoder, member, meanCosine = "mean_cosine", constantMeanCosine = "constant_mean_cosine", zeroShotMeanCosine = "zero_shot_mean_cosine"
        }
    }

    /// The last trained heads: when and on how much they were trained, how
    /// well, and whether they are in use (`adopted`).
    public struct Run: Codable, Sendable, Equatable {
        /// Seconds since the epoch.
        public var trainedAt: Double
        public var examples: Int
        public var validationMeanCosine: Double
        public var constantMeanCosine: Double
        public var members: [String]
        /// Distinct normalised prompts among `examples`; validation images and
        /// prompts (a prompt is on one side only); labelled images left out
        /// for being under 32 px on a side. Absent for heads trained before.
        public var distinctPrompts: Int?
        public var validationExamples: Int?
        public var validationPrompts: Int?
        public var excludedTinyImages: Int?
        /// The zero-shot prediction's mean cosine on the same validation
        /// images; whether the heads make the predictions (they must beat
        /// it); and, when not, why ("kept the zero-shot predictions: …").
        /// Absent from older daemons: adopted, unmeasured.
        public var zeroShotMeanCosine: Double?
        /// Over every labelled prompt, out of fold: the alignment model's and
        /// the zero-shot prediction's mean cosine (what decides adoption when
        /// validation holds fewer than 10 prompts).
        public var outOfFoldMeanCosine: Double?
        public var outOfFoldZeroShotMeanCosine: Double?
        public var adopted: Bool?
        public var notAdoptedReason: String?
        /// Where keywords come from: "mlc" (the learned head, where it ranked
        /// held-out prompts' words better than word frequency alone) or
        /// "zero_shot" (the zero-shot classes). Absent from older daemons and
        /// models trained before: "mlc".
        public var keywordsSource: String?
        /// DAKL, when it is a member: its centroids; where its k-means ran,
        /// "unlabelled" (over the predictions of the library's unlabelled
        /// images, the target domain, as the paper does) or "training" (the
        /// training rows': too few unlabelled images); how many unlabelled
        /// images it read. Absent from older daemons and models trained before.
        public var daklCentroids: Int?
        public var daklDomain: String?
        public var daklUnlabelledImages: Int?
        /// The ensemble's weight of each member (as `members`), and the share
        /// of them fitted against equal weights (0…1, chosen out of fold).
        /// Absent from older daemons and models trained before.
        public var weights: [Double]?
        public var weightsFittedShare: Double?
        /// The feature cosine to the nearest labelled prompt below which an
        /// image keeps its zero-shot prediction (outside the labelled
        /// library's domain). Absent from older daemons and models trained before.
        public var domainSimilarity: Double?
        /// The weights (as `members`) for images at least `nearSimilarity`
        /// near a labelled prompt, fitted on the labelled rows that lie that
        /// near another prompt's images, and the share of them kept against
        /// `weights` (chosen out of fold). Absent when every image gets
        /// `weights`, from older daemons and models trained before.
        public var nearWeights: [Double]?
        public var nearSimilarity: Double?
        public var nearWeightsFittedShare: Double?
        /// Out of fold, the constant's mean cosine (adoption needs the
        /// ensemble above it too), and per image encoder its best member
        /// against the constant and zero-shot on the same rows. Absent from
        /// older daemons and models trained before.
        public var outOfFoldConstantMeanCosine: Double?
        public var encoders: [EncoderScore]?
        /// Whether the heads make the predictions (an older daemon's always did).
        public var isAdopted: Bool { adopted ?? true }

        public init(trainedAt: Double, examples: Int, validationMeanCosine: Double, constantMeanCosine: Double, members: [String],
                    distinctPrompts: Int? = nil, validationExamples: Int? = nil, validationPrompts: Int? = nil,
                    excludedTinyImages: Int? = nil, zeroShotMeanCosine: Double? = nil, outOfFoldMeanCosine: Double? = nil,
                    outOfFoldZeroShotMeanCosine: Double? = nil, adopted: Bool? = nil, notAdoptedReason: String? = nil,
                    keywordsSource: String? = nil, daklCentroids: Int? = nil, daklDomain: String? = nil,
                    daklUnlabelledImages: Int? = nil, weights: [Double]? = nil, weightsFittedShare: Double? = nil,
                    domainSimilarity: Double? = nil, outOfFoldConstantMeanCosine: Double? = nil, encoders: [EncoderScore]? = nil,
                    nearWeights: [Double]? = nil, nearSimilarity: Double? = nil, nearWeightsFittedShare: Double? = nil) {
            self.outOfFoldConstantMeanCosine = outOfFoldConstantMeanCosine; self.encoders = encoders
            self.nearWeights = nearWeights; self.nearSimilarity = nearSimilarity; self.nearWeightsFittedShare = nearWeightsFittedShare
            self.weights = weights; self.weightsFittedShare = weightsFittedShare; self.domainSimilarity = domainSimilarity
            self.keywordsSource = keywordsSource
            self.daklCentroids = daklCentroids; self.daklDomain = daklDomain; self.daklUnlabelledImages = daklUnlabelledImages
            self.trainedAt = trainedAt; self.examples = examples; self.validationMeanCosine = validationMeanCosine
            self.constantMeanCosine = constantMeanCosine; self.members = members
            self.distinctPrompts = distinctPrompts; self.validationExamples = validationExamples
            self.validationPrompts = validationPrompts; self.excludedTinyImages = excludedTinyImages
            self.zeroShotMeanCosine = zeroShotMeanCosine; self.adopted = adopted; self.notAdoptedReason = notAdoptedReason
            self.outOfFoldMeanCosine = outOfFoldMeanCosine; self.outOfFoldZeroShotMeanCosine = outOfFoldZeroShotMeanCosine
        }

        enum CodingKeys: String, CodingKey {
            case examples, members
            case trainedAt = "trained_at", validationMeanCosine = "validation_mean_cosine", constantMeanCosine = "constant_mean_cosine"
            case distinctPrompts = "distinct_prompts", validationExamples = "validation_examples"
            case validationPrompts = "validation_prompts", excludedTinyImages = "excluded_tiny_images"
            case zeroShotMeanCosine = "zero_shot_mean_cosine", adopted, notAdoptedReason = "not_adopted_reason"
            case outOfFoldMeanCosine = "out_of_fold_mean_cosine", outOfFoldZeroShotMeanCosine = "out_of_fold_zero_shot_mean_cosine"
            case keywordsSource = "keywords_source"
            case daklCentroids = "dakl_centroids", daklDomain = "dakl_domain", daklUnlabelledImages = "dakl_unlabelled_images"
            case weights, weightsFittedShare = "weights_fitted_share", domainSimilarity = "domain_similarity"
            case outOfFoldConstantMeanCosine = "out_of_fold_constant_mean_cosine", encoders
            case nearWeights = "near_weights", nearSimilarity = "near_similarity", nearWeightsFittedShare = "near_weights_fitted_share"
        }
    }

    public var state: State
    /// Absent until a run succeeded.
    public var lastRun: Run?
    /// How many prompts captions are chosen from.
    public var promptBank: Int
    /// The last failed run's message (null when the last run succeeded).
    public var lastError: String?

    public init(state: State, lastRun: Run?, promptBank: Int, lastError: String?) {
        self.state = state; self.lastRun = lastRun; self.promptBank = promptBank; self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case state, phase, fraction, reason, done, total
        case trainedAt = "trained_at", promptBank = "prompt_bank", lastError = "last_error"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .state) {
        case "training":
            state = .training(phase: try c.decode(String.self, forKey: .phase), fraction: try c.decode(Double.self, forKey: .fraction),
                              reason: try c.decode(String.self, forKey: .reason))
        case "predicting":
            state = .predicting(done: try c.decode(Int.self, forKey: .done), total: try c.decode(Int.self, forKey: .total))
        default:
            state = .idle
        }
        lastRun = c.contains(.trainedAt) ? try Run(from: decoder) : nil
        promptBank = try c.decode(Int.self, forKey: .promptBank)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch state {
        case .idle:
            try c.encode("idle", forKey: .state)
        case let .training(phase, fraction, reason):
            try c.encode("training", forKey: .state)
            try c.encode(phase, forKey: .phase)
            try c.encode(fraction, forKey: .fraction)
            try c.encode(reason, forKey: .reason)
        case let .predicting(done, total):
            try c.encode("predicting", forKey: .state)
            try c.encode(done, forKey: .done)
            try c.encode(total, forKey: .total)
        }
        try lastRun?.encode(to: encoder)
        try c.encode(promptBank, forKey: .promptBank)
        try c.encode(lastError, forKey: .lastError)   // null after a successful run
    }
}

/// One ranked image of `search` and `similar`.
public struct SearchHit: Codable, Sendable, Equatable {
    public var path: String
    /// The image's index id (what `image`, `image_file` and `similar` take).
    /// Added in version 1: read as nil from a daemon without it.
    public var imageID: Int64?
    /// The cosine (or, listing the least aligned, the alignment).
    public var score: Double?
    /// The predicted caption.
    public var caption: String?
    /// The known prompt, when the file carries it.
    public var prompt: String?
    /// Null until a training run scored the image.
    public var alignment: Double?
    public var tier: Tier?
    /// The other indexed paths holding the same content (identical copies
    /// are one hit); empty when none. Added in version 1: a daemon that
    /// does not send it is read as none.
    public var paths: [String]
    /// What ranked it: the prompt the file carries, or (for an image without
    /// one) its predicted prompt embedding; nil when listing the least
    /// aligned. Added in version 1: read as nil from a daemon without it.
    public var match: Match?
    /// For a `predicted` match, the cosine a prediction is expected to have
    /// to its true prompt here (its score is the query cosine times this);
    /// 1 for a `prompt` match.
    public var confidence: Double?
    /// Other indexed images of the same prompt (seed variations, not copies
    /// of this content), grouped into this result unless the search asked
    /// for `all`; empty when none. Added in version 1: read as [] from a
    /// daemon without it.
    public var variations: [String]

    public enum Match: String, Codable, Sendable {
        case prompt, predicted
    }

    public init(path: String, score: Double?, caption: String?, prompt: String?, alignment: Double?, tier: Tier?, paths: [String] = [],
                match: Match? = nil, confidence: Double? = nil, variations: [String] = [], imageID: Int64? = nil) {
        self.path = path; self.imageID = imageID; self.score = score; self.caption = caption; self.prompt = prompt; self.alignment = alignment; self.tier = tier
        self.paths = paths; self.match = match; self.confidence = confidence; self.variations = variations
    }

    enum CodingKeys: String, CodingKey {
        case path, score, caption, prompt, alignment, tier, paths, match, confidence, variations
        case imageID = "image_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        imageID = try c.decodeIfPresent(Int64.self, forKey: .imageID)
        score = try c.decodeIfPresent(Double.self, forKey: .score)
        caption = try c.decodeIfPresent(String.self, forKey: .caption)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        alignment = try c.decodeIfPresent(Double.self, forKey: .alignment)
        tier = try c.decodeIfPresent(Tier.self, forKey: .tier)
        paths = try c.decodeIfPresent([String].self, forKey: .paths) ?? []
        match = try c.decodeIfPresent(Match.self, forKey: .match)
        confidence = try c.decodeIfPresent(Double.self, forKey: .confidence)
        variations = try c.decodeIfPresent([String].self, forKey: .variations) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(imageID, forKey: .imageID)
        try c.encode(score, forKey: .score)
        try c.encode(caption, forKey: .caption)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(alignment, forKey: .alignment)
        try c.encode(tier, forKey: .tier)
        try c.encode(paths, forKey: .paths)
        try c.encode(match, forKey: .match)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(variations, forKey: .variations)
    }
}

/// `search`: the query (null when listing the least aligned) and the hits, best first.
public struct SearchResult: ControlResult {
    public var query: String?
    public var results: [SearchHit]

    public init(query: String?, results: [SearchHit]) { self.query = query; self.results = results }

    enum CodingKeys: String, CodingKey { case query, results }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(query, forKey: .query)
        try c.encode(results, forKey: .results)
    }
}

/// `similar`: the image asked about and its nearest neighbours.
public struct SimilarResult: ControlResult {
    public var path: String
    public var results: [SearchHit]

    public init(path: String, results: [SearchHit]) { self.path = path; self.results = results }
}

/// `watch_add`, `watch_remove`, `watch_list`: the watched folders after the change.
public struct WatchesResult: ControlResult {
    public var watches: [String]

    public init(watches: [String]) { self.watches = watches }
}

/// `reindex`: how many files were queued again.
public struct ReindexResult: ControlResult {
    public var queued: Int

    public init(queued: Int) { self.queued = queued }
}
