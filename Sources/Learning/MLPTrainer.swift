import Foundation
import Inference

/// Trains an `MLPHead` as the paper does: mini-batches with a seeded shuffle
/// each epoch, AdamW with a step-wise cosine decay of the learning rate to 0
/// over the planned steps, the loss mean(1 − cos) + Huber + λ·BCE, and early
/// stopping on the validation mean cosine (the best parameters are kept).
/// Optionally with the paper's curriculum (`trainWithCurriculum`).
/// Deterministic for a seed. Everything a step touches is allocated before
/// the first step.
public enum MLPTrainer {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// The examples are malformed or do not fit each other.
        case data(String)
        /// The configuration cannot be trained.
        case config(String)
        /// The progress callback returned false, or the task was cancelled.
        case cancelled

        public var description: String {
            switch self {
            case .data(let s): return "MLP training data: \(s)"
            case .config(let s): return "MLP configuration: \(s)"
            case .cancelled: return "MLP training was cancelled"
            }
        }
    }

    /// Which run of `trainWithCurriculum` a progress report is about.
    public enum Phase: String, Sendable, Equatable {
        case vanilla, curriculum
    }

    /// Test hooks: observe each mini-batch's example indices.
    struct Hooks {
        var onBatch: ((_ epoch: Int, _ indices: UnsafeBufferPointer<Int32>) -> Void)?
    }

    /// One training run. With `curriculum`, epoch e shuffles and trains on
    /// `curriculum.exposed(epoch: e)` only. With `scoreDifficulty`, the result
    /// carries the paper's per-example difficulty scores (costs an eval pass
    /// over the training set after each improving epoch). `progress` is called
    /// after every epoch with its validation mean cosine; false cancels.
    /// A keyword head is trained when `config.mlcWeight` > 0 and
    /// `vocabularySize` > 0 (then `training.keywords` must be given).
    public static func train(_ training: MLPExamples, validation: MLPExamples, vocabularySize: Int = 0,
                             config: MLPConfig, curriculum: Curriculum? = nil, scoreDifficulty: Bool = false,
                             progress: (_ epoch: Int, _ validationMeanCosine: Float) -> Bool = { _, _ in true })
        throws(Failure) -> MLPTrainingResult {
        try run(training, validation: validation, vocabularySize: vocabularySize, config: config,
                curriculum: curriculum, scoreDifficulty: scoreDifficulty, hooks: Hooks(), progress: progress)
    }

    /// A run of exactly `epochs` epochs on the schedule `config` plans
    /// (`config.maxEpochs`), with no validation: the parameters after the
    /// last epoch come back (`epochs` 0: the initial ones). This replays a
    /// run whose epoch was chosen elsewhere, on rows that must stay unseen
    /// (the ensemble's per-fold refits, `TrainingRun+Folds`).
    static func train(_ training: MLPExamples, vocabularySize: Int = 0, config: MLPConfig, curriculum: Curriculum? = nil,
                      epochs: Int) throws(Failure) -> MLPTrainingResult {
        try run(training, validation: training, vocabularySize: vocabularySize, config: config, curriculum: curriculum,
                scoreDifficulty: false, fixedEpochs: min(max(0, epochs), config.maxEpochs), hooks: Hooks()) { _, _ in !Task.isCancelled }
    }

    /// The paper's curriculum learning: a vanilla run that scores every
    /// training example, then a run from scratch (same seed, same
    /// initialisation) that sees the easiest `fractions[0]` in epoch 1,
    /// `fractions[1]` in epoch 2, … Both heads come back; keep `best`, or the
    /// curriculum one.
    public static func trainWithCurriculum(_ training: MLPExamples, validation: MLPExamples, vocabularySize: Int = 0,
                                           config: MLPConfig, fractions: [Double] = Curriculum.paperFractions,
                                           progress: (_ phase: Phase, _ epoch: Int, _ validationMeanCosine: Float) -> Bool = { _, _, _ in true })
        throws(Failure) -> MLPCurriculumResult {
        try trainWithCurriculum(training, validation: validation, vocabularySize: vocabularySize, config: config,
                                fractions: fractions, hooks: Hooks(), progress: progress)
    }

    static func trainWithCurriculum(_ training: MLPExamples, validation: MLPExamples, vocabularySize: Int,
                                    config: MLPConfig, fractions: [Double], hooks: Hooks,
                                    progress: (_ phase: Phase, _ epoch: Int, _ validationMeanCosine: Float) -> Bool)
        throws(Failure) -> MLPCurriculumResult {
        guard !fractions.isEmpty, fractions.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw .config("curriculum fractions must be non-empty and lie in (0, 1], got \(fractions)")
        }
        let vanilla = try run(training, validation: validation, vocabularySize: vocabularySize, config: config,
                              curriculum: nil, scoreDifficulty: true, hooks: Hooks()) { progress(.vanilla, $0, $1) }
        let scores = vanilla.difficulty ?? []
        let curriculum = Curriculum(scores: scores, fractions: fractions)
        let learned = try run(training, validation: validation, vocabularySize: vocabularySize, config: config,
                              curriculum: curriculum, scoreDifficulty: false, hooks: hooks) { progress(.curriculum, $0, $1) }
        return MLPCurriculumResult(vanilla: vanilla, curriculum: learned, difficulty: scores)
    }

    // MARK: Batches

    /// End of the mini-batch starting at `start` among `count` examples: a
    /// full batch, except that a trailing single example joins this batch
    /// (BatchNorm cannot normalise one row).
    @inline(__always)
    static func batchEnd(start: Int, count: Int, batchSize: Int) -> Int {
        let end = min(count, start + batchSize)
        return count - end == 1 ? count : end
    }

    /// Optimizer steps an epoch over `count` examples takes.
    static func stepsPerEpoch(count: Int, batchSize: Int) -> Int {
        guard count >= 2 else { return 0 }
        return count / batchSize + (count % batchSize >= 2 ? 1 : 0)
    }

    // MARK: The run

    static func validate(_ training: MLPExamples, _ validation: MLPExamples, vocabularySize: Int,
                         config: MLPConfig, curriculum: Curriculum?) throws(Failure) {
        guard training.count >= 2 else { throw .data("training needs at least 2 examples (BatchNorm), got \(training.count)") }
        guard training.outputs == config.outputs, validation.outputs == config.outputs else {
            throw .data("targets have \(training.outputs) (training) and \(validation.outputs) (validation) values per row, the head \(config.outputs)")
        }
        guard validation.inputs == training.inputs else {
            throw .data("validation features have \(validation.inputs) values per row, training features \(training.inputs)")
        }
        guard config.hidden.allSatisfy({ $0 > 0 }), config.outputs > 0 else { throw .config("layer widths must be positive: \(config.hidden)") }
        guard config.batchSize >= 2 else { throw .config("batch size must be at least 2, got \(config.batchSize)") }
        guard config.maxEpochs >= 1, config.patience >= 1 else { throw .config("maxEpochs and patience must be at least 1") }
        guard config.dropout >= 0, config.dropout < 1 else { throw .config("dropout must lie in [0, 1), got \(config.dropout)") }
        guard config.learningRate > 0, config.weightDecay >= 0, config.huberDelta > 0, config.mlcWeight >= 0 else {
            throw .config("learning rate and Huber δ must be positive, weight decay and λ non-negative")
        }
        if let curriculum, curriculum.count != training.count {
            throw .data("the curriculum orders \(curriculum.count) examples, training has \(training.count)")
        }
        if config.mlcWeight > 0 && vocabularySize > 0 {
            guard training.keywords.count == training.count else {
                throw .data("a keyword head (λ = \(config.mlcWeight), \(vocabularySize) words) needs one keyword list per training example")
            }
            try training.checkKeywords(vocabularySize: vocabularySize)
        }
    }

    static func run(_ training: MLPExamples, validation: MLPExamples, vocabularySize: Int, config: MLPConfig,
                    curriculum: Curriculum?, scoreDifficulty: Bool, fixedEpochs: Int? = nil, hooks: Hooks,
                    progress: (_ epoch: Int, _ validationMeanCosine: Float) -> Bool) throws(Failure) -> MLPTrainingResult {
        try validate(training, validation, vocabularySize: vocabularySize, config: config, curriculum: curriculum)
        let keywords = config.mlcWeight > 0 ? max(0, vocabularySize) : 0
        let layout = MLPLayout(inputs: training.inputs, hidden: config.hidden, outputs: config.outputs, keywords: keywords)
        let outcome: Result<MLPTrainingResult, Failure> =
            training.x.withUnsafeBufferPointer { tx in
                training.y.withUnsafeBufferPointer { ty in
                    validation.x.withUnsafeBufferPointer { vx in
                        validation.y.withUnsafeBufferPointer { vy in
                            let data = RunData(trainX: tx.baseAddress!, trainY: ty.baseAddress!, count: training.count,
                                               keywords: training.keywords,
                                               validX: vx.baseAddress!, validY: vy.baseAddress!, validCount: validation.count)
                            return Result { () throws(Failure) -> MLPTrainingResult in
                                try loop(layout: layout, config: config, data: data, curriculum: curriculum,
                                         scoreDifficulty: scoreDifficulty, fixedEpochs: fixedEpochs, hooks: hooks, progress: progress)
                            }
                        }
                    }
                }
            }
        return try outcome.get()
    }

    /// Pointers into the caller's examples, valid for one `loop`.
    struct RunData {
        let trainX: UnsafePointer<Float>   // (count, inputs)
        let trainY: UnsafePointer<Float>   // (count, outputs)
        let count: Int
        let keywords: [[Int32]]
        let validX: UnsafePointer<Float>   // (validCount, inputs)
        let validY: UnsafePointer<Float>   // (validCount, outputs)
        let validCount: Int
    }

    private static func loop(layout: MLPLayout, config: MLPConfig, data: RunData, curriculum: Curriculum?,
                             scoreDifficulty: Bool, fixedEpochs: Int?, hooks: Hooks,
                             progress: (_ epoch: Int, _ validationMeanCosine: Float) -> Bool) throws(Failure) -> MLPTrainingResult {
        let n = data.count, batch = config.batchSize
        let workspace = MLPWorkspace(layout: layout, config: config)
        let best = FloatBuffer(count: layout.parameterCount), bestStatistics = FloatBuffer(count: layout.statisticCount)
        best.copy(from: workspace.parameters); bestStatistics.copy(from: workspace.statistics)
        let scratch = MLPKernels.EvalScratch(layout: layout, rows: MLPHead.chunkRows)
        let predictions = FloatBuffer(count: MLPHead.chunkRows * layout.outputs)   // (chunk, outputs)
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        defer { indices.deallocate() }
        var difficulty = scoreDifficulty ? DifficultyScores(count: n) : nil
        var cosines = [Float](repeating: 0, count: scoreDifficulty ? n : 0)
        var shuffler = SeededGenerator(seed: config.seed ^ 0x5EED_0000_0000_0002)

        func exposed(_ epoch: Int) -> Int { curriculum?.exposedCount(epoch: epoch) ?? n }
        let plannedSteps = (1...config.maxEpochs).reduce(0) { $0 + stepsPerEpoch(count: exposed($1), batchSize: batch) }

        func eachCosine(x: UnsafePointer<Float>, y: UnsafePointer<Float>, rows: Int, _ body: (Int, Float) -> Void) {
            let d = layout.outputs
            var start = 0
            while start < rows {
                let chunk = min(MLPHead.chunkRows, rows - start)
                MLPKernels.evaluate(layout, parameters: workspace.parameters.pointer, statistics: workspace.statistics.pointer,
                                    x: x + start * layout.inputs, rows: chunk, scratch: scratch,
                                    embeddings: predictions.pointer, probabilities: nil)
                for r in 0..<chunk {
                    let p = predictions.pointer + r * d, t = y + (start + r) * d
                    var dot: Float = 0, tt: Float = 0
                    for j in 0..<d { dot += p[j] * t[j]; tt += t[j] * t[j] }
                    body(start + r, dot / max(tt.squareRoot(), 1e-12))
                }
                start += chunk
            }
        }

        var bestCosine = -Float.infinity, bestEpoch = 0, epochsRun = 0, sinceBest = 0, step = 0
        var history: [Float] = []
        history.reserveCapacity(config.maxEpochs)
        var stoppedEarly = false
        let lastEpoch = fixedEpochs ?? config.maxEpochs
        if config.initialOutputBias != nil && fixedEpochs == nil {
            // A meaningful start (the mean target): it is epoch 0's candidate,
            // so the head kept is never worse on validation than where it began.
            var sum: Double = 0
            eachCosine(x: data.validX, y: data.validY, rows: data.validCount) { _, c in sum += Double(c) }
            bestCosine = Float(sum / Double(max(data.validCount, 1)))
        }
        for epoch in stride(from: 1, through: lastEpoch, by: 1) {
            // The epoch's examples, shuffled: all, or the curriculum's easiest share.
            let count = exposed(epoch)
            if let curriculum {
                for i in 0..<count { indices[i] = curriculum.order[i] }
            } else {
                for i in 0..<count { indices[i] = Int32(i) }
            }
            if count > 1 {
                for i in stride(from: count - 1, to: 0, by: -1) {
                    let j = Int(shuffler.next() % UInt64(i + 1))
                    indices.swapAt(i, j)
                }
            }
            var start = 0
            while start < count {
                let end = batchEnd(start: start, count: count, batchSize: batch)
                defer { start = end }
                let rows = end - start
                if rows < 2 { continue }
                let slice = UnsafeBufferPointer(rebasing: indices[start..<end])
                hooks.onBatch?(epoch, slice)
                workspace.load(x: data.trainX, y: data.trainY, keywords: data.keywords, indices: slice)
                workspace.forward(rows: rows, updateStatistics: true)
                _ = workspace.backward(rows: rows)
                workspace.step(learningRate: AdamW.cosineRate(config.learningRate, step: step, of: plannedSteps))
                step += 1
                if Task.isCancelled { throw .cancelled }
            }
            epochsRun = epoch
            if fixedEpochs != nil {
                if !progress(epoch, .nan) { throw .cancelled }
                continue
            }
            var sum: Double = 0
            eachCosine(x: data.validX, y: data.validY, rows: data.validCount) { _, c in sum += Double(c) }
            let cosine = Float(sum / Double(data.validCount))
            history.append(cosine)
            if cosine > bestCosine {
                bestCosine = cosine; bestEpoch = epoch; sinceBest = 0
                best.copy(from: workspace.parameters); bestStatistics.copy(from: workspace.statistics)
                if difficulty != nil {
                    eachCosine(x: data.trainX, y: data.trainY, rows: n) { i, c in cosines[i] = c }
                    difficulty?.add(epoch: epoch, cosines: cosines)
                }
            } else {
                sinceBest += 1
            }
            if !progress(epoch, cosine) { throw .cancelled }
            if sinceBest >= config.patience { stoppedEarly = epoch < config.maxEpochs; break }
        }
        if fixedEpochs != nil {
            // Nothing was validated: the last epoch's parameters.
            best.copy(from: workspace.parameters); bestStatistics.copy(from: workspace.statistics)
            bestEpoch = lastEpoch; bestCosine = .nan
        }
        let head = MLPHead(layout: layout, parameters: best.array, statistics: bestStatistics.array)
        return MLPTrainingResult(head: head, config: config, validationCosine: bestCosine, bestEpoch: bestEpoch,
                                 epochs: epochsRun, steps: step, stoppedEarly: stoppedEarly, history: history,
                                 difficulty: difficulty?.scores)
    }
}

/// What a training run produced.
public struct MLPTrainingResult: Sendable {
    /// The parameters of the epoch with the best validation mean cosine.
    public let head: MLPHead
    public let config: MLPConfig
    /// The best validation mean cosine (of `head`); NaN for a run of fixed epochs.
    public let validationCosine: Float
    /// The 1-based epoch `head` comes from.
    public let bestEpoch: Int
    /// Epochs run (fewer than `config.maxEpochs` when early stopping ended it).
    public let epochs: Int
    /// Optimizer steps taken.
    public let steps: Int
    public let stoppedEarly: Bool
    /// Validation mean cosine after each epoch.
    public let history: [Float]
    /// The curriculum's per-example difficulty scores (high = easy), when asked for.
    public let difficulty: [Float]?
}

/// Both runs of the paper's curriculum learning.
public struct MLPCurriculumResult: Sendable {
    public let vanilla: MLPTrainingResult
    public let curriculum: MLPTrainingResult
    /// The vanilla run's difficulty scores that ordered the curriculum (high = easy).
    public let difficulty: [Float]

    /// The run with the better validation mean cosine (the curriculum one on a tie).
    public var best: MLPTrainingResult {
        curriculum.validationCosine >= vanilla.validationCosine ? curriculum : vanilla
    }
}
