/// Where each tensor of an MLP head lives in its two flat buffers: the
/// trainable parameters (one vector, so AdamW is one pass) and the BatchNorm
/// running statistics (not trained, updated by momentum). Names mirror a
/// PyTorch module (`blocks.0.linear.weight`, `blocks.0.norm.running_var`, …)
/// so the safetensors file reads like a `state_dict`.
struct MLPLayout: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case weight   // a Linear weight: AdamW decays it
        case bias     // a Linear bias: no decay
        case norm     // BatchNorm γ or β: no decay
        case statistic // BatchNorm running mean or variance: not trained
    }

    struct Slot: Sendable, Equatable {
        let name: String
        let shape: [Int]
        let offset: Int   // into the parameters, or into the statistics for `.statistic`
        let kind: Kind
        var count: Int { shape.reduce(1, *) }
    }

    /// One Linear → GELU → BatchNorm → Dropout block.
    struct Block: Sendable, Equatable {
        let fanIn: Int
        let width: Int
        let weight: Int      // (width, fanIn)
        let bias: Int        // (width)
        let gamma: Int       // (width)
        let beta: Int        // (width)
        let mean: Int        // (width), in the statistics
        let variance: Int    // (width), in the statistics
    }

    let inputs: Int
    let outputs: Int
    /// Words of the keyword (MLC) head; 0 when there is none.
    let keywords: Int
    let blocks: [Block]
    let outputWeight: Int   // (outputs, last width)
    let outputBias: Int     // (outputs)
    let keywordWeight: Int  // (keywords, outputs)
    let keywordBias: Int    // (keywords)
    let parameterCount: Int
    let statisticCount: Int
    let slots: [Slot]

    var hidden: [Int] { blocks.map(\.width) }
    var lastWidth: Int { blocks.last?.width ?? inputs }
    var widest: Int { max(blocks.map(\.width).max() ?? 0, outputs) }

    init(inputs: Int, hidden: [Int], outputs: Int, keywords: Int) {
        precondition(inputs > 0 && outputs > 0 && keywords >= 0 && hidden.allSatisfy { $0 > 0 }, "MLP sizes must be positive")
        self.inputs = inputs; self.outputs = outputs; self.keywords = keywords
        var p = 0, s = 0
        var slots: [Slot] = []
        func take(_ name: String, _ shape: [Int], _ kind: Kind) -> Int {
            let n = shape.reduce(1, *)
            if kind == .statistic {
                defer { s += n }
                slots.append(Slot(name: name, shape: shape, offset: s, kind: kind))
                return s
            }
            defer { p += n }
            slots.append(Slot(name: name, shape: shape, offset: p, kind: kind))
            return p
        }
        var blocks: [Block] = []
        var fanIn = inputs
        for (i, h) in hidden.enumerated() {
            let b = "blocks.\(i)."
            blocks.append(Block(fanIn: fanIn, width: h,
                                weight: take(b + "linear.weight", [h, fanIn], .weight),
                                bias: take(b + "linear.bias", [h], .bias),
                                gamma: take(b + "norm.weight", [h], .norm),
                                beta: take(b + "norm.bias", [h], .norm),
                                mean: take(b + "norm.running_mean", [h], .statistic),
                                variance: take(b + "norm.running_var", [h], .statistic)))
            fanIn = h
        }
        self.blocks = blocks
        outputWeight = take("output.weight", [outputs, fanIn], .weight)
        outputBias = take("output.bias", [outputs], .bias)
        if keywords > 0 {
            keywordWeight = take("mlc.weight", [keywords, outputs], .weight)
            keywordBias = take("mlc.bias", [keywords], .bias)
        } else {
            keywordWeight = p; keywordBias = p
        }
        parameterCount = p; statisticCount = s
        self.slots = slots
    }

    /// Parameters and statistics as a freshly constructed PyTorch module would
    /// hold them: Linear weights and biases uniform in ±1/√fanIn (what
    /// kaiming_uniform(a = √5) amounts to), γ = 1, β = 0, running mean 0,
    /// running variance 1. Deterministic for a seed.
    func initialValues(seed: UInt64) -> (parameters: [Float], statistics: [Float]) {
        var rng = SeededGenerator(seed: seed ^ 0x1A17_0000_0000_0001)
        var params = [Float](repeating: 0, count: parameterCount)
        var stats = [Float](repeating: 0, count: statisticCount)
        for slot in slots {
            switch slot.kind {
            case .weight, .bias:
                // A bias's bound uses its layer's fan-in, the weight's second dimension.
                let fanIn = slot.kind == .weight ? slot.shape[1] : fanIn(ofBiasAt: slot.offset)
                let bound = 1 / Float(fanIn).squareRoot()
                for i in 0..<slot.count { params[slot.offset + i] = (2 * Self.unit(&rng) - 1) * bound }
            case .norm:
                let isGamma = slot.name.hasSuffix("norm.weight")
                for i in 0..<slot.count { params[slot.offset + i] = isGamma ? 1 : 0 }
            case .statistic:
                let isVariance = slot.name.hasSuffix("running_var")
                for i in 0..<slot.count { stats[slot.offset + i] = isVariance ? 1 : 0 }
            }
        }
        return (params, stats)
    }

    private func fanIn(ofBiasAt offset: Int) -> Int {
        if let b = blocks.first(where: { $0.bias == offset }) { return b.fanIn }
        if offset == outputBias { return lastWidth }
        return outputs  // the keyword head's bias
    }

    /// A uniform Float in [0, 1) from the top 24 bits.
    @inline(__always)
    static func unit(_ rng: inout SeededGenerator) -> Float {
        Float(rng.next() >> 40) * (1 / Float(1 << 24))
    }
}
