import Foundation

/// A CLIP model from Hugging Face folders: a `CLIPModel` folder (both
/// towers), or the separate `CLIPVisionModelWithProjection` and
/// `CLIPTextModelWithProjection` folders, or just one of them. Each folder
/// holds `config.json` and `model.safetensors`; a text tower needs the
/// tokenizer files beside it (`vocab.json`, `merges.txt`).
///
/// Thread-safe: each tower runs one forward pass at a time (its workspace is
/// reused, and the matrix products already use every core).
public final class CLIPModel: @unchecked Sendable {
    public let vision: CLIPVisionTower?
    public let text: CLIPTextTower?
    public let tokenizer: CLIPTokenizer?
    /// exp(logit_scale): the temperature CLIP was trained with (100 for the
    /// released models); 100 when the checkpoint has no `logit_scale`.
    public let logitScale: Float
    public let visionFolder: URL?
    public let textFolder: URL?
    private let visionWorkspace: CLIPVisionWorkspace?
    private let textWorkspace: TransformerWorkspace?
    private let visionLock = NSLock()
    private let textLock = NSLock()

    public var projectionDim: Int { vision?.projectionDim ?? text?.projectionDim ?? 0 }

    /// Loads one folder: a `CLIPModel`, or a single tower.
    public convenience init(folder: URL, precision: MatMulPrecision = .automatic) throws {
        let config = try CLIPConfig(folder: folder)
        try self.init(visionFolder: config.vision != nil ? folder : nil, textFolder: config.text != nil ? folder : nil, precision: precision)
    }

    /// Loads the vision tower from `visionFolder` and the text tower from
    /// `textFolder` (the same folder for a `CLIPModel`); either may be nil.
    public init(visionFolder: URL?, textFolder: URL?, precision: MatMulPrecision = .automatic) throws {
        precondition(visionFolder != nil || textFolder != nil, "a CLIP model needs at least one tower")
        var vision: CLIPVisionTower? = nil
        var text: CLIPTextTower? = nil
        var tokenizer: CLIPTokenizer? = nil
        var logitScale: Float? = nil
        if let visionFolder {
            let config = try CLIPConfig(folder: visionFolder)
            guard let v = config.vision else {
                throw ModelError.invalidConfig(path: visionFolder.appendingPathComponent("config.json").path,
                                               reason: "describes no vision tower (model_type clip_text_model)")
            }
            let st = try Self.checkpoint(in: visionFolder)
            vision = try CLIPVisionTower(config: v, projectionDim: config.projectionDim, checkpoint: st, precision: precision)
            logitScale = try Self.logitScale(st)
        }
        if let textFolder {
            let config = try CLIPConfig(folder: textFolder)
            guard let t = config.text else {
                throw ModelError.invalidConfig(path: textFolder.appendingPathComponent("config.json").path,
                                               reason: "describes no text tower (model_type clip_vision_model)")
            }
            let st = textFolder == visionFolder ? vision!.checkpoint : try Self.checkpoint(in: textFolder)
            let tower = try CLIPTextTower(config: t, projectionDim: config.projectionDim, checkpoint: st, precision: precision)
            let tok = try CLIPTokenizer(folder: textFolder, maxLength: nil)
            try Self.check(tok, against: t, folder: textFolder)
            if let vision, vision.projectionDim != tower.projectionDim {
                throw ModelError.invalidConfig(path: textFolder.appendingPathComponent("config.json").path,
                                               reason: "projection_dim \(tower.projectionDim) differs from the vision tower's \(vision.projectionDim)")
            }
            text = tower
            tokenizer = tok.limited(to: t.maxPositionEmbeddings)
            logitScale = try logitScale ?? Self.logitScale(st)
        }
        self.vision = vision
        self.text = text
        self.tokenizer = tokenizer
        self.logitScale = logitScale ?? 100
        self.visionFolder = visionFolder
        self.textFolder = textFolder
        visionWorkspace = vision?.makeWorkspace()
        textWorkspace = text?.makeWorkspace()
    }

    static func checkpoint(in folder: URL) throws -> SafeTensorsFile {
        let path = folder.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else {
            let index = folder.appendingPathComponent("model.safetensors.index.json").path
            if FileManager.default.fileExists(atPath: index) {
                throw ModelError.invalidFile(path: index, reason: "sharded checkpoints are not supported; save the model as one model.safetensors")
            }
            throw ModelError.missingFile(path: path, what: "CLIP weights (only safetensors is read)")
        }
        return try SafeTensorsFile(path: path)
    }

    static func logitScale(_ st: SafeTensorsFile) throws -> Float? {
        guard st.tensors["logit_scale"] != nil else { return nil }
        let t = try st.floatTensor("logit_scale", shape: [])
        return Foundation.exp(t[0])
    }

    /// Every id the tokenizer can produce must have a row in the embedding table.
    static func check(_ tok: CLIPTokenizer, against config: CLIPTextConfig, folder: URL) throws {
        let largest = max(tok.vocab.values.max() ?? 0, tok.addedTokens.map(\.id).max() ?? 0)
        guard Int(largest) < config.vocabSize else {
            throw ModelError.invalidVocabulary(path: folder.appendingPathComponent("vocab.json").path,
                reason: "token id \(largest) but the text model embeds \(config.vocabSize) tokens (vocab_size in config.json)")
        }
        if !config.poolsAtHighestID && config.eosTokenID >= config.vocabSize {
            throw ModelError.invalidConfig(path: folder.appendingPathComponent("config.json").path,
                reason: "eos_token_id \(config.eosTokenID) is outside the vocabulary of \(config.vocabSize)")
        }
    }

    // MARK: Embeddings

    /// Token ids as the text tower reads them (start and end tokens, truncated).
    public func tokenize(_ text: String) -> [Int32] {
        precondition(tokenizer != nil, "this CLIP model has no text tower")
        return tokenizer!.encode(text)
    }

    /// Projected text embeddings (`text_embeds` before normalisation), in batches.
    public func textEmbeddings(_ texts: [String], batchSize: Int = 32) -> [[Float]] {
        textEmbeddings(tokenIDs: texts.map(tokenize), batchSize: batchSize)
    }

    public func textEmbeddings(tokenIDs ids: [[Int32]], batchSize: Int = 32) -> [[Float]] {
        guard let text, let ws = textWorkspace else { preconditionFailure("this CLIP model has no text tower") }
        var out = [[Float]](repeating: [], count: ids.count)
        textLock.lock()
        defer { textLock.unlock() }
        var start = 0
        while start < ids.count {
            let end = min(ids.count, start + max(1, batchSize))
            let batch = Parallel.sharingCores { text.embed(Array(ids[start..<end]), workspace: ws) }
            for (i, v) in batch.enumerated() { out[start + i] = v }
            start = end
        }
        return out
    }

    /// Projected image embeddings (`image_embeds` before normalisation) of
    /// preprocessed images, each (height, width, 3) floats, channels last.
    public func imageEmbeddings(_ images: [[Float]], height: Int, width: Int, batchSize: Int = 8) -> [[Float]] {
        guard let vision, let ws = visionWorkspace else { preconditionFailure("this CLIP model has no vision tower") }
        var out: [[Float]] = []
        out.reserveCapacity(images.count)
        visionLock.lock()
        defer { visionLock.unlock() }
        var start = 0
        while start < images.count {
            let end = min(images.count, start + max(1, batchSize))
            out += Parallel.sharingCores { vision.embed(Array(images[start..<end]), height: height, width: width, workspace: ws) }
            start = end
        }
        return out
    }

    /// x / max(‖x‖, 1e-12), as the reference normalises `image_embeds` and `text_embeds`.
    public static func normalized(_ v: [Float]) -> [Float] { VectorMath.l2Normalized(v) }

    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "cosine of vectors of \(a.count) and \(b.count) values")
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<a.count { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        return dot / max((na * nb).squareRoot(), 1e-12)
    }
}
