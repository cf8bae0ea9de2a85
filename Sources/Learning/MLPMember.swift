import Foundation

/// The three MLP heads of one encoder, as the paper's ablation has them:
/// vanilla (cosine + Huber), +MLC (λ·BCE over the keyword vocabulary), and
/// +MLC+CL (retrained with the curriculum ordered by the +MLC run's
/// difficulty scores).
enum MLPMember {
    struct Runs {
        var heads: [Technique: MLPHead] = [:]
        /// Difficulty per labelled row (training rows: the curriculum's
        /// scores; validation rows: the +MLC head's cosine), high = easy.
        var difficulty: [Float]
        var seconds: [String: Double] = [:]
        /// Per head, the epoch it was taken from (its early stopping's choice).
        var epochs: [Technique: Int] = [:]
        /// The configuration of the +MLC runs (vanilla's has no keyword weight).
        var config: MLPConfig
    }

    static func train(x: [Float], y: [Float], words: [[Int32]], vocabularySize: Int, validationX: [Float], validationY: [Float],
                      trainingRows: [Int], validationRows: [Int], dimension d: Int, options: TrainingOptions,
                      phase: (String) throws -> Void, keepGoing: () -> Bool) throws -> Runs {
        let n = trainingRows.count
        let dim = y.count / max(n, 1)
        var config = MLPConfig.sized(inputs: d, examples: n, seed: options.seed)
        config.outputs = dim
        config.initialOutputBias = meanRow(y, rows: n, dimension: dim)
        if let cap = options.maxEpochs { config.maxEpochs = min(config.maxEpochs, cap) }
        let training = try MLPExamples(x: x, y: y, count: n, keywords: words)
        let validation = try MLPExamples(x: validationX, y: validationY, count: validationRows.count)
        var runs = Runs(difficulty: [Float](repeating: 0, count: trainingRows.count + validationRows.count), config: config)
        func clock<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
            let t0 = ContinuousClock.now
            defer { runs.seconds[key, default: 0] += (ContinuousClock.now - t0).seconds }
            return try body()
        }
        try phase("vanilla")
        var plain = config
        plain.mlcWeight = 0
        let vanilla = try clock("MLP vanilla") {
            try MLPTrainer.train(training, validation: validation, config: plain) { _, _ in keepGoing() }
        }
        runs.heads[.vanilla] = vanilla.head
        runs.epochs[.vanilla] = vanilla.bestEpoch
        try phase("+MLC, +CL")
        let cl = try clock("MLP +MLC and +MLC+CL") {
            try MLPTrainer.trainWithCurriculum(training, validation: validation, vocabularySize: vocabularySize, config: config,
                                               fractions: options.curriculumFractions.map(Double.init)) { _, _, _ in keepGoing() }
        }
        runs.heads[.mlc] = cl.vanilla.head
        runs.heads[.curriculum] = cl.curriculum.head
        runs.epochs[.mlc] = cl.vanilla.bestEpoch
        runs.epochs[.curriculum] = cl.curriculum.bestEpoch
        let total = trainingRows.count + validationRows.count
        var difficulty = [Float](repeating: 0, count: total)
        for (k, row) in trainingRows.enumerated() where k < cl.difficulty.count { difficulty[row] = cl.difficulty[k] }
        let valCos = EnsembleWeights.cosines(cl.vanilla.head.predict(validationX, rows: validationRows.count), validationY, dimension: dim)
        for (k, row) in validationRows.enumerated() { difficulty[row] = valCos[k] }
        runs.difficulty = difficulty
        return runs
    }

    /// Head `technique` trained again as `runs` trained it, on other rows
    /// (`x`, `y`, `words`: a fold's training rows), for the epochs its early
    /// stopping chose, with no validation; the curriculum orders the rows by
    /// `difficulty` (the main run's scores of these rows).
    static func refit(_ technique: Technique, runs: Runs, x: [Float], y: [Float], words: [[Int32]], difficulty: [Float],
                      vocabularySize: Int, options: TrainingOptions) throws -> MLPHead {
        let n = words.count
        var config = runs.config
        if technique == .vanilla { config.mlcWeight = 0 }
        config.initialOutputBias = meanRow(y, rows: n, dimension: config.outputs)
        let training = try MLPExamples(x: x, y: y, count: n, keywords: words)
        let curriculum = technique == .curriculum
            ? Curriculum(scores: difficulty, fractions: options.curriculumFractions.map(Double.init)) : nil
        return try MLPTrainer.train(training, vocabularySize: technique == .vanilla ? 0 : vocabularySize, config: config,
                                    curriculum: curriculum, epochs: runs.epochs[technique] ?? 0).head
    }

    /// The mean of (rows, dimension) targets: where a head starts (its output bias).
    static func meanRow(_ y: [Float], rows n: Int, dimension dim: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: dim)
        for r in 0..<n { for j in 0..<dim { mean[j] += y[r * dim + j] / Float(max(n, 1)) } }
        return mean
    }
}
