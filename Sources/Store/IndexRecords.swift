import Foundation
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
    public var tier: String?
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
    /// Vectors by kind, e.g. `EmbeddingKind.predicted`.
    public var embeddings: [String: [Float]]
    /// Set when the file could not be indexed: recorded, never retried until it changes.
    public var error: String?

    public init(path: String, contentHash: String?, size: Int64, mtimeNs: Int64, width: Int? = nil, height: Int? = nil,
                format: String? = nil, metadata: GenerationMetadata? = nil, caption: String? = nil, keywords: [String] = [],
                embeddings: [String: [Float]] = [:], error: String? = nil) {
        self.path = path; self.contentHash = contentHash; self.size = size; self.mtimeNs = mtimeNs
        self.width = width; self.height = height; self.format = format; self.metadata = metadata
        self.caption = caption; self.keywords = keywords; self.embeddings = embeddings; self.error = error
    }
}

/// Names of the vectors stored per image.
public enum EmbeddingKind {
    /// The predicted prompt embedding (all-MiniLM-L6-v2 space, unit length).
    public static let predicted = "prompt.predicted"
    /// MiniLM embedding of the prompt the file carries.
    public static let knownPrompt = "prompt.known"
    /// An image encoder's pooled features, e.g. "features.efficientnet-lite0".
    public static func features(_ model: String) -> String { "features.\(model)" }
}

/// A queued unit of work.
public struct Job: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var reason: String
    public var attempts: Int
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
