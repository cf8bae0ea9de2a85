import Foundation

/// `config.json` of a Hugging Face BERT folder, the fields revsd needs.
public struct BertConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var hiddenAct: TransformerConfig.Activation
    public var layerNormEps: Float
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int

    public init(json: [String: Any], path: String) throws {
        func int(_ key: String) throws -> Int {
            guard let v = json[key] as? Int, v > 0 else {
                throw ModelError.invalidConfig(path: path, reason: "'\(key)' is missing or not a positive integer")
            }
            return v
        }
        if let type = json["model_type"] as? String, type != "bert" {
            throw ModelError.invalidConfig(path: path, reason: "model_type is '\(type)', expected 'bert'")
        }
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        numHiddenLayers = try int("num_hidden_layers")
        numAttentionHeads = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        maxPositionEmbeddings = try int("max_position_embeddings")
        typeVocabSize = (json["type_vocab_size"] as? Int) ?? 2
        let act = (json["hidden_act"] as? String) ?? "gelu"
        guard let a = TransformerConfig.Activation(rawValue: act) else {
            throw ModelError.invalidConfig(path: path, reason: "hidden_act '\(act)' is not supported (gelu, quick_gelu)")
        }
        hiddenAct = a
        layerNormEps = Float((json["layer_norm_eps"] as? Double) ?? 1e-12)
        guard hiddenSize % numAttentionHeads == 0 else {
            throw ModelError.invalidConfig(path: path, reason: "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        if let pos = json["position_embedding_type"] as? String, pos != "absolute" {
            throw ModelError.invalidConfig(path: path, reason: "position_embedding_type '\(pos)' is not supported (absolute)")
        }
    }

    public var transformer: TransformerConfig {
        TransformerConfig(hidden: hiddenSize, heads: numAttentionHeads, intermediate: intermediateSize,
                          layers: numHiddenLayers, layerNormEps: layerNormEps, activation: hiddenAct,
                          normPlacement: .post, causal: false)
    }
}

/// A BERT encoder (Hugging Face `BertModel`) over a memory-mapped checkpoint.
/// Weight names mirror the checkpoint's, so this reads beside the file.
public struct BertModel: Sendable {
    public let config: BertConfig
    public let wordEmbeddings: FloatTensor       // (vocab, H)
    public let positionEmbeddings: FloatTensor   // (maxPos, H)
    public let tokenTypeEmbeddings: FloatTensor  // (types, H)
    public let embeddingsNormW: FloatTensor      // (H)
    public let embeddingsNormB: FloatTensor      // (H)
    public let encoder: TransformerEncoder
    /// The checkpoint, kept mapped for the zero-copy weights.
    public let checkpoint: SafeTensorsFile

    public init(folder: URL, precision: MatMulPrecision = .automatic) throws {
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelError.missingFile(path: configURL.path, what: "model configuration")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: configURL.path, reason: "not a JSON object")
        }
        let config = try BertConfig(json: json, path: configURL.path)
        let weightsPath = folder.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw ModelError.missingFile(path: weightsPath, what: "model weights (only safetensors is read)")
        }
        try self.init(config: config, checkpoint: SafeTensorsFile(path: weightsPath), precision: precision)
    }

    public init(config: BertConfig, checkpoint st: SafeTensorsFile, precision: MatMulPrecision = .automatic) throws {
        self.config = config
        self.checkpoint = st
        let H = config.hiddenSize, I = config.intermediateSize
        // Checkpoints saved from BertFor* heads prefix every name with "bert.".
        let prefix = st.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws -> FloatTensor {
            try st.floatTensor(prefix + name, shape: shape)
        }
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [config.vocabSize, H])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, H])
        tokenTypeEmbeddings = try t("embeddings.token_type_embeddings.weight", [config.typeVocabSize, H])
        embeddingsNormW = try t("embeddings.LayerNorm.weight", [H])
        embeddingsNormB = try t("embeddings.LayerNorm.bias", [H])
        var layers: [TransformerLayerWeights] = []
        for i in 0..<config.numHiddenLayers {
            let p = "encoder.layer.\(i)."
            layers.append(TransformerLayerWeights(
                qW: try t(p + "attention.self.query.weight", [H, H]), qB: try t(p + "attention.self.query.bias", [H]),
                kW: try t(p + "attention.self.key.weight", [H, H]), kB: try t(p + "attention.self.key.bias", [H]),
                vW: try t(p + "attention.self.value.weight", [H, H]), vB: try t(p + "attention.self.value.bias", [H]),
                oW: try t(p + "attention.output.dense.weight", [H, H]), oB: try t(p + "attention.output.dense.bias", [H]),
                norm1W: try t(p + "attention.output.LayerNorm.weight", [H]), norm1B: try t(p + "attention.output.LayerNorm.bias", [H]),
                fc1W: try t(p + "intermediate.dense.weight", [I, H]), fc1B: try t(p + "intermediate.dense.bias", [I]),
                fc2W: try t(p + "output.dense.weight", [H, I]), fc2B: try t(p + "output.dense.bias", [H]),
                norm2W: try t(p + "output.LayerNorm.weight", [H]), norm2B: try t(p + "output.LayerNorm.bias", [H])))
        }
        encoder = TransformerEncoder(config: config.transformer, layers: layers, precision: precision)
    }

    /// Last hidden states of a packed batch: on return `ws.x` holds
    /// (Σ lengths, H), the rows of each sequence in order.
    public func forward(_ sequences: [[Int32]], workspace ws: TransformerWorkspace) {
        let H = config.hiddenSize
        let lengths = sequences.map(\.count)
        let T = lengths.reduce(0, +)
        ws.reserve(tokens: T, longest: lengths.max() ?? 0)
        // Embeddings: word + position + token type 0, then layer norm.
        var row = 0
        let type0 = tokenTypeEmbeddings.pointer
        for seq in sequences {
            precondition(seq.count <= config.maxPositionEmbeddings, "sequence longer than the position table")
            for (pos, id) in seq.enumerated() {
                precondition(id >= 0 && Int(id) < config.vocabSize, "token id \(id) outside the vocabulary")
                let dst = ws.x + row * H
                let w = wordEmbeddings.pointer + Int(id) * H
                let p = positionEmbeddings.pointer + pos * H
                for i in 0..<H { dst[i] = w[i] + p[i] + type0[i] }
                row += 1
            }
        }
        MathKernels.layerNorm(ws.x, rows: T, n: H, gamma: embeddingsNormW.pointer, beta: embeddingsNormB.pointer,
                              eps: config.layerNormEps)
        encoder.forward(lengths: lengths, workspace: ws)
    }
}
