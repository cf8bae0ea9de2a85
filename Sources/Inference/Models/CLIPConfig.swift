import Foundation

/// `vision_config` of a Hugging Face CLIP folder (or the top level of a
/// `CLIPVisionModelWithProjection` folder). Absent keys take the defaults of
/// transformers' `CLIPVisionConfig` (openai/clip-vit-base-patch32).
public struct CLIPVisionConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numChannels: Int
    public var imageSize: Int
    public var patchSize: Int
    public var hiddenAct: TransformerConfig.Activation
    public var layerNormEps: Float

    public init(hiddenSize: Int = 768, intermediateSize: Int = 3072, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                numChannels: Int = 3, imageSize: Int = 224, patchSize: Int = 32,
                hiddenAct: TransformerConfig.Activation = .quickGelu, layerNormEps: Float = 1e-5) {
        self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize; self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads; self.numChannels = numChannels; self.imageSize = imageSize
        self.patchSize = patchSize; self.hiddenAct = hiddenAct; self.layerNormEps = layerNormEps
    }

    public init(json: [String: Any], path: String) throws {
        let r = CLIPConfigReader(json: json, path: path, section: "vision_config")
        self.init(hiddenSize: try r.int("hidden_size", 768), intermediateSize: try r.int("intermediate_size", 3072),
                  numHiddenLayers: try r.int("num_hidden_layers", 12), numAttentionHeads: try r.int("num_attention_heads", 12),
                  numChannels: try r.int("num_channels", 3), imageSize: try r.square("image_size", 224),
                  patchSize: try r.square("patch_size", 32), hiddenAct: try r.activation(), layerNormEps: try r.float("layer_norm_eps", 1e-5))
        guard numChannels == 3 else { throw r.error("num_channels is \(numChannels); only RGB (3) is supported") }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw r.error("hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard imageSize >= patchSize else { throw r.error("image_size \(imageSize) is smaller than patch_size \(patchSize)") }
    }

    /// Patches per side at the configured size.
    public var grid: Int { imageSize / patchSize }

    public var transformer: TransformerConfig {
        TransformerConfig(hidden: hiddenSize, heads: numAttentionHeads, intermediate: intermediateSize, layers: numHiddenLayers,
                          layerNormEps: layerNormEps, activation: hiddenAct, normPlacement: .pre, causal: false)
    }
}

/// `text_config` of a Hugging Face CLIP folder (or the top level of a
/// `CLIPTextModelWithProjection` folder), with `CLIPTextConfig`'s defaults.
public struct CLIPTextConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var maxPositionEmbeddings: Int
    public var hiddenAct: TransformerConfig.Activation
    public var layerNormEps: Float
    /// 2 in configurations written before transformers PR #24773: the text
    /// is then pooled at its highest token id (the end token of a real CLIP
    /// vocabulary), else at the first occurrence of this id.
    public var eosTokenID: Int

    public init(json: [String: Any], path: String) throws {
        let r = CLIPConfigReader(json: json, path: path, section: "text_config")
        vocabSize = try r.int("vocab_size", 49408)
        hiddenSize = try r.int("hidden_size", 512)
        intermediateSize = try r.int("intermediate_size", 2048)
        numHiddenLayers = try r.int("num_hidden_layers", 12)
        numAttentionHeads = try r.int("num_attention_heads", 8)
        maxPositionEmbeddings = try r.int("max_position_embeddings", 77)
        hiddenAct = try r.activation()
        layerNormEps = try r.float("layer_norm_eps", 1e-5)
        if let list = json["eos_token_id"] as? [Int] {
            guard let first = list.first else { throw r.error("eos_token_id is an empty list") }
            eosTokenID = first
        } else {
            eosTokenID = try r.int("eos_token_id", 49407, allowZero: true)
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw r.error("hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
    }

    /// Pooling at the argmax of the token ids (the legacy rule).
    public var poolsAtHighestID: Bool { eosTokenID == 2 }

    public var transformer: TransformerConfig {
        TransformerConfig(hidden: hiddenSize, heads: numAttentionHeads, intermediate: intermediateSize, layers: numHiddenLayers,
                          layerNormEps: layerNormEps, activation: hiddenAct, normPlacement: .pre, causal: true)
    }
}

/// What a CLIP folder's `config.json` describes: both towers (`CLIPModel`,
/// model_type "clip") or one (`clip_vision_model`, `clip_text_model`).
public struct CLIPConfig: Sendable, Equatable {
    public var vision: CLIPVisionConfig?
    public var text: CLIPTextConfig?
    /// Width of the joint embedding space.
    public var projectionDim: Int

    public init(json: [String: Any], path: String) throws {
        let type = json["model_type"] as? String
        func section(_ key: String) throws -> [String: Any] {
            var merged = json[key] as? [String: Any] ?? [:]
            // Old configurations carry the values in "<key>_dict", which wins.
            if let legacy = json[key + "_dict"] as? [String: Any] { merged.merge(legacy) { $1 } }
            if json[key] != nil && !(json[key] is [String: Any]) && !(json[key] is NSNull) {
                throw ModelError.invalidConfig(path: path, reason: "\(key) is not an object")
            }
            return merged
        }
        let top = CLIPConfigReader(json: json, path: path, section: nil)
        switch type {
        case "clip":
            vision = try CLIPVisionConfig(json: try section("vision_config"), path: path)
            text = try CLIPTextConfig(json: try section("text_config"), path: path)
            projectionDim = try top.int("projection_dim", 512)
        case "clip_vision_model":
            vision = try CLIPVisionConfig(json: json, path: path)
            projectionDim = try top.int("projection_dim", 512)
        case "clip_text_model":
            text = try CLIPTextConfig(json: json, path: path)
            projectionDim = try top.int("projection_dim", 512)
        default:
            throw ModelError.invalidConfig(path: path, reason: "model_type is \(type.map { "'\($0)'" } ?? "missing"); expected 'clip', 'clip_vision_model' or 'clip_text_model'")
        }
    }

    /// Reads `config.json` in `folder`.
    public init(folder: URL) throws {
        let path = folder.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.missingFile(path: path, what: "CLIP model configuration")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: path, reason: "not a JSON object")
        }
        try self.init(json: json, path: path)
    }
}

/// Typed access to one section of a CLIP config, with errors that name the
/// file, the section and the key.
struct CLIPConfigReader {
    let json: [String: Any]
    let path: String
    let section: String?

    func error(_ reason: String) -> ModelError {
        .invalidConfig(path: path, reason: section.map { "\($0): " + reason } ?? reason)
    }

    func int(_ key: String, _ fallback: Int, allowZero: Bool = false) throws -> Int {
        guard let v = json[key], !(v is NSNull) else { return fallback }
        guard let n = v as? Int, n > 0 || (allowZero && n == 0) else {
            throw error("'\(key)' is not a positive integer")
        }
        return n
    }

    func float(_ key: String, _ fallback: Float) throws -> Float {
        guard let v = json[key], !(v is NSNull) else { return fallback }
        guard let d = v as? Double, d > 0, d < 1 else { throw error("'\(key)' is not a small positive number") }
        return Float(d)
    }

    /// An int, or a [height, width] pair with equal sides.
    func square(_ key: String, _ fallback: Int) throws -> Int {
        if let pair = json[key] as? [Int] {
            guard pair.count == 2, pair[0] == pair[1], pair[0] > 0 else {
                throw error("'\(key)' is \(pair); only square sizes are supported")
            }
            return pair[0]
        }
        return try int(key, fallback)
    }

    func activation() throws -> TransformerConfig.Activation {
        guard let v = json["hidden_act"], !(v is NSNull) else { return .quickGelu }
        guard let name = v as? String, let a = TransformerConfig.Activation(rawValue: name) else {
            throw error("hidden_act '\(v)' is not supported (gelu, quick_gelu)")
        }
        return a
    }
}
