import Foundation

/// Run state of a CLIP vision tower: the encoder's activations, the patch
/// matrix and the position table of the last grid size, allocated for the
/// largest batch seen and reused (a forward pass allocates nothing in
/// steady state).
public final class CLIPVisionWorkspace {
    let encoder: TransformerWorkspace
    var patches: UnsafeMutablePointer<Float>          // (B·N, 3·p·p) the batch's patches
    var patchCapacity = 0
    /// Position embeddings interpolated for a grid other than the checkpoint's.
    var positions: (gridH: Int, gridW: Int, table: [Float])?   // (1 + gridH·gridW, H)
    var pooled: [Float]                                  // (H)

    public init(config: CLIPVisionConfig) {
        encoder = TransformerWorkspace(config: config.transformer)
        patches = .allocate(capacity: 1)
        pooled = [Float](repeating: 0, count: config.hiddenSize)
    }

    deinit { patches.deallocate() }

    func reservePatches(_ count: Int) {
        guard count > patchCapacity else { return }
        patches.deallocate()
        patches = .allocate(capacity: count)
        patchCapacity = count
    }
}

/// The vision half of a Hugging Face `CLIPModel` (`vision_model.*` and
/// `visual_projection`): patch embedding (a convolution with stride = kernel,
/// done as im2col + one sgemm), class token, learned position embeddings
/// (bicubically interpolated, as transformers' `interpolate_pos_encoding`,
/// when the input grid differs from the checkpoint's), `pre_layrnorm`, the
/// shared pre-LN encoder, `post_layernorm` of the class token, projection.
public struct CLIPVisionTower: Sendable {
    public let config: CLIPVisionConfig
    public let projectionDim: Int
    public let classEmbedding: FloatTensor        // (H)
    public let patchEmbedding: FloatTensor        // (H, 3, p, p), used as (H, 3·p·p)
    public let positionEmbedding: FloatTensor     // (1 + grid², H)
    public let preLayrnormW, preLayrnormB: FloatTensor     // (H)
    public let encoder: TransformerEncoder
    public let postLayernormW, postLayernormB: FloatTensor // (H)
    public let visualProjection: FloatTensor      // (P, H)
    public let checkpoint: SafeTensorsFile

    /// - Parameters:
    ///   - prefix: "vision_model." in both the CLIPModel and the
    ///     CLIPVisionModelWithProjection layouts.
    public init(config: CLIPVisionConfig, projectionDim: Int, checkpoint st: SafeTensorsFile, prefix: String = "vision_model.",
                precision: MatMulPrecision = .automatic) throws {
        self.config = config
        self.projectionDim = projectionDim
        self.checkpoint = st
        let H = config.hiddenSize, p = config.patchSize
        func t(_ name: String, _ shape: [Int]) throws -> FloatTensor { try st.floatTensor(prefix + name, shape: shape) }
        classEmbedding = try t("embeddings.class_embedding", [H])
        patchEmbedding = try t("embeddings.patch_embedding.weight", [H, config.numChannels, p, p])
        if st.tensors[prefix + "embeddings.patch_embedding.bias"] != nil {
            throw ModelError.invalidConfig(path: st.path, reason: "tensor '\(prefix)embeddings.patch_embedding.bias' is unexpected: CLIP's patch embedding has no bias")
        }
        positionEmbedding = try t("embeddings.position_embedding.weight", [config.grid * config.grid + 1, H])
        preLayrnormW = try t("pre_layrnorm.weight", [H])
        preLayrnormB = try t("pre_layrnorm.bias", [H])
        encoder = try TransformerEncoder(clipLayersOf: st, prefix: prefix + "encoder.layers.", config: config.transformer, precision: precision)
        postLayernormW = try t("post_layernorm.weight", [H])
        postLayernormB = try t("post_layernorm.bias", [H])
        visualProjection = try st.floatTensor("visual_projection.weight", shape: [projectionDim, H])
    }

    public func makeWorkspace() -> CLIPVisionWorkspace { CLIPVisionWorkspace(config: config) }

    /// Projected image embeddings (`image_embeds` before normalisation) of a
    /// batch of images of one size, each (height, width, 3) floats, channels
    /// last, already normalised. A size that is not a multiple of the patch
    /// size drops the remainder, as the convolution does.
    public func embed(_ images: [[Float]], height: Int, width: Int, workspace ws: CLIPVisionWorkspace) -> [[Float]] {
        let H = config.hiddenSize, p = config.patchSize
        let gridH = height / p, gridW = width / p
        precondition(gridH > 0 && gridW > 0, "image \(width)x\(height) is smaller than one \(p)-pixel patch")
        let N = gridH * gridW, L = N + 1, K = 3 * p * p
        let B = images.count
        ws.encoder.reserve(tokens: B * L, longest: L)
        ws.reservePatches(B * N * K)
        // im2col of every image: row b·N + n = patch n = (gy, gx) of image b,
        // column c·p² + ky·p + kx, as the weight is laid out.
        for (b, image) in images.enumerated() {
            precondition(image.count == height * width * 3, "image has \(image.count) values, expected \(height)x\(width)x3")
            let patches = ws.patches + b * N * K      // (N, K)
            image.withUnsafeBufferPointer { px in
                for gy in 0..<gridH {
                    for gx in 0..<gridW {
                        let row = patches + (gy * gridW + gx) * K
                        for ky in 0..<p {
                            let src = px.baseAddress! + ((gy * p + ky) * width + gx * p) * 3
                            for kx in 0..<p {
                                row[ky * p + kx] = src[kx * 3]
                                row[p * p + ky * p + kx] = src[kx * 3 + 1]
                                row[2 * p * p + ky * p + kx] = src[kx * 3 + 2]
                            }
                        }
                    }
                }
            }
        }
        // One product for the whole batch (the weight is packed once, not
        // once per image): embedded (B·N, H) = patches · Wᵀ, in the encoder's
        // scratch buffer, which holds B·L ≥ B·N rows.
        let embedded = ws.encoder.tmp
        BLAS.gemm(MatrixRef(ws.patches, rows: B * N, cols: K),
                  MatrixRef(patchEmbedding.pointer, rows: H, cols: K), transposeB: true,
                  MutableMatrixRef(embedded, rows: B * N, cols: H))
        // x (B·L, H): per image the class token, then its patches, plus positions.
        withPositions(gridH: gridH, gridW: gridW, workspace: ws) { pos in
            for b in 0..<B {
                let x = ws.encoder.x + b * L * H
                for i in 0..<H { x[i] = pos[i] + classEmbedding[i] }
                let e = embedded + b * N * H
                for i in 0..<(N * H) { x[H + i] = pos[H + i] + e[i] }
            }
        }
        MathKernels.layerNorm(ws.encoder.x, rows: B * L, n: H, gamma: preLayrnormW.pointer, beta: preLayrnormB.pointer, eps: config.layerNormEps)
        encoder.forward(lengths: [Int](repeating: L, count: B), workspace: ws.encoder)
        return (0..<B).map { b in
            ws.pooled.withUnsafeMutableBufferPointer { pooled in
                pooled.baseAddress!.update(from: ws.encoder.x + b * L * H, count: H)
                MathKernels.layerNorm(pooled.baseAddress!, rows: 1, n: H, gamma: postLayernormW.pointer, beta: postLayernormB.pointer, eps: config.layerNormEps)
                return CLIPProjection.apply(visualProjection, to: UnsafePointer(pooled.baseAddress!))
            }
        }
    }

    /// Calls `body` with the position table (1 + gridH·gridW, H) of a grid:
    /// the checkpoint's own for its grid, else its patch part resized
    /// bicubically (computed once per grid size and kept in the workspace).
    func withPositions(gridH: Int, gridW: Int, workspace ws: CLIPVisionWorkspace, _ body: (UnsafePointer<Float>) -> Void) {
        let H = config.hiddenSize, g = config.grid
        if gridH == g && gridW == g { return withExtendedLifetime(positionEmbedding) { body(positionEmbedding.pointer) } }
        if ws.positions?.gridH != gridH || ws.positions?.gridW != gridW {
            let resized = BicubicInterpolation.resize(positionEmbedding.pointer + H, height: g, width: g, channels: H,
                                                      toHeight: gridH, width: gridW)
            ws.positions = (gridH, gridW, Array(positionEmbedding.buffer[0..<H]) + resized)
        }
        ws.positions!.table.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// y = W·x for a bias-free projection W (P, H).
enum CLIPProjection {
    static func apply(_ w: FloatTensor, to x: UnsafePointer<Float>) -> [Float] {
        let (P, H) = (w.shape[0], w.shape[1])
        var y = [Float](repeating: 0, count: P)
        y.withUnsafeMutableBufferPointer { out in
            BLAS.gemm(MatrixRef(x, rows: 1, cols: H), MatrixRef(w.pointer, rows: P, cols: H), transposeB: true,
                      MutableMatrixRef(out.baseAddress!, rows: 1, cols: P), parallel: false)
        }
        return y
    }
}
