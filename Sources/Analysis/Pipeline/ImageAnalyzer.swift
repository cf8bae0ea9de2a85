import Foundation
import Inference
import Imaging
import Metadata
import Models
import RevsdSystem

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
    /// The picture's `PixelSignature` (with the features): near-duplicates.
    public var pixelSignature: [Float]?
    public var width: Int?
    public var height: Int?
    public var format: ImageFormat?
    /// MiniLM embedding of the embedded prompt, when there is one: the
    /// training target and what the cosine above is measured against.
    public var knownPromptEmbedding: [Float]?
    /// That prompt's search row (`ImageAnalyzer.searchEmbeddings`: its
    /// syntax stripped, its boilerplate weighing half): what a search meets.
    public var searchPromptEmbedding: [Float]?
    /// sha256 of the file's bytes (when asked for).
    public var contentHash: String?
    public var size: Int?
    /// The gallery's thumbnail (WebP bytes, `Imaging.Thumbnail`), made from
    /// the pixels decoded for the encoders (when asked for and it could be made).
    public var thumbnail: [UInt8]?

    /// The analysis of a file that could not be read at all.
    public static func failure(path: String, error: String?) -> ImageAnalysis {
        ImageAnalysis(path: path, metadata: nil, metadataNotes: [], caption: nil, keywords: [], knownPromptCosine: nil,
                      embedding: nil, classes: [], error: error)
    }
}

/// Decodes a file, reads the metadata it carries, and predicts its prompt
/// embedding zero-shot. Safe to call from several tasks (the models
/// serialise their own forward passes).
public final class ImageAnalyzer: Sendable {
    /// A CLIP model in the ensemble: its image embedding is stored as features;
    /// with a text tower it also predicts zero-shot against a prompt vocabulary.
    public struct CLIPMember: Sendable {
        public let encoder: CLIPEncoder
        public let zeroShot: CLIPZeroShot?
    }

    public let promptEncoder: SentenceEncoder
    public let predictor: ZeroShotPredictor
    public let clip: [CLIPMember]
    public let limits: ImageLimits
    /// Decode large JPEG and lossy WebP files reduced for the encoders
    /// (`ReducedDecode`; nil: always exact, the default).
    public let reducedDecode: ReducedDecode?

    public init(promptEncoder: SentenceEncoder, predictor: ZeroShotPredictor, clip: [CLIPMember] = [], limits: ImageLimits = ImageLimits(),
                reducedDecode: ReducedDecode? = nil) {
        self.promptEncoder = promptEncoder
        self.predictor = predictor
        self.clip = clip
        self.limits = limits
        self.reducedDecode = reducedDecode
    }

    /// The largest short side any encoder resizes to (EfficientNet-Lite2's 297 px).
    public var encoderShortSide: Int {
        (predictor.imageEncoders.map(\.preprocessing.resizeShortSide) + clip.compactMap { $0.encoder.processor?.shortestEdge }).max() ?? 0
    }

    /// This analyzer decoding reduced, the short side kept at `margin` × `encoderShortSide`.
    public func reducingDecode(margin: Double) -> ImageAnalyzer {
        ImageAnalyzer(promptEncoder: promptEncoder, predictor: predictor, clip: clip, limits: limits,
                      reducedDecode: ReducedDecode(minimumShortSide: Int((margin * Double(encoderShortSide)).rounded(.up))))
    }

    /// CLIP members from the models registered in `store` (`revsdctl models
    /// add clip`) and from extra folders (the daemon's `[models] clip`).
    public static func loadCLIP(store: ModelStore, extraFolders: [String], promptEncoder: SentenceEncoder) throws -> [CLIPMember] {
        let registry = ModelRegistry(store: store)
        var encoders = try registry.load().map(registry.clipEncoder)
        for folder in extraFolders where !encoders.contains(where: { $0.name == URL(fileURLWithPath: folder).lastPathComponent }) {
            encoders.append(try CLIPEncoder(folder: URL(fileURLWithPath: folder)))
        }
        let vocabulary = CLIPPromptVocabulary(prompts: PromptPrior.builtinPrompts, keywords: ImageNetClasses.names)
        return encoders.map { e in
            CLIPMember(encoder: e, zeroShot: e.hasText && e.hasVision
                ? CLIPZeroShot(clip: e, promptEncoder: promptEncoder, vocabulary: vocabulary, cacheDirectory: store.root.appendingPathComponent("cache"))
                : nil)
        }
    }

    /// Loads the installed default models from `store`.
    public convenience init(store: ModelStore, promptModelFolder: String? = nil, clipFolders: [String] = []) throws {
        let text = try SentenceEncoder(folder: store.promptEncoderFolder(override: promptModelFolder))
        let predictor = try ZeroShotPredictor(promptEncoder: text, imageEncoders: try store.imageEncoders(),
                                              cacheDirectory: store.root.appendingPathComponent("cache"))
        let clip = try Self.loadCLIP(store: store, extraFolders: clipFolders, promptEncoder: text)
        self.init(promptEncoder: text, predictor: predictor, clip: clip)
    }

    /// Names of the features `analyze(includeFeatures:)` gives (the learned
    /// model's encoders): the EfficientNet ids and "clip:NAME" per CLIP folder.
    public var featureNames: [String] {
        (predictor.imageEncoders.map(\.variant.id) + clip.filter(\.encoder.hasVision).map { "clip:" + $0.encoder.name }).sorted()
    }

    public func analyze(path: String, includeEmbedding: Bool = false, includeFeatures: Bool = false,
                        computeHash: Bool = false, embedKnownPrompt: Bool = true, includeThumbnail: Bool = false) -> ImageAnalysis {
        let bytes: [UInt8]
        do { bytes = try ImageDecoder.read(path: path, limits: limits) } catch {
            return .failure(path: path, error: "\(error)")
        }
        return analyze(bytes: bytes, path: path, includeEmbedding: includeEmbedding, includeFeatures: includeFeatures,
                       computeHash: computeHash, sidecars: true, embedKnownPrompt: embedKnownPrompt, includeThumbnail: includeThumbnail)
    }

    /// Analyses a file read whole (the caller bounded it by `limits`).
    /// Sidecar files are looked up next to `path` only when `sidecars`
    /// (never for a descriptor a client passed). With `embedKnownPrompt`
    /// false, the caller embeds the known prompts of a batch of files in one
    /// pass (`completeKnownPrompts`).
    public func analyze(bytes: [UInt8], path: String, includeEmbedding: Bool = false, includeFeatures: Bool = false,
                        computeHash: Bool = false, sidecars: Bool, embedKnownPrompt: Bool = true, includeThumbnail: Bool = false) -> ImageAnalysis {
        bytes.withUnsafeBytes { raw in
            analyze(raw, path: path, includeEmbedding: includeEmbedding, includeFeatures: includeFeatures,
                    computeHash: computeHash, sidecars: sidecars, embedKnownPrompt: embedKnownPrompt, includeThumbnail: includeThumbnail)
        }
    }

    func analyze(_ bytes: UnsafeRawBufferPointer, path: String, includeEmbedding: Bool, includeFeatures: Bool,
                 computeHash: Bool, sidecars: Bool, embedKnownPrompt: Bool, includeThumbnail: Bool) -> ImageAnalysis {
        // One image's work counts as one user of the cores from its decode
        // to its prediction, not only inside each forward pass.
        Parallel.sharingCores {
            analyzeSharingCores(bytes, path: path, includeEmbedding: includeEmbedding, includeFeatures: includeFeatures,
                                computeHash: computeHash, sidecars: sidecars, embedKnownPrompt: embedKnownPrompt,
                                includeThumbnail: includeThumbnail)
        }
    }

    private func analyzeSharingCores(_ bytes: UnsafeRawBufferPointer, path: String, includeEmbedding: Bool, includeFeatures: Bool,
                                     computeHash: Bool, sidecars: Bool, embedKnownPrompt: Bool, includeThumbnail: Bool) -> ImageAnalysis {
        var result = ImageAnalysis.failure(path: path, error: nil)
        guard bytes.count <= limits.maxFileBytes else {
            result.error = "\(ImageError.tooLarge(path: path, reason: "file is \(bytes.count) bytes, over the \(limits.maxFileBytes)-byte limit"))"
            return result
        }
        result.size = bytes.count
        if computeHash { result.contentHash = SHA256.hex(bytes) }
        let report = MetadataReader.read(bytes, path: path)
        result.metadata = report.metadata
        result.metadataNotes = report.notes
        let decoded: DecodedImage
        do { decoded = try ImageDecoder.decode(bytes, path: path, limits: limits, reduced: reducedDecode) } catch {
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
        result.width = decoded.width
        result.height = decoded.height
        result.format = decoded.format
        // From these pixels, so the gallery's thumbnail costs no second decode
        // (under a reduced decode too: at margin 2, 584 px, its pixels stay ≥ 37 dB
        // from the exact path's; at margin 1, 292 px < 320, they fall to 28 dB).
        if includeThumbnail { result.thumbnail = try? Thumbnail.webp(decoded, name: path) }
        let encodings = predictor.encode(decoded.image)
        if includeFeatures {
            result.features = encodings.mapValues(\.features)
            result.pixelSignature = PixelSignature.of(decoded.image)
        }
        var clipEmbeddings: [String: [Float]] = [:]
        for m in clip where m.encoder.hasVision {
            let e = m.encoder.embed(image: decoded.image)
            clipEmbeddings["clip:" + m.encoder.name] = e
            if includeFeatures { result.features["clip:" + m.encoder.name] = e }
        }
        let prediction = withCLIP(predictor.predict(posterior: predictor.posterior(encodings)), clipEmbeddings)
        result.caption = prediction.caption
        result.keywords = prediction.keywords
        result.classes = prediction.classes
        result.embedding = prediction.embedding
        if embedKnownPrompt { completeKnownPrompts(&result) }
        if !includeEmbedding { result.embedding = nil }
        return result
    }

    /// CLIP members: zero-shot predictions from their image embeddings
    /// ("clip:NAME" → embedding) averaged (equal weights) with the
    /// EfficientNet one; CLIP's caption and keywords win.
    func withCLIP(_ efficientNet: ZeroShotPrediction, _ embeddings: [String: [Float]]) -> ZeroShotPrediction {
        var prediction = efficientNet
        var members: [[Float]] = [prediction.embedding]
        for m in clip where m.encoder.hasVision {
            if let e = embeddings["clip:" + m.encoder.name], let z = m.zeroShot?.predict(imageEmbedding: e) {
                members.append(z.embedding)
                prediction.caption = z.caption
                prediction.keywords = z.keywords
            }
        }
        if members.count > 1 {
            var mean = [Float](repeating: 0, count: members[0].count)
            for v in members { for i in 0..<mean.count { mean[i] += v[i] } }
            prediction.embedding = VectorMath.l2Normalized(mean)
        }
        return prediction
    }

    /// The zero-shot predictions `analyze` makes, for `rows` images from
    /// their stored features (`featureNames` → (rows, d)): the EfficientNet
    /// classifiers applied to the pooled features, then the CLIP members on
    /// their image embeddings. nil when an EfficientNet's features are missing.
    public func zeroShotPredictions(features: [String: [Float]], rows: Int) -> [ZeroShotPrediction]? {
        guard let base = predictor.predict(pooledFeatures: features, rows: rows) else { return nil }
        return base.enumerated().map { r, p in
            var clipRow: [String: [Float]] = [:]
            for (name, x) in features where name.hasPrefix("clip:") {
                let d = x.count / max(rows, 1)
                clipRow[name] = Array(x[(r * d)..<((r + 1) * d)])
            }
            return withCLIP(p, clipRow)
        }
    }

    /// Embeds the known prompts of analysed files and their search rows
    /// (`searchEmbeddings`) in one batch (packed sequences: several times
    /// faster than one at a time) and sets their cosine with the prediction.
    /// Needs the analyses' embeddings.
    public func completeKnownPrompts(_ results: inout [ImageAnalysis]) {
        let wanted = results.indices.filter { results[$0].metadata?.hasRealPrompt == true && results[$0].metadata?.prompt != nil }
        guard !wanted.isEmpty else { return }
        let prompts = wanted.map { results[$0].metadata!.prompt! }
        let vectors = Self.searchEmbeddings(prompts) { promptEncoder.embed($0) }
        for (i, v) in zip(wanted, vectors) {
            results[i].knownPromptEmbedding = v.prompt
            results[i].searchPromptEmbedding = v.search
            if let e = results[i].embedding { results[i].knownPromptCosine = zip(v.prompt, e).reduce(0) { $0 + $1.0 * $1.1 } }
        }
    }

    func completeKnownPrompts(_ result: inout ImageAnalysis) {
        var one = [result]
        completeKnownPrompts(&one)
        result = one[0]
    }
}
