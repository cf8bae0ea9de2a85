/// How an `MLPHead` is shaped and trained: the hyper-parameters of the
/// paper's regression head on frozen image features (cosine + Huber loss on
/// the 384-d prompt embedding, plus λ·BCE of the multi-label keyword head).
public struct MLPConfig: Sendable, Codable, Equatable {
    /// Widths of the hidden blocks (Linear → GELU → BatchNorm → Dropout), in order.
    public var hidden: [Int]
    /// Width of the regressed embedding (MiniLM: 384).
    public var outputs: Int
    /// Dropout probability after each block's BatchNorm (training only).
    public var dropout: Float
    /// AdamW's peak learning rate; decays to 0 along a cosine over the planned steps.
    public var learningRate: Float
    /// AdamW's decoupled weight decay, on Linear weights only (not biases, not BatchNorm).
    public var weightDecay: Float
    /// Examples per mini-batch (a trailing single example joins the batch before it).
    public var batchSize: Int
    /// Epochs planned; the cosine schedule spans them, early stopping may end sooner.
    public var maxEpochs: Int
    /// Epochs without a better validation mean cosine before training stops.
    public var patience: Int
    /// λ, the weight of the keyword head's BCE loss; 0 trains no keyword head.
    public var mlcWeight: Float
    /// δ of the Huber loss between the normalised output and the target.
    public var huberDelta: Float
    /// Seeds initialisation, shuffles and dropout masks: same seed, same head.
    public var seed: UInt64
    /// The output layer's initial bias (nil: the usual uniform init). The
    /// library trainer starts it at the mean training target with zero output
    /// weights, so the head starts as the constant baseline (a candidate for
    /// early stopping: "epoch 0") and learns what differs per image.
    public var initialOutputBias: [Float]? = nil

    public init(hidden: [Int], outputs: Int = 384, dropout: Float = 0.1, learningRate: Float = 1e-4,
                weightDecay: Float = 0.01, batchSize: Int = 64, maxEpochs: Int = 100, patience: Int = 10,
                mlcWeight: Float = 0.1, huberDelta: Float = 1, seed: UInt64 = 1) {
        self.hidden = hidden; self.outputs = outputs; self.dropout = dropout; self.learningRate = learningRate
        self.weightDecay = weightDecay; self.batchSize = batchSize; self.maxEpochs = maxEpochs; self.patience = patience
        self.mlcWeight = mlcWeight; self.huberDelta = huberDelta; self.seed = seed
    }

    /// Optimizer steps a training run should be able to take at learning rate
    /// 1e-4: AdamW moves each weight by about lr per step, so a few thousand
    /// steps are needed before the head has left its initialisation.
    public static let targetSteps = 6_000

    /// A configuration sized to the data:
    /// - one hidden layer of width clamp(examples / 2, 128…1024), rounded to a
    ///   multiple of 64 (a wider layer than half the examples only memorises;
    ///   1024 is the paper-sized head and keeps a 1280-d input at 1.3 M weights),
    ///   and no wider than 4 × inputs (rounded up to 64) for narrow features;
    /// - `maxEpochs` = ⌈targetSteps / steps per epoch⌉ clamped to 20…400, so a
    ///   1,000-example set still gets ~6,000 steps and 100,000 examples 20 epochs;
    /// - `patience` = a tenth of that, clamped to 5…20 (small sets have short,
    ///   noisy epochs and need more of them to show a real plateau).
    public static func sized(inputs: Int, examples: Int, seed: UInt64 = 1) -> MLPConfig {
        let half = max(examples, 0) / 2
        let cap = max(128, (4 * max(inputs, 1) + 63) / 64 * 64)
        let width = min(cap, 1024, max(128, (half + 32) / 64 * 64))
        let batch = 64
        let stepsPerEpoch = max(1, (examples + batch - 1) / batch)
        let epochs = min(400, max(20, (targetSteps + stepsPerEpoch - 1) / stepsPerEpoch))
        let patience = min(20, max(5, epochs / 10))
        return MLPConfig(hidden: [width], batchSize: batch, maxEpochs: epochs, patience: patience, seed: seed)
    }
}
