import Foundation

/// The text half of a Hugging Face `CLIPModel` (`text_model.*` and
/// `text_projection`): token + position embeddings, the shared pre-LN
/// encoder with a causal mask, `final_layer_norm` of the pooled token (the
/// end token: see `CLIPTextConfig.eosTokenID`), projection.
///
/// With a causal mask no token sees the ones after it, so a sequence
/// computed alone, unpadded, gives the end token the same state as the
/// reference's 77-token padded batch.
public struct CLIPTextTower: Sendable {
    public let config: CLIPTextConfig
    public let projectionDim: Int
    public let tokenEmbedding: FloatTensor       // (V, H)
    public let positionEmbedding: FloatTensor    // (maxPos, H)
    public let encoder: TransformerEncoder
    public let finalLayerNormW, finalLayerNormB: FloatTensor   // (H)
    public let textProjection: FloatTensor       // (P, H)
    public let checkpoint: SafeTensorsFile

    /// - Parameters:
    ///   - prefix: "text_model." in both the CLIPModel and the
    ///     CLIPTextModelWithProjection layouts.
    public init(config: CLIPTextConfig, projectionDim: Int, checkpoint st: SafeTensorsFile, prefix: String = "text_model.",
                precision: MatMulPrecision = .automatic) throws {
        self.config = config
        self.projectionDim = projectionDim
        self.checkpoint = st
        let H = config.hiddenSize
        func t(_ name: String, _ shape: [Int]) throws -> FloatTensor { try st.floatTensor(prefix + name, shape: shape) }
        tokenEmbedding = try t("embeddings.token_embedding.weight", [config.vocabSize, H])
        positionEmbedding = try t("embeddings.position_embedding.weight", [config.maxPositionEmbeddings, H])
        encoder = try TransformerEncoder(clipLayersOf: st, prefix: prefix + "encoder.layers.", config: config.transformer, precision: precision)
        finalLayerNormW = try t("final_layer_norm.weight", [H])
        finalLayerNormB = try t("final_layer_norm.bias", [H])
        textProjection = try st.floatTensor("text_projection.weight", shape: [projectionDim, H])
    }

    public func makeWorkspace() -> TransformerWorkspace { TransformerWorkspace(config: config.transformer) }

    /// The position whose state is pooled: the first end token (or, under
    /// the legacy rule, the first highest id); 0 when there is none, as the
    /// reference's argmax over all-false gives.
    public func poolingIndex(_ ids: [Int32]) -> Int {
        if config.poolsAtHighestID {
            guard let m = ids.max() else { return 0 }
            return ids.firstIndex(of: m) ?? 0
        }
        return ids.firstIndex(of: Int32(config.eosTokenID)) ?? 0
    }

    /// Projected text embeddings (`text_embeds` before normalisation) of a
    /// batch of token-id sequences (start and end tokens included).
    public func embed(_ sequences: [[Int32]], workspace ws: TransformerWorkspace) -> [[Float]] {
        let H = config.hiddenSize
        let lengths = sequences.map(\.count)
        let T = lengths.reduce(0, +)
        ws.reserve(tokens: T, longest: lengths.max() ?? 0)
        var row = 0
        for seq in sequences {
            precondition(!seq.isEmpty && seq.count <= config.maxPositionEmbeddings,
                         "sequence of \(seq.count) tokens; the position table holds \(config.maxPositionEmbeddings)")
            for (pos, id) in seq.enumerated() {
                precondition(id >= 0 && Int(id) < config.vocabSize, "token id \(id) outside the vocabulary")
                let dst = ws.x + row * H
                let w = tokenEmbedding.pointer + Int(id) * H
                let p = positionEmbedding.pointer + pos * H
                for i in 0..<H { dst[i] = w[i] + p[i] }
                row += 1
            }
        }
        encoder.forward(lengths: lengths, workspace: ws)
        var pooled = [Float](repeating: 0, count: H)
        var start = 0
        return sequences.map { seq in
            defer { start += seq.count }
            return pooled.withUnsafeMutableBufferPointer { out in
                out.baseAddress!.update(from: ws.x + (start + poolingIndex(seq)) * H, count: H)
                // The final layer norm acts per row: only the pooled row is needed.
                MathKernels.layerNorm(out.baseAddress!, rows: 1, n: H, gamma: finalLayerNormW.pointer, beta: finalLayerNormB.pointer,
                                      eps: config.layerNormEps)
                return CLIPProjection.apply(textProjection, to: UnsafePointer(out.baseAddress!))
            }
        }
    }
}

extension TransformerEncoder {
    /// The layers of a CLIP encoder, named as in the checkpoint:
    /// `<prefix>N.self_attn.{q,k,v,out}_proj`, `layer_norm1`, `mlp.fc1`,
    /// `mlp.fc2`, `layer_norm2`.
    init(clipLayersOf st: SafeTensorsFile, prefix: String, config: TransformerConfig, precision: MatMulPrecision) throws {
        let H = config.hidden, I = config.intermediate
        var layers: [TransformerLayerWeights] = []
        for i in 0..<config.layers {
            let p = prefix + "\(i)."
            func t(_ name: String, _ shape: [Int]) throws -> FloatTensor { try st.floatTensor(p + name, shape: shape) }
            layers.append(TransformerLayerWeights(
                qW: try t("self_attn.q_proj.weight", [H, H]), qB: try t("self_attn.q_proj.bias", [H]),
                kW: try t("self_attn.k_proj.weight", [H, H]), kB: try t("self_attn.k_proj.bias", [H]),
                vW: try t("self_attn.v_proj.weight", [H, H]), vB: try t("self_attn.v_proj.bias", [H]),
                oW: try t("self_attn.out_proj.weight", [H, H]), oB: try t("self_attn.out_proj.bias", [H]),
                norm1W: try t("layer_norm1.weight", [H]), norm1B: try t("layer_norm1.bias", [H]),
                fc1W: try t("mlp.fc1.weight", [I, H]), fc1B: try t("mlp.fc1.bias", [I]),
                fc2W: try t("mlp.fc2.weight", [H, I]), fc2B: try t("mlp.fc2.bias", [H]),
                norm2W: try t("layer_norm2.weight", [H]), norm2B: try t("layer_norm2.bias", [H])))
        }
        // One layer more than the configuration says is a mismatch too.
        if st.tensors[prefix + "\(config.layers).layer_norm1.weight"] != nil {
            throw ModelError.invalidConfig(path: st.path, reason: "the checkpoint has more than the \(config.layers) layers of \(prefix.dropLast()) that config.json declares")
        }
        self.init(config: config, layers: layers, precision: precision)
    }
}
