import Foundation
import Synchronization

/// EfficientNet-Lite as TensorFlow defines it (timm's `tf_efficientnet_liteN`):
/// a 3×3 stride-2 stem, MBConv blocks (1×1 expand, k×k depthwise, 1×1
/// project, residual when shapes allow) without squeeze-excitation, ReLU6,
/// TF "same" padding (asymmetric at stride 2), batch norm (eps 1e-3) folded
/// into the convolutions at load, a 1×1 head to 1280 channels, global average
/// pooling, and the ImageNet classifier.
///
/// The block structure is read from the checkpoint (names as in
/// `efficientnet_pytorch`: `_conv_stem`, `_blocks.N._expand_conv`, …);
/// strides follow the architecture's seven stages (1, 2, 2, 2, 1, 2, 1),
/// a stage being a run of blocks with the same output width.
/// Activations are channels-last (H, W, C), so a 1×1 convolution is one sgemm.
public final class EfficientNetLite: Sendable {
    /// A convolution with its batch norm folded in.
    struct Conv {
        /// 1×1: (Cin, Cout); stem: (Cin·k·k, Cout); depthwise: (k·k, C). The
        /// products' weights are stored transposed from the checkpoint's
        /// (Cout, Cin), so sgemm reads them in order when it packs them (sgemm_nn
        /// instead of sgemm_tn). On the 7×7 and 14×14 layers each weight
        /// serves only 49 or 196 pixels, so packing matters: stored as in the
        /// checkpoint, packing them was 14 % of phase 2's samples.
        var weight: [Float]
        var bias: [Float]     // (Cout)
        var cin: Int, cout: Int, k: Int, stride: Int
    }
    struct Block {
        var expand: Conv?
        var depthwise: Conv
        var project: Conv
        var residual: Bool
    }

    public let imageSize: Int
    public static let stageStrides = [1, 2, 2, 2, 1, 2, 1]
    public let featureCount: Int
    public let classCount: Int
    let stem: Conv
    let blocks: [Block]
    let head: Conv
    let fcWeight: FloatTensor   // (classes, features)
    let fcBias: FloatTensor
    let checkpoint: SafeTensorsFile
    /// Floats of the largest activation: the widest expansion at the largest resolution.
    let activationCount: Int
    /// Run states not in use. A forward pass takes one (or makes one, so
    /// passes of several workers run at once) and puts it back.
    private let idle = Mutex<[Workspace]>([])

    /// One forward pass's activation buffers, allocated once. Sendable by
    /// contract: a pass takes it from `idle` and it is its own until put back.
    final class Workspace: @unchecked Sendable {
        let x: UnsafeMutablePointer<Float>, t1: UnsafeMutablePointer<Float>, t2: UnsafeMutablePointer<Float>  // (side², channels) each
        let col: UnsafeMutablePointer<Float>                                                                  // stem patches: (side², 27)
        init(activations: Int, patches: Int) {
            x = .allocate(capacity: activations); t1 = .allocate(capacity: activations); t2 = .allocate(capacity: activations)
            col = .allocate(capacity: patches)
        }
        deinit { for p in [x, t1, t2, col] { p.deallocate() } }
    }

    public convenience init(folder: URL, imageSize: Int, batchNormEps: Float = 1e-3) throws {
        let path = folder.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else { throw ModelError.missingFile(path: path, what: "model weights") }
        try self.init(checkpoint: SafeTensorsFile(path: path), imageSize: imageSize, batchNormEps: batchNormEps)
    }

    public init(checkpoint st: SafeTensorsFile, imageSize: Int, batchNormEps eps: Float = 1e-3) throws {
        self.checkpoint = st
        self.imageSize = imageSize
        func tensor(_ name: String) throws -> FloatTensor { try st.floatTensor(name) }
        func conv(_ name: String, bn: String, stride: Int, depthwise: Bool = false) throws -> Conv {
            let w = try tensor(name + ".weight")
            guard w.shape.count == 4 else { throw ModelError.shapeMismatch(path: st.path, name: name + ".weight", expected: [-1, -1, -1, -1], actual: w.shape) }
            let (cout, cinPerGroup, k) = (w.shape[0], w.shape[1], w.shape[2])
            guard w.shape[3] == k, k % 2 == 1 else { throw ModelError.shapeMismatch(path: st.path, name: name + ".weight", expected: [cout, cinPerGroup, k, k], actual: w.shape) }
            if depthwise && cinPerGroup != 1 { throw ModelError.shapeMismatch(path: st.path, name: name + ".weight", expected: [cout, 1, k, k], actual: w.shape) }
            let gamma = try st.floatTensor(bn + ".weight", shape: [cout]), beta = try st.floatTensor(bn + ".bias", shape: [cout])
            let mean = try st.floatTensor(bn + ".running_mean", shape: [cout]), variance = try st.floatTensor(bn + ".running_var", shape: [cout])
            let per = cinPerGroup * k * k
            var weight = [Float](repeating: 0, count: cout * per)
            var bias = [Float](repeating: 0, count: cout)
            for o in 0..<cout {
                let scale = gamma[o] / (variance[o] + eps).squareRoot()
                bias[o] = beta[o] - mean[o] * scale
                for i in 0..<per {
                    let v = w[o * per + i] * scale
                    weight[i * cout + o] = v   // (Cin·k·k, Cout): depthwise (k·k, C), the others transposed
                }
            }
            return Conv(weight: weight, bias: bias, cin: depthwise ? cout : cinPerGroup, cout: cout, k: k, stride: stride)
        }
        stem = try conv("_conv_stem", bn: "_bn0", stride: 2)
        guard stem.cin == 3, stem.k == 3 else { throw ModelError.shapeMismatch(path: st.path, name: "_conv_stem.weight", expected: [stem.cout, 3, 3, 3], actual: [stem.cout, stem.cin, stem.k, stem.k]) }
        var blocks: [Block] = []
        var stage = -1
        var lastOut = -1
        var channels = stem.cout
        var i = 0
        while st.tensors["_blocks.\(i)._depthwise_conv.weight"] != nil {
            let p = "_blocks.\(i)."
            let project = try st.floatTensor(p + "_project_conv.weight")
            let out = project.shape[0]
            var stride = 1
            if out != lastOut {
                stage += 1
                guard stage < Self.stageStrides.count else { throw ModelError.invalidConfig(path: st.path, reason: "more than 7 stages of blocks") }
                stride = Self.stageStrides[stage]
                lastOut = out
            }
            let expand = st.tensors[p + "_expand_conv.weight"] != nil ? try conv(p + "_expand_conv", bn: p + "_bn0", stride: 1) : nil
            if let expand, expand.cin != channels { throw ModelError.shapeMismatch(path: st.path, name: p + "_expand_conv.weight", expected: [expand.cout, channels, 1, 1], actual: [expand.cout, expand.cin, 1, 1]) }
            let dw = try conv(p + "_depthwise_conv", bn: p + "_bn1", stride: stride, depthwise: true)
            let mid = expand?.cout ?? channels
            guard dw.cout == mid else { throw ModelError.shapeMismatch(path: st.path, name: p + "_depthwise_conv.weight", expected: [mid, 1, dw.k, dw.k], actual: [dw.cout, 1, dw.k, dw.k]) }
            let pr = try conv(p + "_project_conv", bn: p + "_bn2", stride: 1)
            guard pr.cin == mid else { throw ModelError.shapeMismatch(path: st.path, name: p + "_project_conv.weight", expected: [pr.cout, mid, 1, 1], actual: [pr.cout, pr.cin, 1, 1]) }
            blocks.append(Block(expand: expand, depthwise: dw, project: pr, residual: stride == 1 && channels == pr.cout))
            channels = pr.cout
            i += 1
        }
        guard !blocks.isEmpty else { throw ModelError.missingTensor(path: st.path, name: "_blocks.0._depthwise_conv.weight") }
        self.blocks = blocks
        head = try conv("_conv_head", bn: "_bn1", stride: 1)
        guard head.cin == channels else { throw ModelError.shapeMismatch(path: st.path, name: "_conv_head.weight", expected: [head.cout, channels, 1, 1], actual: [head.cout, head.cin, 1, 1]) }
        featureCount = head.cout
        fcWeight = try st.floatTensor("_fc.weight")
        guard fcWeight.shape.count == 2, fcWeight.shape[1] == featureCount else {
            throw ModelError.shapeMismatch(path: st.path, name: "_fc.weight", expected: [-1, featureCount], actual: fcWeight.shape)
        }
        classCount = fcWeight.shape[0]
        fcBias = try st.floatTensor("_fc.bias", shape: [classCount])
        var side = Self.samePadding(imageSize, k: 3, stride: 2).out
        var need = side * side * stem.cout
        for b in blocks {
            need = max(need, side * side * (b.expand?.cout ?? b.depthwise.cout))
            side = Self.samePadding(side, k: b.depthwise.k, stride: b.depthwise.stride).out
        }
        activationCount = max(need, side * side * head.cout)
    }

    /// TF "same" padding: output size and the padding before the first row/column.
    static func samePadding(_ n: Int, k: Int, stride: Int) -> (out: Int, before: Int) {
        let out = (n + stride - 1) / stride
        let total = max((out - 1) * stride + k - n, 0)
        return (out, total / 2)
    }

    /// Pooled features (1280) and class logits (1000) of a preprocessed image
    /// tensor (imageSize, imageSize, 3), channels last.
    public func forward(_ input: [Float]) -> (features: [Float], logits: [Float]) {
        BLAS.useCallerThreads
        precondition(input.count == imageSize * imageSize * 3, "input must be \(imageSize)×\(imageSize)×3")
        return Parallel.sharingCores {
            let stemSide = Self.samePadding(imageSize, k: 3, stride: 2).out
            let ws = idle.withLock { $0.popLast() } ?? Workspace(activations: activationCount, patches: stemSide * stemSide * 27)
            defer { idle.withLock { $0.append(ws) } }
            return input.withUnsafeBufferPointer { forward($0.baseAddress!, workspace: ws) }
        }
    }

    func forward(_ input: UnsafePointer<Float>, workspace ws: Workspace) -> (features: [Float], logits: [Float]) {
        var side = imageSize
        var x = ws.x, t1 = ws.t1
        let t2 = ws.t2, col = ws.col
        // Stem: im2col (out², 27) · W.
        let (so, pad) = Self.samePadding(side, k: 3, stride: 2)
        Self.im2col3x3(input, side: side, out: so, pad: pad, into: col)
        Self.pointwise(MatrixRef(col, rows: so * so, cols: 27), stem, into: x, relu6: true)
        side = so
        var channels = stem.cout
        for b in blocks {
            var mid = x
            if let e = b.expand {
                Self.pointwise(MatrixRef(x, rows: side * side, cols: channels), e, into: t1, relu6: true)
                mid = t1
            }
            let (o, p) = Self.samePadding(side, k: b.depthwise.k, stride: b.depthwise.stride)
            Self.depthwise(mid, side: side, conv: b.depthwise, out: o, pad: p, into: t2)
            Self.pointwise(MatrixRef(t2, rows: o * o, cols: b.depthwise.cout), b.project,
                           residual: b.residual ? UnsafePointer(x) : nil, into: t1, relu6: false)
            swap(&x, &t1)
            side = o
            channels = b.project.cout
        }
        Self.pointwise(MatrixRef(x, rows: side * side, cols: channels), head, into: t1, relu6: true)
        var features = [Float](repeating: 0, count: head.cout)
        let inv = 1 / Float(side * side)
        for pix in 0..<(side * side) {
            let row = t1 + pix * head.cout
            for c in 0..<head.cout { features[c] += row[c] }
        }
        for c in 0..<head.cout { features[c] *= inv }
        return (features, logits(features: features, rows: 1))
    }

    /// The ImageNet classifier alone: (rows, classes) logits of (rows,
    /// features) pooled features, as `forward` gives them, so stored
    /// features give the same posterior without the image.
    public func logits(features: [Float], rows: Int) -> [Float] {
        precondition(features.count == rows * featureCount, "features must be \(rows)×\(featureCount)")
        var logits = [Float](repeating: 0, count: rows * classCount)
        guard rows > 0 else { return logits }
        features.withUnsafeBufferPointer { f in
            logits.withUnsafeMutableBufferPointer { l in
                BLAS.linear(MatrixRef(f.baseAddress!, rows: rows, cols: featureCount), weight: fcWeight, bias: fcBias,
                            into: MutableMatrixRef(l.baseAddress!, rows: rows, cols: classCount))
            }
        }
        return logits
    }

    /// y(P, Cout) = x(P, Cin)·W + b (+ residual (P, Cout)), W (Cin, Cout), then ReLU6 if
    /// asked. y is filled with the bias (and the residual) and the product
    /// added onto it (beta = 1, so OpenBLAS does not zero y first), in blocks
    /// of rows small enough to stay in L2 from the fill through the product
    /// to the clamp: one trip through memory instead of three. A block is at
    /// least 256 rows, so the weight OpenBLAS packs for each call is packed
    /// at most once per 256 rows. `residual` must not alias y.
    static func pointwise(_ x: MatrixRef, _ c: Conv, residual: UnsafePointer<Float>? = nil,
                          into y: UnsafeMutablePointer<Float>, relu6: Bool) {
        let rows = x.rows, cout = c.cout
        let block = (max(256, (32 << 10) / cout) + 7) / 8 * 8
        let blocks = (rows + block - 1) / block
        c.weight.withUnsafeBufferPointer { wb in
            c.bias.withUnsafeBufferPointer { bb in
                let w = MatrixRef(wb.baseAddress!, rows: x.cols, cols: cout), bias = bb.baseAddress!
                func rowsOf(_ r: Range<Int>, parallel: Bool) {
                    let yr = y + r.lowerBound &* cout
                    let res = residual.map { $0 + r.lowerBound &* cout }
                    for row in 0..<r.count {
                        BLAS.fillRow(yr + row &* cout, count: cout, bias: bias, residual: res.map { $0 + row &* cout })
                    }
                    BLAS.gemm(MatrixRef(x.pointer + r.lowerBound &* x.ld, rows: r.count, cols: x.cols, ld: x.ld), w, transposeB: false,
                              MutableMatrixRef(yr, rows: r.count, cols: cout), beta: 1, parallel: parallel)
                    if relu6 { clamp(yr, count: r.count &* cout) }
                }
                if blocks < 2 {
                    rowsOf(0..<rows, parallel: true)
                } else {
                    Parallel.forEachChunk(blocks, minChunk: 1) { range in
                        for b in range { rowsOf((b &* block)..<min(rows, (b &+ 1) &* block), parallel: false) }
                    }
                }
            }
        }
    }

    /// ReLU6 in place over `count` floats.
    @inline(__always)
    static func clamp(_ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 4 <= count {
            let v = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD4<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: relu6(v), as: SIMD4<Float>.self)
            i &+= 4
        }
        while i < count { y[i] = min(max(y[i], 0), 6); i &+= 1 }
    }

    /// Stem patches: row (oy, ox) holds input[c][oy·2+ky−pad][ox·2+kx−pad]
    /// in (c, ky, kx) order, zero outside the image.
    static func im2col3x3(_ x: UnsafePointer<Float>, side: Int, out: Int, pad: Int, into col: UnsafeMutablePointer<Float>) {
        for oy in 0..<out {
            for ox in 0..<out {
                let row = col + (oy * out + ox) * 27
                for ky in 0..<3 {
                    let iy = oy * 2 + ky - pad
                    for kx in 0..<3 {
                        let ix = ox * 2 + kx - pad
                        let inside = iy >= 0 && iy < side && ix >= 0 && ix < side
                        for c in 0..<3 {
                            row[c * 9 + ky * 3 + kx] = inside ? x[(iy * side + ix) * 3 + c] : 0
                        }
                    }
                }
            }
        }
    }
}
