import Foundation
import GRDB
import Learning
import Metadata

/// A file as the index knows it.
public struct ImageRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case indexed, failed }
    public var id: Int64
    public var path: String
    public var contentHash: String?
    public var size: Int64
    public var mtimeNs: Int64
    public var width: Int?
    public var height: Int?
    public var format: String?
    public var status: Status
    public var error: String?
    public var metadata: GenerationMetadata?
    public var caption: String?
    public var keywords: [String]
    public var indexedAt: Date
    /// Out-of-fold cosine between the learned ensemble's prediction and the
    /// known prompt's embedding, and the curriculum tier (labelled images, after training).
    public var alignment: Float?
    public var tier: Tier?
    /// Its pixels are analysed (features, prediction, caption): false while
    /// only phase 1 (metadata, known prompt) is stored (IndexStore+Analysis).
    public var analysed: Bool = true
    /// What made its stored prediction (nil: unknown, stored before v10).
    public var predictionOrigin: PredictionOrigin?
    public var prompt: String? { metadata?.hasRealPrompt == true ? metadata?.prompt : nil }
}

/// What the pipeline learned about one file, written in one transaction.
public struct IndexedFile: Sendable {
    public var path: String
    public var contentHash: String?
    public var size: Int64
    public var mtimeNs: Int64
    public var width: Int?
    public var height: Int?
    public var format: String?
    public var metadata: GenerationMetadata?
    public var caption: String?
    public var keywords: [String]
    public var embeddings: [EmbeddingKind: [Float]]
    /// Set when the file could not be indexed: recorded, never retried until it changes.
    public var error: String?
    /// False for phase 1's result (metadata and known prompt, no pixels):
    /// storing it queues the image's analysis (IndexStore+Analysis).
    public var analysed = true
    /// What made `embeddings[.predicted]` (nil: none made here; a reindex
    /// that keeps the stored prediction of unchanged content keeps its origin).
    public var predictionOrigin: PredictionOrigin?

    public init(path: String, contentHash: String?, size: Int64, mtimeNs: Int64, width: Int? = nil, height: Int? = nil,
                format: String? = nil, metadata: GenerationMetadata? = nil, caption: String? = nil, keywords: [String] = [],
                embeddings: [EmbeddingKind: [Float]] = [:], error: String? = nil) {
        self.path = path; self.contentHash = contentHash; self.size = size; self.mtimeNs = mtimeNs
        self.width = width; self.height = height; self.format = format; self.metadata = metadata
        self.caption = caption; self.keywords = keywords; self.embeddings = embeddings; self.error = error
    }
}

/// What made an image's predicted prompt embedding (`image.predictionOrigin`):
/// search weighs a prediction by how close predictions of its origin come to
/// the truth. Images stored before the origin was recorded have none, and
/// count as the current predictor's.
public enum PredictionOrigin: String, Sendable, Equatable {
    /// The zero-shot prediction (ImageNet classes and the prompt prior): before
    /// training, or for an image outside what the learned heads were measured on.
    case zeroShot = "zero-shot"
    /// The learned ensemble's.
    case learned
}

/// The vectors stored per image; `storageKey` is the `embedding.kind`
/// column ("prompt.predicted", "prompt.known", "prompt.search", "features.<encoder>", "image.pixels32").
public enum EmbeddingKind: Hashable, Sendable, CustomStringConvertible {
    /// The predicted prompt embedding (all-MiniLM-L6-v2 space, unit length).
    case predicted
    /// MiniLM embedding of the prompt the file carries, as it is: the
    /// training target (the paper's), what `eval` scores against.
    case knownPrompt
    /// MiniLM embedding of that prompt's search text
    /// (`PromptText.searchText`, its syntax stripped): what a search meets.
    case searchPrompt
    /// An image encoder's pooled features, e.g. efficientnet-lite0.
    case features(String)
    /// The picture's `PixelSignature` (32 × 32 RGB, unit length): what
    /// `eval` finds near-duplicates of library images by.
    case pixels

    static let featuresPrefix = "features."

    public var storageKey: String {
        switch self {
        case .predicted: return "prompt.predicted"
        case .knownPrompt: return "prompt.known"
        case .searchPrompt: return "prompt.search"
        case .features(let encoder): return Self.featuresPrefix + encoder
        case .pixels: return "image.pixels32"
        }
    }

    public init?(storageKey: String) {
        switch storageKey {
        case "prompt.predicted": self = .predicted
        case "prompt.known": self = .knownPrompt
        case "prompt.search": self = .searchPrompt
        case "image.pixels32": self = .pixels
        case let k where k.hasPrefix(Self.featuresPrefix) && k.utf8.count > Self.featuresPrefix.utf8.count:
            self = .features(String(k.dropFirst(Self.featuresPrefix.count)))
        default: return nil
        }
    }

    public var description: String { storageKey }
}

extension EmbeddingKind: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { storageKey.databaseValue }
    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> EmbeddingKind? {
        String.fromDatabaseValue(dbValue).flatMap(EmbeddingKind.init(storageKey:))
    }
}

extension Tier: DatabaseValueConvertible {}

/// The keys of the training_state table.
public enum TrainingStateKey: String, Sendable, CaseIterable {
    /// Labelled images counted when the last run succeeded (auto-retraining counts from it).
    case labelledAtLastTraining = "labelled_at_last_training"
    /// Labelled images counted when the last run failed (not retried until it changes).
    case labelledAtLastFailure = "labelled_at_last_failure"
    /// The model every stored prediction was made with (a re-prediction cut short is finished at start).
    case predictedWithModel = "predicted_with_model"
}

/// A queued unit of work.
public struct Job: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var reason: String
    public var attempts: Int

    /// The reason of a `reindex` job: the file is analysed again even when
    /// unchanged or a copy of indexed content.
    public static let reindexReason = "reindex"
    public var isReindex: Bool { reason == Self.reindexReason }
}

/// The two phases' counts for `status`: indexed images that are searchable
/// (a known prompt, or a prediction), analysed, and waiting for analysis.
public struct PhaseCounts: Sendable, Equatable {
    public var searchable = 0
    public var analysed = 0
    public var analysisQueued = 0
    public init(searchable: Int = 0, analysed: Int = 0, analysisQueued: Int = 0) {
        self.searchable = searchable; self.analysed = analysed; self.analysisQueued = analysisQueued
    }
}

/// Counts for `status`.
public struct IndexCounts: Sendable, Equatable {
    public var indexed: Int
    public var failed: Int
    public var queued: Int
    public var withPrompt: Int
}

extension Array where Element == Float {
    /// Little-endian float32 bytes, as stored in the index.
    var blob: Data { withUnsafeBytes { Data($0) } }

    init(blob: Data) {
        self = blob.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
