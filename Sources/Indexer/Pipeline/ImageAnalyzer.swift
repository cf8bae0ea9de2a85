import Foundation
import Inference

/// What revsd says about one file (the `caption` contract).
public struct ImageAnalysis: Sendable {
    public var path: String
    public var metadata: GenerationMetadata?
    public var metadataNotes: [String]
    public var caption: String?
    public var keywords: [String]
    /// Cosine between the predicted embedding and MiniLM(metadata.prompt).
    public var knownPromptCosine: Float?
    public var embedding: [Float]?
    public var classes: [(name: String, probability: Float)]
    public var error: String?
    /// Pooled features of each image encoder, by model id (when asked for).
    public var features: [String: [Float]] = [:]
    public var width: Int?
    public var height: Int?
    public var format: ImageFormat?
    /// MiniLM embedding of the embedded prompt, when there is one.
    public var knownPromptEmbedding: [Float]?
    /// sha256 of the file's bytes (when asked for).
    public var contentHash: String?
    public var size: Int?

    /// The analysis of a file that could not be read at all.
    public static func failure(path: String, error: String) -> ImageAnalysis {
        ImageAnalysis(path: path, metadata: nil, metadataNotes: [], caption: nil, keywords: [], knownPromptCosine: nil,
                      embedding: nil, classes: [], error: error)
    }

    /// The JSON object `revsdctl caption --json` prints for this file.
    public func jsonObject(includeEmbedding: Bool) -> [String: Any] {
        var o: [String: Any] = [
            "path": path,
            "metadata": metadata.map(Self.metadataObject) ?? NSNull(),
            "caption": caption ?? NSNull(),
            "keywords": keywords,
            "known_prompt_cosine": knownPromptCosine.map { Double($0) } ?? NSNull(),
            "error": error ?? NSNull(),
        ]
        if includeEmbedding { o["embedding"] = embedding.map { $0.map(Double.init) } ?? NSNull() }
        return o
    }

    static func metadataObject(_ m: GenerationMetadata) -> [String: Any] {
        [
            "prompt": m.prompt ?? NSNull(), "negative_prompt": m.negativePrompt ?? NSNull(), "source": m.source,
            "steps": m.steps ?? NSNull(), "sampler": m.sampler ?? NSNull(), "cfg_scale": m.cfgScale ?? NSNull(),
            "seed": m.seed.map { NSNumber(value: $0) } ?? NSNull(), "width": m.width ?? NSNull(), "height": m.height ?? NSNull(),
            "model": m.model ?? NSNull(), "model_hash": m.modelHash ?? NSNull(),
        ]
    }
}

/// Decodes a file, reads the metadata it carries, and predicts its prompt
/// embedding zero-shot. Safe to call from several tasks (the models
/// serialise their own forward passes).
public final class ImageAnalyzer: Sendable {
    public let promptEncoder: SentenceEncoder
    public let predictor: ZeroShotPredictor
    public let limits: ImageLimits

    public init(promptEncoder: SentenceEncoder, predictor: ZeroShotPredictor, limits: ImageLimits = ImageLimits()) {
        self.promptEncoder = promptEncoder
        self.predictor = predictor
        self.limits = limits
    }

    /// Loads the installed default models from `store`.
    public convenience init(store: ModelStore, promptModelFolder: String? = nil) throws {
        let text = try SentenceEncoder(folder: store.promptEncoderFolder(override: promptModelFolder))
        var encoders: [EfficientNetLiteEncoder] = []
        for v in EfficientNetLiteVariant.allCases {
            let folder = store.folder(for: v.pinned)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(ModelFetcher.manifestName).path) else {
                throw ModelStoreError.notInstalled(model: v.id, store: store)
            }
            encoders.append(try EfficientNetLiteEncoder(folder: folder, variant: v))
        }
        let predictor = try ZeroShotPredictor(promptEncoder: text, imageEncoders: encoders,
                                              cacheDirectory: store.root.appendingPathComponent("cache"))
        self.init(promptEncoder: text, predictor: predictor)
    }

    public func analyze(path: String, includeEmbedding: Bool = false, includeFeatures: Bool = false,
                        computeHash: Bool = false) -> ImageAnalysis {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch {
            var result = ImageAnalysis(path: path, metadata: nil, metadataNotes: [], caption: nil, keywords: [],
                                       knownPromptCosine: nil, embedding: nil, classes: [], error: nil)
            result.error = "\(ImageError.unreadable(path: path, reason: ImageDecoder.reason(error)))"
            return result
        }
        return analyze(file: file, includeEmbedding: includeEmbedding, includeFeatures: includeFeatures,
                       computeHash: computeHash, sidecars: true)
    }

    /// Analyses a mapped file. Sidecar files are looked up next to
    /// `file.path` only when `sidecars` (never for a descriptor a client passed).
    public func analyze(file: MappedFile, includeEmbedding: Bool = false, includeFeatures: Bool = false,
                        computeHash: Bool = false, sidecars: Bool) -> ImageAnalysis {
        let path = file.path
        var result = ImageAnalysis(path: path, metadata: nil, metadataNotes: [], caption: nil, keywords: [],
                                   knownPromptCosine: nil, embedding: nil, classes: [], error: nil)
        guard file.count <= limits.maxFileBytes else {
            result.error = "\(ImageError.tooLarge(path: path, reason: "file is \(file.count) bytes, over the \(limits.maxFileBytes)-byte limit"))"
            return result
        }
        result.size = file.count
        if computeHash { result.contentHash = SHA256.hex(file.bytes) }
        let report = MetadataReader.read(file.bytes, path: path)
        result.metadata = report.metadata
        result.metadataNotes = report.notes
        let decoded: DecodedImage
        do { decoded = try ImageDecoder.decode(file.bytes, path: path, limits: limits) } catch {
            result.error = "\(error)"
            return result
        }
        if result.metadata?.hasRealPrompt != true {  // stealth copies: alpha or RGB low bits (the signature check is cheap)
            let stealth = decoded.image.pixels.withUnsafeBytes {
                MetadataReader.stealth(width: decoded.image.width, height: decoded.image.height, rgba: $0)
            }
            if let stealth { result.metadata = stealth }
        }
        if result.metadata == nil, sidecars { result.metadata = MetadataReader.sidecar(forImageAt: path) }
        result.width = decoded.image.width
        result.height = decoded.image.height
        result.format = decoded.format
        let encodings = predictor.encode(decoded.image)
        if includeFeatures { result.features = encodings.mapValues(\.features) }
        let prediction = predictor.predict(posterior: predictor.posterior(encodings))
        result.caption = prediction.caption
        result.keywords = prediction.keywords
        result.classes = prediction.classes
        if includeEmbedding { result.embedding = prediction.embedding }
        if let prompt = result.metadata?.prompt, result.metadata?.hasRealPrompt == true {
            let truth = promptEncoder.embed([prompt])[0]
            result.knownPromptEmbedding = truth
            result.knownPromptCosine = zip(truth, prediction.embedding).reduce(0) { $0 + $1.0 * $1.1 }
        }
        return result
    }
}
