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
    }

    static func train(x: [Float], y: [Float], words: [[Int32]], vocabularySize: Int, validationX: [Float], validationY: [Float],
                      trainingRows: [Int], validationRows: [Int], dimension d: Int, options: TrainingOptions,
                      phase: (String) throws -> Void, keepGoing: () -> Bool) throws -> Runs {
        let n = trainingRows.count
        let dim = y.count / max(n, 1)
        var config = MLPConfig.sized(inputs: d, examples: n, seed: options.seed)
        config.outputs = dim
        var mean = [Float](repeating: 0, count: dim)
        for r in 0..<n { for j in 0..<dim { mean[j] += y[r * dim + j] / Float(max(n, 1)) } }
        config.initialOutputBias = mean
        if let cap = options.maxEpochs { config.maxEpochs = min(config.maxEpochs, cap) }
        let training = try MLPExamples(x: x, y: y, count: n, keywords: words)
        let validation = try MLPExamples(x: validationX, y: validationY, count: validationRows.count)
        var runs = Runs(difficulty: [Float](repeating: 0, count: trainingRows.count + validationRows.count))
        func clock<T>(_ key: String, _ body: () throws -> T) rethrows -> T {
            let t0 = ContinuousClock.now
            defer { runs.seconds[key, default: 0] += (ContinuousClock.now - t0).seconds }
            return try body()
        }
        try phase("vanilla")
        var plain = config
        plain.mlcWeight = 0
        runs.heads[.vanilla] = try clock("MLP vanilla") {
            try MLPTrainer.train(training, validation: validation, config: plain) { _, _ in keepGoing() }.head
        }
        try phase("+MLC, +CL")
        let cl = try clock("MLP +MLC and +MLC+CL") {
            try MLPTrainer.trainWithCurriculum(training, validation: validation, vocabularySize: vocabularySize, config: config,
                                               fractions: options.curriculumFractions.map(Double.init)) { _, _, _ in keepGoing() }
        }
        runs.heads[.mlc] = cl.vanilla.head
        runs.heads[.curriculum] = cl.curriculum.head
        let total = trainingRows.count + validationRows.count
        var difficulty = [Float](repeating: 0, count: total)
        for (k, row) in trainingRows.enumerated() where k < cl.difficulty.count { difficulty[row] = cl.difficulty[k] }
        let valCos = EnsembleWeights.cosines(cl.vanilla.head.predict(validationX, rows: validationRows.count), validationY, dimension: dim)
        for (k, row) in validationRows.enumerated() { difficulty[row] = valCos[k] }
        runs.difficulty = difficulty
        return runs
    }
}
