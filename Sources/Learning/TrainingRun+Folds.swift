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
/// - up to `TrainingOptions.mlpFoldRefitLimit` labelled images, the MLP
///   head each encoder keeps is trained again without each fold
///   (`mlpOutOfFold`): the same configuration, for the epochs its early
///   stopping chose on validation (as ridge's penalty and k-NN's k are
///   chosen there), no validation rows of its own;
/// - above it, and for DAKL, no refit: the MLP runs are the bulk of a
///   training run's time (bench/RESULTS.md, release, per 1,000 examples:
///   5.1 of 5.5 s at 1k rows, 5.6 of 6.0 s at 5k), so they give their
///   validation predictions (validation is held out from them) and no
///   prediction (a zero row, which `EnsembleWeights` leaves out of that
///   row's mean) on the training rows. Their weights are then fitted on the
///   validation rows only, the others' on every row.
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
                let xTest = LibraryTrainer.rows(x, test, d)
                // The fold's training rows copied for the ridge alone (gone before the
                // k-NN's group means, which read them in place): bounded memory at 100k rows.
                var p = try {
                    let xTrain = LibraryTrainer.rows(x, train, d), yTrain = LibraryTrainer.rows(data.targets, train, dim)
                    return try RidgeRegressor(x: xTrain, y: yTrain, count: train.count, alpha: h.ridgeAlpha, weights: groups.weights(of: train))
                        .predict(xTest)
                }()
                EnsembleWeights.normalizeRows(&p, dim)
                let (fx, fy, count) = groups.means(ofRows: train, features: x, targets: data.targets, count: n)
                let (qs, near) = KNNRegressor(features: consume fx, targets: fy, count: count, k: h.knn.k).predictWithNearest(xTest)
                let q = qs[0]
                for (i, r) in test.enumerated() {
                    for j in 0..<dim { ridge[r * dim + j] = p[i * dim + j]; knn[r * dim + j] = q[i * dim + j] }
                    outOfFoldSimilarity[r] += near[i] / Float(encoders.count)
                }
            }
            outOfFold[.head(encoder: e, .ridge)] = ridge
            outOfFold[.head(encoder: e, .knn)] = knn
            if outOfFold[.head(encoder: e, .mlp)] == nil {
                outOfFold[.head(encoder: e, .mlp)] = onValidationRows(validationPredictions[.head(encoder: e, .mlp)] ?? [])
            }
        }
        if hasZeroShot { outOfFold[.zeroShot] = data.zeroShot }
    }

    /// (n, dim): every row predicted by encoder `e`'s MLP head `technique`
    /// trained again without the row's fold (`MLPMember.refit`), on the
    /// standardised features of the main run (`zTrain`, `zVal`). Like ridge's
    /// penalty and k-NN's k, what the refits share with the main run was
    /// chosen with rows of every fold: the epochs (on validation), the
    /// keyword vocabulary (from the training prompts) and the curriculum's
    /// order (the main run's difficulty scores). Those are settings and an
    /// order, not a fit: no refit's weights see the rows it predicts.
    func mlpOutOfFold(_ e: String, _ technique: Technique, runs: MLPMember.Runs, zTrain: [Float], zVal: [Float], inputs d: Int) throws -> [Float] {
        var z = [Float](repeating: 0, count: n * d)
        for (i, r) in trainIdx.enumerated() { for j in 0..<d { z[r * d + j] = zTrain[i * d + j] } }
        for (i, r) in valIdx.enumerated() { for j in 0..<d { z[r * d + j] = zVal[i * d + j] } }
        let words = (0..<n).map { LibraryTrainer.wordIndices(vocabulary, data.prompts[$0]) }
        var out = [Float](repeating: 0, count: n * dim)
        for f in 0..<folds {
            guard meter.keepGoing("\(e): MLP out of fold") else { throw TrainingFailure("cancelled") }
            let test = (0..<n).filter { fold[$0] == f }, train = (0..<n).filter { fold[$0] != f }
            guard !test.isEmpty, train.count >= 2 else { continue }
            let head = try MLPMember.refit(technique, runs: runs, x: LibraryTrainer.rows(z, train, d), y: LibraryTrainer.rows(data.targets, train, dim),
                                           words: train.map { words[$0] }, difficulty: train.map { runs.difficulty[$0] },
                                           vocabularySize: vocabulary.words.count, options: options)
            let p = head.predict(LibraryTrainer.rows(z, test, d), rows: test.count)   // unit rows
            for (i, r) in test.enumerated() { for j in 0..<dim { out[r * dim + j] = p[i * dim + j] } }
        }
        return out
    }

    /// How far below the library's lower quartile of similarities, in
    /// interquartile ranges, a row lies before it is an outlier the domain
    /// threshold does not follow (`domainThreshold(similarities:)`): 3,
    /// Tukey's "far out" fence. Measured (bench/RESULTS.md, quality): with
    /// the lowest row as the threshold, one stray library image let 6 of 46
    /// images from other front-ends through (across sources 0.4071); the
    /// fence at 3 sends 4 of them to zero-shot (0.4210) and changes none of
    /// the other sets; at 1.5 it cost the generated set 0.017, and the 5 %
    /// quantile cost it 0.076 (15 % of held-out images of the library's own
    /// kind sent to zero-shot).
    static let domainFence: Float = 3

    /// The cosine, in the encoders' feature space (the mean over encoders),
    /// to the nearest labelled prompt below which an image is outside what
    /// the learned heads were measured on: the lowest similarity of a
    /// labelled row to the nearest prompt of the other folds, outliers
    /// aside. Every row but those outliers was measured out of fold at or above
    /// it; an image farther from every labelled prompt than the library's
    /// images are from the others' is from elsewhere, where the heads were
    /// never measured (across sources they lost to zero-shot, 0.20 against
    /// 0.43), and keeps its zero-shot prediction.
    func domainThreshold() -> Float? {
        guard hasZeroShot, n >= LibraryTrainer.minimumExamples else { return nil }
        return Self.domainThreshold(similarities: outOfFoldSimilarity)
    }

    /// The lowest of `similarities`, or, when that is an outlier, the
    /// lower fence `domainFence` interquartile ranges below the lower
    /// quartile (quartiles by linear interpolation).
    static func domainThreshold(similarities: [Float]) -> Float? {
        let sorted = similarities.sorted()
        guard let lowest = sorted.first else { return nil }
        let q1 = quantile(sorted, 0.25), q3 = quantile(sorted, 0.75)
        return max(lowest, q1 - domainFence * (q3 - q1))
    }

    /// The q-quantile of ascending, non-empty `sorted`, interpolated linearly
    /// between the two nearest ranks (numpy's default): the one definition
    /// the domain threshold's quartiles and the near weights' median share.
    static func quantile(_ sorted: [Float], _ q: Float) -> Float {
        let x = q * Float(sorted.count - 1), i = Int(x), t = x - Float(i)
        return i + 1 < sorted.count ? sorted[i] + t * (sorted[i + 1] - sorted[i]) : sorted[i]
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
    /// a fold, the weights are held out too), unshrunk; equal with
    /// `fitEnsembleWeights` off.
    func foldWeights(_ members: [EnsembleMember]) -> [[Float]] {
        (0..<folds).map { f in
            let train = (0..<n).filter { fold[$0] != f }
            return options.fitEnsembleWeights && !train.isEmpty ? outOfFoldWeights(for: members, rows: train)
                : [Float](repeating: 1 / Float(members.count), count: members.count)
        }
    }

    /// Shares of the fitted weights tried against equal weights (0: equal, 1: as fitted).
    static let shrinkages: [Float] = [0, 0.25, 0.5, 0.75, 1]

    /// The ensemble's weights for `members`: those fitted on every row out of
    /// fold, shrunk toward equal weights (over the members measured on some
    /// row) by the share that scores best nested out of fold (each fold
    /// scored with weights fitted without it, shrunk by the same share),
    /// the smaller share on a tie. A few dozen prompts fit ten members'
    /// weights to their noise; equal weights are the prior the paper's
    /// ensemble starts from. Also the per-fold weights so shrunk (for the
    /// report's nested scores) and the share.
    func ensembleWeights(for members: [EnsembleMember]) -> (weights: [Float], folds: [[Float]], share: Float) {
        guard options.fitEnsembleWeights else {
            let equal = [Float](repeating: 1 / Float(members.count), count: members.count)
            return (equal, [[Float]](repeating: equal, count: folds), 0)
        }
        let measured = members.map { m in outOfFold[m]!.contains { $0 != 0 } }
        let count = max(1, measured.filter { $0 }.count)
        let equal = measured.map { $0 ? 1 / Float(count) : 0 }
        func shrunk(_ w: [Float], _ share: Float) -> [Float] { Self.shrunk(w, toward: equal, share) }
        let perFold = foldWeights(members)
        let rowWeights = groups.weights(of: Array(0..<n))
        var best: (share: Float, score: Float) = (0, -.infinity)
        for share in Self.shrinkages {
            let p = nestedEnsemble(members, weights: perFold.map { shrunk($0, share) })
            let score = EnsembleWeights.meanCosine(p, data.targets, dimension: dim, weights: rowWeights)
            if score > best.score + 1e-6 { best = (share, score) }
        }
        return (shrunk(outOfFoldWeights(for: members), best.share), perFold.map { shrunk($0, best.share) }, best.share)
    }

    /// Share of labelled rows, the nearest to other prompts' images, whose
    /// weights `nearWeights` fits: those at or above the median similarity.
    static let nearQuantile: Float = 0.5

    /// Weights for images near a labelled prompt. Folds split by prompt make
    /// every row a new prompt, so the weights fitted on them serve images of
    /// prompts the library lacks; a stripped seed variation of a library
    /// prompt lies nearer, where the heads alone did better (bench/RESULTS.md,
    /// quality: a held-out folder of library prompts, the ensemble 0.842
    /// under every learned member's 0.847–0.860). So: the weights fitted on
    /// the rows at least the median similarity to the nearest prompt of the
    /// other folds (`outOfFoldSimilarity`), shrunk toward the global weights
    /// by the share that scores best on those rows nested out of fold (each
    /// fold scored with both fitted without it), the smaller share on a
    /// tie. nil when that share is 0 (the near rows' own weights did no
    /// better), weights are not fitted, or fewer than two prompts lie near.
    func nearWeights(_ members: [EnsembleMember], global: [Float], folds foldWeights: [[Float]])
        -> (similarity: Float, weights: [Float], share: Float)? {
        guard options.fitEnsembleWeights, n >= LibraryTrainer.minimumExamples, foldWeights.count == folds else { return nil }
        let threshold = Self.quantile(outOfFoldSimilarity.sorted(), Self.nearQuantile)
        let near = (0..<n).filter { outOfFoldSimilarity[$0] >= threshold }
        guard groups.distinct(in: near) >= 2 else { return nil }
        let perFold = (0..<folds).map { f -> [Float]? in
            let train = near.filter { fold[$0] != f }
            return train.isEmpty ? nil : outOfFoldWeights(for: members, rows: train)
        }
        let rowWeights = groups.weights(of: near), targets = LibraryTrainer.rows(data.targets, near, dim)
        var best: (share: Float, score: Float) = (0, -.infinity)
        for share in Self.shrinkages {
            let weights = (0..<folds).map { f in perFold[f].map { Self.shrunk($0, toward: foldWeights[f], share) } ?? foldWeights[f] }
            let score = EnsembleWeights.meanCosine(nestedEnsemble(members, weights: weights, rows: near), targets, dimension: dim, weights: rowWeights)
            if score > best.score + 1e-6 { best = (share, score) }
        }
        guard best.share > 0 else { return nil }
        return (threshold, Self.shrunk(outOfFoldWeights(for: members, rows: near), toward: global, best.share), best.share)
    }

    /// (rows.count, dim): each of `rows` (all by default) as its fold's
    /// `weights` combine the members' out-of-fold predictions.
    func nestedEnsemble(_ members: [EnsembleMember], weights: [[Float]], rows: [Int]? = nil) -> [Float] {
        let rows = rows ?? Array(0..<n)
        var out = [Float](repeating: 0, count: rows.count * dim)
        for f in 0..<folds {
            let test = rows.indices.filter { fold[rows[$0]] == f }
            guard !test.isEmpty else { continue }
            let p = EnsembleWeights.combine(members.map { LibraryTrainer.rows(outOfFold[$0]!, test.map { rows[$0] }, dim) },
                                            weights: weights[f], dimension: dim)
            for (i, t) in test.enumerated() { for j in 0..<dim { out[t * dim + j] = p[i * dim + j] } }
        }
        return out
    }

    /// `share` of `w` and the rest of `toward`.
    static func shrunk(_ w: [Float], toward: [Float], _ share: Float) -> [Float] { zip(w, toward).map { share * $0 + (1 - share) * $1 } }

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

// MARK: Encoders against not learning

extension TrainingRun {
    /// Per row, the cosine to its target of its fold's constant prediction:
    /// the normalised mean target of the other folds' rows, each prompt
    /// weighing once (a mean per fold, not a row of it per row: bounded
    /// memory at 100k rows).
    func outOfFoldConstantCosines() -> [Float] {
        let rowWeights = groups.weights(of: Array(0..<n))
        var means = [[Float]](repeating: [Float](repeating: 0, count: dim), count: folds)
        for r in 0..<n {
            for f in 0..<folds where f != fold[r] {
                for j in 0..<dim { means[f][j] += rowWeights[r] * data.targets[r * dim + j] }
            }
        }
        means = means.map(VectorMath.l2Normalized)
        return (0..<n).map { r in
            EnsembleWeights.cosines(means[fold[r]], Array(data.targets[(r * dim)..<((r + 1) * dim)]), dimension: dim)[0]
        }
    }

    /// Per encoder, out of fold: its best member's mean cosine, with the
    /// constant's (`outOfFoldConstantCosines`) and zero-shot's on the same
    /// rows (the rows the member predicts: every row, or validation only for
    /// the MLPs of a large library), each prompt weighing once.
    func encoderScores() -> [String: TrainingReport.EncoderScore] {
        let rowWeights = groups.weights(of: Array(0..<n))
        let constant = outOfFoldConstantCosines()
        let zeroShot = hasZeroShot ? EnsembleWeights.cosines(data.zeroShot, data.targets, dimension: dim) : nil
        var out: [String: TrainingReport.EncoderScore] = [:]
        for e in encoders {
            var best: TrainingReport.EncoderScore?
            for member in EnsembleMember.base(e) {
                guard let p = outOfFold[member] else { continue }
                let rows = (0..<n).filter { r in p[(r * dim)..<((r + 1) * dim)].contains { $0 != 0 } }
                let total = rows.reduce(Float(0)) { $0 + rowWeights[$1] }
                guard total > 0 else { continue }
                func mean(_ c: [Float]) -> Float { rows.reduce(Float(0)) { $0 + rowWeights[$1] * c[$1] } / total }
                let s = TrainingReport.EncoderScore(member: member.name, cosine: mean(EnsembleWeights.cosines(p, data.targets, dimension: dim)),
                                                    constant: mean(constant), zeroShot: zeroShot.map(mean))
                if best.map({ s.margin > $0.margin }) ?? true { best = s }
            }
            if let best { out[e] = best }
        }
        return out
    }
}
