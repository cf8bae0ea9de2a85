import Inference

/// Grouped k-fold predictions for the ensemble's weights and its honest
/// score. Folds are by normalised prompt (`PromptGroups.hash` of the key
/// modulo `folds`), over every labelled row, so no row is ever predicted by
/// a member fitted on a row of its own prompt.
///
/// - ridge and k-NN (cheap: one closed-form solve, one table of prompt
///   means) are refitted per fold with the penalty and k chosen on
///   validation;
/// - the zero-shot member needs no fitting (its rows are the images' own
///   zero-shot predictions);
/// - the MLP heads and DAKL are not refitted per fold: the MLP runs are the
///   bulk of a training run's time (bench/RESULTS.md, release, per 1,000
///   examples: 5.1 of 5.5 s at 1k rows, 5.6 of 6.0 s at 5k; refitted in 5
///   folds a run would take about 5 times as long), so
///   they give their validation predictions (validation is held out from
///   them) and no prediction (a zero row, which `EnsembleWeights` leaves
///   out of that row's mean) on the training rows. Their weights are thus
///   fitted on the validation rows only, the others' on every row.
extension TrainingRun {
    /// Per row, its fold (0..<folds).
    static func folds(_ groups: PromptGroups, count: Int) -> (fold: [Int], folds: Int) {
        let folds = max(2, min(count, groups.count))
        return (groups.ids.map { Int(PromptGroups.hash(groups.keys[$0]) % UInt64(folds)) }, folds)
    }

    /// Fills `outOfFold` for every base member: ridge and k-NN refitted
    /// without each fold, the zero-shot rows, and the MLPs' validation rows.
    mutating func predictOutOfFold() throws {
        try report("out-of-fold members")
        let t0 = ContinuousClock.now
        defer { meter.seconds["out-of-fold", default: 0] += (ContinuousClock.now - t0).seconds }
        for e in encoders {
            guard let x = data.features[e], let h = heads[e] else { continue }
            let d = x.count / n
            var ridge = [Float](repeating: 0, count: n * dim), knn = ridge
            for f in 0..<folds {
                let test = (0..<n).filter { fold[$0] == f }, train = (0..<n).filter { fold[$0] != f }
                guard !test.isEmpty, train.count >= 2 else { continue }
                let yTrain = LibraryTrainer.rows(data.targets, train, dim), weights = groups.weights(of: train)
                let xTrain = LibraryTrainer.rows(x, train, d), xTest = LibraryTrainer.rows(x, test, d)
                var p = try RidgeRegressor(x: xTrain, y: yTrain, count: train.count, alpha: h.ridgeAlpha, weights: weights).predict(xTest)
                EnsembleWeights.normalizeRows(&p, dim)
                let (fx, fy, count) = groups.means(features: xTrain, targets: yTrain, rows: train)
                let q = KNNRegressor(features: fx, targets: fy, count: count, k: h.knn.k).predict(xTest)
                for (i, r) in test.enumerated() {
                    for j in 0..<dim { ridge[r * dim + j] = p[i * dim + j]; knn[r * dim + j] = q[i * dim + j] }
                }
            }
            outOfFold[.head(encoder: e, .ridge)] = ridge
            outOfFold[.head(encoder: e, .knn)] = knn
            outOfFold[.head(encoder: e, .mlp)] = onValidationRows(validationPredictions[.head(encoder: e, .mlp)] ?? [])
        }
        if hasZeroShot { outOfFold[.zeroShot] = data.zeroShot }
    }

    /// (n, dim): `validation` ((validation, dim)) on the validation rows, zero elsewhere.
    func onValidationRows(_ validation: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: n * dim)
        guard validation.count == valIdx.count * dim else { return out }
        for (i, r) in valIdx.enumerated() { for j in 0..<dim { out[r * dim + j] = validation[i * dim + j] } }
        return out
    }

    /// Weights fitted on every row's out-of-fold predictions, each prompt weighing once.
    func outOfFoldWeights(for members: [EnsembleMember], rows: [Int]? = nil) -> [Float] {
        let rows = rows ?? Array(0..<n)
        let predictions = members.map { LibraryTrainer.rows(outOfFold[$0]!, rows, dim) }
        return EnsembleWeights.fit(members: predictions, targets: LibraryTrainer.rows(data.targets, rows, dim), dimension: dim,
                                   rowWeights: groups.weights(of: rows))
    }

    /// Per fold, the weights fitted without its rows (nested: scored on
    /// a fold, the weights are held out too); equal with `fitEnsembleWeights` off.
    func foldWeights(_ members: [EnsembleMember]) -> [[Float]] {
        (0..<folds).map { f in
            let train = (0..<n).filter { fold[$0] != f }
            return options.fitEnsembleWeights && !train.isEmpty ? outOfFoldWeights(for: members, rows: train)
                : [Float](repeating: 1 / Float(members.count), count: members.count)
        }
    }

    /// (n, dim): each row's ensemble of the members' out-of-fold predictions
    /// with its fold's `foldWeights`.
    func nestedEnsemble(_ members: [EnsembleMember], weights: [[Float]]) -> [Float] {
        var out = [Float](repeating: 0, count: n * dim)
        for f in 0..<folds {
            let test = (0..<n).filter { fold[$0] == f }
            guard !test.isEmpty else { continue }
            let p = EnsembleWeights.combine(members.map { LibraryTrainer.rows(outOfFold[$0]!, test, dim) }, weights: weights[f], dimension: dim)
            for (i, r) in test.enumerated() { for j in 0..<dim { out[r * dim + j] = p[i * dim + j] } }
        }
        return out
    }

    /// (validation, dim): the trained members' validation predictions, each
    /// row combined with its fold's `foldWeights` (heads and weights both
    /// held out from the row).
    func nestedValidation(_ members: [EnsembleMember], weights: [[Float]]) -> [Float] {
        var out = [Float](repeating: 0, count: valIdx.count * dim)
        for (i, r) in valIdx.enumerated() {
            let p = EnsembleWeights.combine(members.map { Array(validationPredictions[$0]![(i * dim)..<((i + 1) * dim)]) },
                                            weights: weights[fold[r]], dimension: dim)
            for j in 0..<dim { out[i * dim + j] = p[j] }
        }
        return out
    }

    /// Each row's out-of-fold alignment: the cosine of an equal-weight ridge
    /// + k-NN ensemble (every encoder) fitted without its fold.
    func outOfFoldAlignment() -> [Float] {
        let members = encoders.flatMap { [EnsembleMember.head(encoder: $0, .ridge), .head(encoder: $0, .knn)] }.compactMap { outOfFold[$0] }
        guard !members.isEmpty else { return [Float](repeating: 0, count: n) }
        let p = EnsembleWeights.combine(members, weights: [Float](repeating: 1, count: members.count), dimension: dim)
        return EnsembleWeights.cosines(p, data.targets, dimension: dim)
    }
}
