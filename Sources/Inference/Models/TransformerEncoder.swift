/// The transformer encoder stack shared by BERT (post-LN, bidirectional) and
/// the CLIP towers (pre-LN, causal in the text tower), switched by config.
///
/// Sequences are *packed*: a batch of sequences of different lengths is one
/// (tokens, hidden) matrix with no padding rows, so every dense layer is one
/// sgemm over exactly the real tokens, and attention runs per sequence. The
/// result equals the padded-and-masked computation of the reference (padding
/// keys get zero weight there) without spending work on padding.
public struct TransformerConfig: Sendable, Equatable {
    public enum Activation: String, Sendable {
        case gelu
        case quickGelu = "quick_gelu"
    }
    public enum NormPlacement: Sendable { case post, pre }

    public var hidden: Int
    public var heads: Int
    public var intermediate: Int
    public var layers: Int
    public var layerNormEps: Float
    public var activation: Activation
    public var normPlacement: NormPlacement
    public var causal: Bool

    public init(hidden: Int, heads: Int, intermediate: Int, layers: Int, layerNormEps: Float,
                activation: Activation, normPlacement: NormPlacement, causal: Bool) {
        self.hidden = hidden; self.heads = heads; self.intermediate = intermediate; self.layers = layers
        self.layerNormEps = layerNormEps; self.activation = activation
        self.normPlacement = normPlacement; self.causal = causal
    }

    public var headDim: Int { hidden / heads }
}

/// One layer's parameters, named by role. For post-LN (BERT) `norm1` follows
/// attention and `norm2` follows the MLP; for pre-LN (CLIP) they precede them.
public struct TransformerLayerWeights: Sendable {
    public var qW, qB, kW, kB, vW, vB, oW, oB: FloatTensor   // (H, H), (H)
    public var norm1W, norm1B: FloatTensor                     // (H)
    public var fc1W, fc1B: FloatTensor                         // (I, H), (I)
    public var fc2W, fc2B: FloatTensor                         // (H, I), (H)
    public var norm2W, norm2B: FloatTensor                     // (H)

    public init(qW: FloatTensor, qB: FloatTensor, kW: FloatTensor, kB: FloatTensor, vW: FloatTensor, vB: FloatTensor,
                oW: FloatTensor, oB: FloatTensor, norm1W: FloatTensor, norm1B: FloatTensor,
                fc1W: FloatTensor, fc1B: FloatTensor, fc2W: FloatTensor, fc2B: FloatTensor,
                norm2W: FloatTensor, norm2B: FloatTensor) {
        self.qW = qW; self.qB = qB; self.kW = kW; self.kB = kB; self.vW = vW; self.vB = vB
        self.oW = oW; self.oB = oB; self.norm1W = norm1W; self.norm1B = norm1B
        self.fc1W = fc1W; self.fc1B = fc1B; self.fc2W = fc2W; self.fc2B = fc2B
        self.norm2W = norm2W; self.norm2B = norm2B
    }
}

/// Activation buffers, allocated once for a token capacity and reused; a
/// forward pass allocates nothing unless a batch outgrows them.
public final class TransformerWorkspace {
    public private(set) var capacity = 0
    public private(set) var maxSequence = 0
    let hidden: Int
    let intermediate: Int
    public private(set) var x: UnsafeMutablePointer<Float>      // (T, H) the residual stream
    var q, k, v, ctx, tmp: UnsafeMutablePointer<Float>           // (T, H)
    var inter: UnsafeMutablePointer<Float>                       // (T, I)
    var rounded: UnsafeMutablePointer<UInt16>                    // (T, max(H, I)): a product's input in bfloat16
    var scores: [UnsafeMutablePointer<Float>]                    // per worker: (L, L)

    public init(config: TransformerConfig) {
        hidden = config.hidden
        intermediate = config.intermediate
        x = .allocate(capacity: 1); q = .allocate(capacity: 1); k = .allocate(capacity: 1)
        v = .allocate(capacity: 1); ctx = .allocate(capacity: 1); tmp = .allocate(capacity: 1)
        inter = .allocate(capacity: 1)
        rounded = .allocate(capacity: 1)
        scores = (0..<Parallel.cores).map { _ in .allocate(capacity: 1) }
    }

    deinit {
        for p in [x, q, k, v, ctx, tmp, inter] + scores { p.deallocate() }
        rounded.deallocate()
    }

    /// Grows the buffers to hold `tokens` rows and sequences of `longest`.
    public func reserve(tokens: Int, longest: Int) {
        if tokens > capacity {
            let n = max(tokens, capacity + capacity / 2)
            for p in [x, q, k, v, ctx, tmp, inter] { p.deallocate() }
            x = .allocate(capacity: n * hidden); q = .allocate(capacity: n * hidden)
            k = .allocate(capacity: n * hidden); v = .allocate(capacity: n * hidden)
            ctx = .allocate(capacity: n * hidden); tmp = .allocate(capacity: n * hidden)
            inter = .allocate(capacity: n * intermediate)
            rounded.deallocate()
            rounded = .allocate(capacity: n * max(hidden, intermediate))
            capacity = n
        }
        if longest > maxSequence {
            for p in scores { p.deallocate() }
            scores = scores.map { _ in .allocate(capacity: longest * longest) }
            maxSequence = longest
        }
    }
}

/// The precision of a transformer's dense layers: fp32 through OpenBLAS, or
/// bfloat16 inputs with fp32 accumulation through oneDNN (`BFloat16MatMul`).
public enum MatMulPrecision: String, Sendable {
    case float32 = "fp32"
    case bfloat16 = "bf16"

    /// bfloat16 where this machine runs it natively (`BFloat16MatMul.isAvailable`), else fp32.
    public static var automatic: MatMulPrecision { BFloat16MatMul.isAvailable ? .bfloat16 : .float32 }
}

public struct TransformerEncoder: Sendable {
    public let config: TransformerConfig
    public let layers: [TransformerLayerWeights]
    /// Per layer, its six dense weights rounded to bfloat16 (nil: fp32).
    let rounded: [RoundedLayer]?
    public var precision: MatMulPrecision { rounded == nil ? .float32 : .bfloat16 }

    struct RoundedLayer: Sendable {
        let q, k, v, o, fc1, fc2: BFloat16Weight
        init(_ w: TransformerLayerWeights) {
            q = BFloat16Weight(w.qW); k = BFloat16Weight(w.kW); v = BFloat16Weight(w.vW)
            o = BFloat16Weight(w.oW); fc1 = BFloat16Weight(w.fc1W); fc2 = BFloat16Weight(w.fc2W)
        }
    }

    public init(config: TransformerConfig, layers: [TransformerLayerWeights], precision: MatMulPrecision = .automatic) {
        precondition(config.hidden % config.heads == 0, "hidden size must be divisible by heads")
        precondition(layers.count == config.layers, "expected \(config.layers) layers, got \(layers.count)")
        self.config = config
        self.layers = layers
        rounded = precision == .bfloat16 && BFloat16MatMul.isAvailable ? layers.map(RoundedLayer.init) : nil
    }

    /// Runs every layer over `ws.x`, which holds the packed input embeddings
    /// (Σ lengths, H) on entry and the last hidden states on return.
    public func forward(lengths: [Int], workspace ws: TransformerWorkspace) {
        BLAS.useCallerThreads
        let T = lengths.reduce(0, +)
        let H = config.hidden
        let I = config.intermediate
        precondition(ws.capacity >= T && ws.maxSequence >= (lengths.max() ?? 0), "workspace too small")
        let xs = MatrixRef(ws.x, rows: T, cols: H)
        for (index, w) in layers.enumerated() {
            let r = rounded?[index]
            switch config.normPlacement {
            case .post:
                // q, k, v = x·Wᵀ + b
                qkv(xs, w, r, ws, tokens: T)
                attention(lengths: lengths, ws: ws)
                // tmp = LN1(x + ctx·Woᵀ + bo)
                dense(MatrixRef(ws.ctx, rows: T, cols: H), w.oW, w.oB, r?.o, residual: ws.x, into: MutableMatrixRef(ws.tmp, rows: T, cols: H), ws)
                MathKernels.layerNorm(ws.tmp, rows: T, n: H, gamma: w.norm1W.pointer, beta: w.norm1B.pointer, eps: config.layerNormEps)
                // x = LN2(tmp + act(tmp·W1ᵀ + b1)·W2ᵀ + b2)
                dense(MatrixRef(ws.tmp, rows: T, cols: H), w.fc1W, w.fc1B, r?.fc1, into: MutableMatrixRef(ws.inter, rows: T, cols: I), activated: true, ws)
                dense(MatrixRef(ws.inter, rows: T, cols: I), w.fc2W, w.fc2B, r?.fc2, residual: ws.tmp, into: MutableMatrixRef(ws.x, rows: T, cols: H), ws)
                MathKernels.layerNorm(ws.x, rows: T, n: H, gamma: w.norm2W.pointer, beta: w.norm2B.pointer, eps: config.layerNormEps)
            case .pre:
                // x += attn(LN1(x))
                MathKernels.layerNorm(ws.x, into: ws.tmp, rows: T, n: H, gamma: w.norm1W.pointer, beta: w.norm1B.pointer, eps: config.layerNormEps)
                let t = MatrixRef(ws.tmp, rows: T, cols: H)
                qkv(t, w, r, ws, tokens: T)
                attention(lengths: lengths, ws: ws)
                dense(MatrixRef(ws.ctx, rows: T, cols: H), w.oW, w.oB, r?.o, residual: ws.x, into: MutableMatrixRef(ws.x, rows: T, cols: H), ws)
                // x += mlp(LN2(x))
                MathKernels.layerNorm(ws.x, into: ws.tmp, rows: T, n: H, gamma: w.norm2W.pointer, beta: w.norm2B.pointer, eps: config.layerNormEps)
                dense(MatrixRef(ws.tmp, rows: T, cols: H), w.fc1W, w.fc1B, r?.fc1, into: MutableMatrixRef(ws.inter, rows: T, cols: I), activated: true, ws)
                dense(MatrixRef(ws.inter, rows: T, cols: I), w.fc2W, w.fc2B, r?.fc2, residual: ws.x, into: MutableMatrixRef(ws.x, rows: T, cols: H), ws)
            }
        }
    }

    /// y = x·Wᵀ + b (+ residual), then the MLP's activation where
    /// `activated`: in bfloat16 with the bias and activation fused where the
    /// layer has its weight rounded (`r`), else in fp32 on OpenBLAS.
    private func dense(_ x: MatrixRef, _ w: FloatTensor, _ b: FloatTensor, _ r: BFloat16Weight?, residual: UnsafeMutablePointer<Float>? = nil,
                       into y: MutableMatrixRef, activated: Bool = false, _ ws: TransformerWorkspace) {
        if let r {
            let act: BFloat16MatMul.Activation = !activated ? .none : config.activation == .gelu ? .gelu : .quickGelu
            BFloat16MatMul.linear(x, weight: w, rounded: r, bias: b, residual: residual.map { UnsafePointer($0) }, into: y, activation: act,
                                  scratch: ws.rounded)
        } else if activated {
            BLAS.linear(x, weight: w, bias: b, residual: residual.map { UnsafePointer($0) }, into: y, epilogue: activation)
        } else {
            BLAS.linear(x, weight: w, bias: b, residual: residual.map { UnsafePointer($0) }, into: y)
        }
    }

    /// The MLP's activation over `count` values in place, applied by each
    /// core to the columns of fc1 it has just computed.
    private var activation: (UnsafeMutablePointer<Float>, Int) -> Void {
        switch config.activation {
        case .gelu: MathKernels.gelu
        case .quickGelu: MathKernels.quickGelu
        }
    }

    /// q, k, v = x·Wᵀ + b, the three products split over the cores in one hop
    /// (each core computes its columns of all three while x is in its cache).
    /// With `r`, x is rounded to bfloat16 once for the three.
    private func qkv(_ x: MatrixRef, _ w: TransformerLayerWeights, _ r: RoundedLayer?, _ ws: TransformerWorkspace, tokens T: Int) {
        let H = config.hidden
        let (q, k, v) = (MutableMatrixRef(ws.q, rows: T, cols: H), MutableMatrixRef(ws.k, rows: T, cols: H),
                         MutableMatrixRef(ws.v, rows: T, cols: H))
        // In bfloat16, x is rounded once for the three, and each bias is added by the product.
        let x16 = r.map { _ in UncheckedSendable(BFloat16.round(x, into: ws.rounded)) }
        func part(_ cols: Range<Int>) {
            for (wf, b, y, wr) in [(w.qW, w.qB, q, r?.q), (w.kW, w.kB, k, r?.k), (w.vW, w.vB, v, r?.v)] {
                if let wr, let x16, BFloat16MatMul.product(x16.value, rows: T, weight: wr, columns: cols, bias: b.pointer + cols.lowerBound,
                                                           into: y.pointer + cols.lowerBound, ldy: y.ld, accumulate: false) { continue }
                BLAS.linear(x, weight: wf, bias: b, residual: nil, into: y, columns: cols)
            }
        }
        if BLAS.columnParts(m: T, n: H, k: H) > 1 { BLAS.forEachColumnPart(m: T, n: H, k: H, part) } else { part(0..<H) }
    }

    /// Scaled dot-product attention of every sequence and head:
    /// ctx_h = softmax(Q_h·K_hᵀ/√d)·V_h, reading q/k/v and writing ctx.
    /// The (sequence, head) pairs are spread over the cores, each worker with
    /// its own score buffer; each pair writes its own columns of ctx.
    private func attention(lengths: [Int], ws: TransformerWorkspace) {
        let H = config.hidden
        let d = config.headDim
        let heads = config.heads
        let scale = 1 / Float(d).squareRoot()
        let causal = config.causal
        var offsets: [Int] = []
        var o = 0
        for L in lengths { offsets.append(o); o += L }
        let pairs = lengths.count * heads
        let workers = min(ws.scores.count, pairs)
        let (q, k, v, ctx) = (ws.q, ws.k, ws.v, ws.ctx)
        let scores = ws.scores
        Parallel.forEachChunk(workers, minChunk: 1) { range in
            for worker in range {
                var pair = worker
                while pair < pairs {
                    defer { pair += workers }
                    let (sIndex, h) = pair.quotientAndRemainder(dividingBy: heads)
                    let L = lengths[sIndex]
                    if L == 0 { continue }
                    let base = offsets[sIndex] * H + h * d
                    let buf = scores[worker]
                    BLAS.gemm(MatrixRef(q + base, rows: L, cols: d, ld: H),
                              MatrixRef(k + base, rows: L, cols: d, ld: H), transposeB: true,
                              MutableMatrixRef(buf, rows: L, cols: L), alpha: scale, parallel: false)
                    MathKernels.softmaxRows(buf, rows: L, n: L, ld: L, causal: causal)
                    BLAS.gemm(MatrixRef(buf, rows: L, cols: L),
                              MatrixRef(v + base, rows: L, cols: d, ld: H),
                              MutableMatrixRef(ctx + base, rows: L, cols: d, ld: H), parallel: false)
                }
            }
        }
    }
}
