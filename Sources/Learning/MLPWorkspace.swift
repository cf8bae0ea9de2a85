import Foundation
import Inference

/// The run state of one training run: parameters, gradients, AdamW moments,
/// BatchNorm statistics and every activation of a mini-batch, allocated once
/// (for `batchSize + 1` rows, the largest batch) and reused by every step.
/// Training mode only; eval mode is `MLPKernels.evaluate`. One thread drives
/// it (the matrix products and element-wise kernels fan out inside).
final class MLPWorkspace {
    let layout: MLPLayout
    let capacity: Int          // rows of the largest batch
    let dropout: Float
    let keywordWeight: Float   // λ
    let huberDelta: Float

    let parameters: FloatBuffer   // (parameterCount)
    let gradients: FloatBuffer    // (parameterCount)
    let statistics: FloatBuffer   // (statisticCount)
    let optimizer: AdamW

    // The batch.
    let x: FloatBuffer        // (capacity, inputs)
    let y: FloatBuffer        // (capacity, outputs)
    let targets: FloatBuffer  // (capacity, keywords), multi-hot, built per batch

    // Per block.
    let preActivations: [FloatBuffer]  // z = x·Wᵀ + b: (capacity, width)
    let normalized: [FloatBuffer]      // x̂ = (gelu(z) − μ)/σ: (capacity, width)
    let activations: [FloatBuffer]     // dropout(γ·x̂ + β): (capacity, width)
    let masks: [FloatBuffer]           // 0 or 1/(1 − p): (capacity, width); empty without dropout
    let inverseStd: [FloatBuffer]      // 1/√(var + ε): (width)

    // The heads.
    let output: FloatBuffer    // o: (capacity, outputs)
    let unit: FloatBuffer      // u = o/‖o‖: (capacity, outputs)
    let norms: FloatBuffer     // ‖o‖: (capacity)
    let logits: FloatBuffer    // (capacity, keywords)

    // Gradients of activations.
    let gradOutput: FloatBuffer  // (capacity, outputs)
    let gradLogits: FloatBuffer  // (capacity, keywords)
    let gradA: FloatBuffer       // (capacity, widest hidden)
    let gradZ: FloatBuffer       // (capacity, widest hidden)
    let column: FloatBuffer      // (widest hidden): per-feature temporaries

    var dropoutRandom: SeededGenerator

    init(layout: MLPLayout, config: MLPConfig) {
        BLAS.useCallerThreads   // revsd splits products over the cores itself
        self.layout = layout
        capacity = config.batchSize + 1
        dropout = config.dropout
        keywordWeight = layout.keywords > 0 ? config.mlcWeight : 0
        huberDelta = config.huberDelta
        var initial = layout.initialValues(seed: config.seed)
        if let b = config.initialOutputBias, b.count == layout.outputs {
            // Start exactly at the given output (the mean target): output
            // weights at zero (the first step moves them; then gradients reach
            // the hidden layers), so the head begins as the constant baseline.
            for j in 0..<b.count { initial.parameters[layout.outputBias + j] = b[j] }
            let fanIn = layout.hidden.last ?? layout.inputs
            for j in 0..<(layout.outputs * fanIn) { initial.parameters[layout.outputWeight + j] = 0 }
        }
        parameters = FloatBuffer(initial.parameters)
        statistics = FloatBuffer(initial.statistics)
        gradients = FloatBuffer(count: layout.parameterCount)
        optimizer = AdamW(layout: layout, learningRate: config.learningRate, weightDecay: config.weightDecay)
        let c = capacity, d = layout.outputs, m = layout.keywords
        x = FloatBuffer(count: c * layout.inputs); y = FloatBuffer(count: c * d); targets = FloatBuffer(count: c * m)
        let widths = layout.hidden
        preActivations = widths.map { FloatBuffer(count: c * $0) }
        normalized = widths.map { FloatBuffer(count: c * $0) }
        activations = widths.map { FloatBuffer(count: c * $0) }
        masks = config.dropout > 0 ? widths.map { FloatBuffer(count: c * $0) } : []
        inverseStd = widths.map { FloatBuffer(count: $0) }
        output = FloatBuffer(count: c * d); unit = FloatBuffer(count: c * d); norms = FloatBuffer(count: c)
        logits = FloatBuffer(count: c * m)
        gradOutput = FloatBuffer(count: c * d); gradLogits = FloatBuffer(count: c * m)
        let wide = widths.max() ?? 1
        gradA = FloatBuffer(count: c * wide); gradZ = FloatBuffer(count: c * wide); column = FloatBuffer(count: wide)
        dropoutRandom = SeededGenerator(seed: config.seed ^ 0xD20F_0000_0000_0003)
    }

    /// Gathers the examples `indices` into the batch: features, targets and
    /// the dense multi-hot keyword targets (built here, per batch only).
    func load(x source: UnsafePointer<Float>, y targetRows: UnsafePointer<Float>, keywords: [[Int32]],
              indices: UnsafeBufferPointer<Int32>) {
        let rows = indices.count, k = layout.inputs, d = layout.outputs, m = layout.keywords
        precondition(rows <= capacity, "batch of \(rows) rows exceeds the workspace's \(capacity)")
        for (r, i) in indices.enumerated() {
            let e = Int(i)
            (x.pointer + r * k).update(from: source + e * k, count: k)
            (y.pointer + r * d).update(from: targetRows + e * d, count: d)
        }
        if m > 0 {
            targets.pointer.update(repeating: 0, count: rows * m)
            for (r, i) in indices.enumerated() {
                for w in keywords[Int(i)] { targets.pointer[r * m + Int(w)] = 1 }
            }
        }
    }

    /// Training-mode forward pass over the first `rows` batch rows: BatchNorm
    /// normalises with the batch's mean and biased variance, and (when
    /// `updateStatistics`) moves the running statistics by momentum 0.1 with
    /// the unbiased variance, as PyTorch does; dropout draws fresh masks.
    func forward(rows: Int, updateStatistics: Bool) {
        precondition(rows >= 2, "BatchNorm in training mode needs at least 2 rows")
        let p = parameters.pointer, s = statistics.pointer
        var input = UnsafePointer(x.pointer)   // (rows, width)
        var width = layout.inputs
        let invRows = 1 / Float(rows), momentum = MLPKernels.batchNormMomentum
        for (l, block) in layout.blocks.enumerated() {
            let h = block.width
            let z = preActivations[l].pointer, xh = normalized[l].pointer, a = activations[l].pointer
            let inv = inverseStd[l].pointer, mean = column.pointer
            MLPKernels.linear(input, rows: rows, fanIn: width, weight: p + block.weight, bias: p + block.bias, out: h, into: z)
            a.update(from: z, count: rows * h)
            MLPKernels.gelu(a, count: rows * h)                     // g = gelu(z): (rows, h)
            MLPKernels.columnSums(a, rows: rows, cols: h, into: mean)
            for j in 0..<h { mean[j] *= invRows }
            inv.update(repeating: 0, count: h)                      // Σ (g − μ)² per feature
            for r in 0..<rows {
                let g = a + r * h
                for j in 0..<h { let c = g[j] - mean[j]; inv[j] += c * c }
            }
            if updateStatistics {
                let unbias = Float(rows) / Float(rows - 1)
                for j in 0..<h {
                    s[block.mean + j] = (1 - momentum) * s[block.mean + j] + momentum * mean[j]
                    s[block.variance + j] = (1 - momentum) * s[block.variance + j] + momentum * inv[j] * invRows * unbias
                }
            }
            for j in 0..<h { inv[j] = 1 / (inv[j] * invRows + MLPKernels.batchNormEpsilon).squareRoot() }
            let gamma = p + block.gamma, beta = p + block.beta
            for r in 0..<rows {
                let g = a + r * h, xr = xh + r * h
                for j in 0..<h {
                    let v = (g[j] - mean[j]) * inv[j]
                    xr[j] = v
                    g[j] = gamma[j] * v + beta[j]
                }
            }
            if dropout > 0 {
                let mask = masks[l].pointer
                let keep = 1 / (1 - dropout)
                for i in 0..<(rows * h) {
                    mask[i] = MLPLayout.unit(&dropoutRandom) < dropout ? 0 : keep
                    a[i] *= mask[i]
                }
            }
            input = UnsafePointer(a); width = h
        }
        MLPKernels.linear(input, rows: rows, fanIn: width, weight: p + layout.outputWeight, bias: p + layout.outputBias,
                          out: layout.outputs, into: output.pointer)
        if layout.keywords > 0 {
            MLPKernels.linear(output.pointer, rows: rows, fanIn: layout.outputs, weight: p + layout.keywordWeight,
                              bias: p + layout.keywordBias, out: layout.keywords, into: logits.pointer)
        }
    }

    /// The loss of the last `forward` and its gradient with respect to every
    /// parameter (into `gradients`, overwritten):
    /// mean(1 − cos(o, y)) + Huber_δ(o/‖o‖ − y) (mean over elements)
    /// + λ·BCE-with-logits (mean over elements). Returns the loss.
    func backward(rows: Int) -> Double {
        let p = parameters.pointer, grad = gradients.pointer
        let d = layout.outputs, m = layout.keywords
        let o = output.pointer, u = unit.pointer, yv = y.pointer, go = gradOutput.pointer
        let invRows = 1 / Float(rows), invElements = 1 / Float(rows * d), delta = huberDelta
        var loss: Double = 0
        // Cosine and Huber: dL/du, then through u = o/‖o‖: do = (du − u·(u·du))/‖o‖.
        for r in 0..<rows {
            let orow = o + r * d, urow = u + r * d, yrow = yv + r * d, grow = go + r * d
            var so: Float = 0, sy: Float = 0
            for j in 0..<d { so += orow[j] * orow[j]; sy += yrow[j] * yrow[j] }
            let n = max(so.squareRoot(), 1e-12), invY = 1 / max(sy.squareRoot(), 1e-12)
            norms.pointer[r] = n
            var cos: Float = 0, huber: Double = 0, udu: Float = 0
            for j in 0..<d {
                let uj = orow[j] / n
                urow[j] = uj
                cos += uj * yrow[j]
                let diff = uj - yrow[j], ad = abs(diff)
                huber += Double(ad <= delta ? 0.5 * diff * diff : delta * (ad - 0.5 * delta))
                let dh = ad <= delta ? diff : (diff > 0 ? delta : -delta)
                let du = -yrow[j] * invY * invRows + dh * invElements
                grow[j] = du
                udu += uj * du
            }
            loss += Double(1 - cos * invY) / Double(rows) + huber / Double(rows * d)
            for j in 0..<d { grow[j] = (grow[j] - urow[j] * udu) / n }
        }
        // The keyword head: λ·BCE on logits = o·Wₘᵀ + bₘ.
        if m > 0 {
            let l = logits.pointer, t = targets.pointer, gl = gradLogits.pointer
            let scale = keywordWeight / Float(rows * m)
            var bce: Double = 0
            for i in 0..<(rows * m) {
                // One exp serves both: softplus(v) = max(v, 0) + log(1 + e), σ(v) from e = exp(−|v|).
                let v = l[i], e = expf(-abs(v))
                bce += Double(max(v, 0) - v * t[i] + log1pf(e))
                let sigma = v >= 0 ? 1 / (1 + e) : e / (1 + e)
                gl[i] = scale * (sigma - t[i])
            }
            loss += Double(keywordWeight) * bce / Double(rows * m)
            BLAS.gemm(MatrixRef(gl, rows: rows, cols: m), transposeA: true, MatrixRef(o, rows: rows, cols: d),
                      MutableMatrixRef(grad + layout.keywordWeight, rows: m, cols: d))                  // (m, d)
            MLPKernels.columnSums(gl, rows: rows, cols: m, into: grad + layout.keywordBias)
            BLAS.gemm(MatrixRef(gl, rows: rows, cols: m), MatrixRef(p + layout.keywordWeight, rows: m, cols: d),
                      MutableMatrixRef(go, rows: rows, cols: d), beta: 1)                                  // do += dl·Wₘ
        }
        // The output layer.
        let last = layout.lastWidth
        let lastInput = layout.blocks.isEmpty ? UnsafePointer(x.pointer) : UnsafePointer(activations[layout.blocks.count - 1].pointer)
        BLAS.gemm(MatrixRef(go, rows: rows, cols: d), transposeA: true, MatrixRef(lastInput, rows: rows, cols: last),
                  MutableMatrixRef(grad + layout.outputWeight, rows: d, cols: last))                      // (d, last)
        MLPKernels.columnSums(go, rows: rows, cols: d, into: grad + layout.outputBias)
        if layout.blocks.isEmpty { return loss }
        BLAS.gemm(MatrixRef(go, rows: rows, cols: d), MatrixRef(p + layout.outputWeight, rows: d, cols: last),
                  MutableMatrixRef(gradA.pointer, rows: rows, cols: last))                                 // dA: (rows, last)
        // The blocks, last to first.
        for l in stride(from: layout.blocks.count - 1, through: 0, by: -1) {
            backwardBlock(l, rows: rows)
        }
        return loss
    }

    /// Back through dropout, BatchNorm (batch statistics), GELU and the
    /// Linear of block `l`; `gradA` holds dL/d(block output) and, unless
    /// this is the first block, receives dL/d(block input).
    private func backwardBlock(_ l: Int, rows: Int) {
        let block = layout.blocks[l], h = block.width
        let p = parameters.pointer, grad = gradients.pointer
        let da = gradA.pointer, dz = gradZ.pointer, xh = normalized[l].pointer, inv = inverseStd[l].pointer
        if dropout > 0 {
            let mask = masks[l].pointer
            for i in 0..<(rows * h) { da[i] *= mask[i] }
        }
        // dβ = Σ dA, dγ = Σ dA·x̂; dg = γ/(σ·rows)·(rows·dA − dβ − x̂·dγ).
        let dgamma = grad + block.gamma, dbeta = grad + block.beta, gamma = p + block.gamma
        MLPKernels.columnSums(da, rows: rows, cols: h, into: dbeta)
        dgamma.update(repeating: 0, count: h)
        for r in 0..<rows {
            let drow = da + r * h, xr = xh + r * h
            for j in 0..<h { dgamma[j] += drow[j] * xr[j] }
        }
        let scale = column.pointer, n = Float(rows)
        for j in 0..<h { scale[j] = gamma[j] * inv[j] / n }
        for r in 0..<rows {
            let drow = da + r * h, xr = xh + r * h, zr = dz + r * h
            for j in 0..<h { zr[j] = scale[j] * (n * drow[j] - dbeta[j] - xr[j] * dgamma[j]) }
        }
        MLPKernels.geluBackward(dz, preActivation: preActivations[l].pointer, count: rows * h)   // dz: (rows, h)
        let input = l == 0 ? UnsafePointer(x.pointer) : UnsafePointer(activations[l - 1].pointer)
        BLAS.gemm(MatrixRef(dz, rows: rows, cols: h), transposeA: true, MatrixRef(input, rows: rows, cols: block.fanIn),
                  MutableMatrixRef(grad + block.weight, rows: h, cols: block.fanIn))                     // (h, fanIn)
        MLPKernels.columnSums(dz, rows: rows, cols: h, into: grad + block.bias)
        if l > 0 {
            BLAS.gemm(MatrixRef(dz, rows: rows, cols: h), MatrixRef(p + block.weight, rows: h, cols: block.fanIn),
                      MutableMatrixRef(da, rows: rows, cols: block.fanIn))                                // (rows, fanIn)
        }
    }

    /// One AdamW update with the current gradients.
    func step(learningRate: Float) {
        optimizer.step(parameters: parameters.pointer, gradients: gradients.pointer, learningRate: learningRate)
    }
}
