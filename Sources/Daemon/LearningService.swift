import Foundation
import Analysis
import Inference
import Logging
import Learning
import Store
import Synchronization
import RevsdSystem

/// The learning half of revsdd: holds the learned model and the prompt bank,
/// trains on a thread of its own (one run at a time), swaps the model in
/// whole when a run succeeds, and re-predicts every image with it — when it
/// beats the zero-shot prediction on validation (`TrainingReport.adopted`);
/// a model that does not is kept for `status` and `eval`, and every image
/// gets its zero-shot prediction back. The
/// thread is the loop of the LearningLoop service (`run`): it sleeps until a
/// run is asked for, and shutdown stops it (a training run at its next
/// epoch, a re-prediction at its next chunk; both are resumed or redone later).
public final class LearningService: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        case training(phase: String, fraction: Double, reason: String)
        case predicting(done: Int, total: Int)
    }

    let store: IndexStore
    let promptEncoder: SentenceEncoder
    let logger: Logger
    public let modelPath: String
    /// As configured; `trainingOptions()` adds the part-of-speech lexicon.
    let options: TrainingOptions
    let retrainAfter: Int
    /// The encoders the analyzer computes now: training uses only these (a
    /// CLIP folder removed from the configuration leaves old features behind).
    let encoders: [String]
    /// Gives the zero-shot predictions from stored features: scored on the
    /// trainer's validation split, restored when a run is not adopted (nil:
    /// every run is adopted, unmeasured).
    let analyzer: ImageAnalyzer?
    let onProgress: @Sendable () -> Void

    /// What the learning thread does next.
    enum Run: Sendable, Equatable {
        case repredict
        case train(reason: String)
        /// A fresh run for `eval_run`, on this thread like every training.
        case evaluate(EvaluationTraining)
    }

    struct Shared {
        var model: LearnedModel?
        var bank: PromptBank
        var state: State = .idle
        var lastError: String?
        var cancelled = false
        /// Asked for, not yet taken by the learning thread.
        var pending: Run?
        /// WordNet, read at the first training (nil inside: not installed).
        var lexicon: PartOfSpeechLexicon??
    }
    let shared: Mutex<Shared>
    /// Wakes the learning thread for a pending run, or to stop.
    let wakeUp = WorkQueueSignal()

    public init(store: IndexStore, promptEncoder: SentenceEncoder, encoders: [String], stateDirectory: String, options: TrainingOptions,
                retrainAfter: Int, analyzer: ImageAnalyzer? = nil, logger: Logger, onProgress: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.analyzer = analyzer
        self.encoders = encoders
        self.promptEncoder = promptEncoder
        self.logger = logger
        self.options = options
        self.retrainAfter = retrainAfter
        self.onProgress = onProgress
        modelPath = (stateDirectory as NSString).appendingPathComponent(LearnedModel.fileName)
        shared = Mutex(Shared(bank: PromptBank(dimension: promptEncoder.dimension)))
    }

    /// The configured options with WordNet as the MLC vocabulary's
    /// part-of-speech lexicon (nouns, adjectives, verbs, as the paper keeps),
    /// read once, at the first training; without wordnet-base, a warning and
    /// the stop-word filter alone.
    public func trainingOptions() -> TrainingOptions {
        var o = options
        guard o.lexicon == nil else { return o }
        if let cached = shared.withLock({ $0.lexicon }) { o.lexicon = cached; return o }
        let loaded: PartOfSpeechLexicon?
        do { loaded = try PartOfSpeechLexicon.wordNet() } catch {
            logger.warning("no part-of-speech lexicon: MLC keywords are every content word", metadata: ["error": "\(error)"])
            loaded = nil
        }
        shared.withLock { $0.lexicon = .some(loaded) }
        o.lexicon = loaded
        return o
    }

    /// The last trained model, adopted or not (`status`, `eval`).
    public var model: LearnedModel? { shared.withLock { $0.model } }
    /// The model that makes the predictions: the last trained one when it
    /// beat the zero-shot prediction on validation; nil: zero-shot.
    public var adoptedModel: LearnedModel? { model.flatMap { $0.report.isAdopted ? $0 : nil } }
    public var bank: PromptBank { shared.withLock { $0.bank } }
    public var state: State { shared.withLock { $0.state } }
    public var lastError: String? { shared.withLock { $0.lastError } }

    /// Loads the saved model (a damaged one is logged and ignored: the daemon
    /// falls back to zero-shot until the next training) and the prompt bank.
    public func prepare() {
        if FileManager.default.fileExists(atPath: modelPath) {
            do {
                let m = try LearnedModel(path: modelPath)
                shared.withLock { $0.model = m }
                logger.info("loaded the learned model", metadata: ["path": "\(modelPath)", "examples": "\(m.report.examples)"])
            } catch {
                logger.error("ignoring a learned model that cannot be read", metadata: ["error": "\(error)"])
            }
        }
        do { try rebuildBank() } catch { logger.error("cannot load the prompt bank", metadata: ["error": "\(error)"]) }
        // A run whose re-prediction was cut short (the daemon stopped) finishes it now.
        if let m = model, (try? store.trainingState(.predictedWithModel)) != Self.stamp(m) {
            shared.withLock { $0.state = .predicting(done: 0, total: 0); $0.pending = .repredict }
            wakeUp.signal()
        }
    }

    /// The learning thread, until graceful shutdown (which cancels a training
    /// run in progress). Throws when the thread dies.
    public func run() async throws {
        let thread = BlockingThread(name: "revsd-learning", stackSize: 8 << 20) { [self] in learningLoop() }
        try await SupervisedLoops.run([thread]) { [self] in
            cancel()   // a training run stops at its next epoch; the saved heads stay as they were
            wakeUp.stop()
        }
    }

    func learningLoop() {
        while !wakeUp.isStopping {
            let seen = wakeUp.currentGeneration
            switch shared.withLock({ s in defer { s.pending = nil }; return s.pending }) {
            case .repredict?:
                do {
                    if try !repredictAll() { logger.info("re-prediction stopped by shutdown; it continues at the next start") }
                } catch { logger.error("re-predicting failed", metadata: ["error": "\(error)"]) }
                shared.withLock { $0.state = .idle }
                onProgress()
            case .train(let reason)?:
                runTraining(reason: reason)
            case .evaluate(let job)?:
                runEvaluationTraining(job)
            case nil:
                if wakeUp.wait(after: seen) == .stopped { break }
            }
        }
        // Stopping: an evaluation still waiting for this thread is answered.
        if case .evaluate(let job)? = shared.withLock({ s in defer { s.pending = nil }; return s.pending }) {
            job.finish(.failure(LearningUnavailable(reason: "the daemon is stopping")))
        }
    }

    static func stamp(_ m: LearnedModel) -> String { "\(m.report.trainedAt.timeIntervalSince1970)" }

    /// The bank: every known prompt of the library, then imported prompts.
    public func rebuildBank(excluding: Set<String> = []) throws {
        let b = try makeBank(excluding: excluding)
        shared.withLock { $0.bank = b }
    }

    func makeBank(excluding hashes: Set<String> = []) throws -> PromptBank {
        var b = PromptBank(dimension: promptEncoder.dimension)
        let known = try store.labelledRows(encoders: [], excluding: hashes, promptKeys: false)
        b.add(known.prompts, vectors: known.targets)
        let imported = try store.bankPrompts()
        b.add(imported.prompts, vectors: imported.vectors)
        return b
    }

    /// Imports prompts; returns (read, added). Each distinct text is handled
    /// once: texts the bank already holds are never embedded again (those
    /// imported before are skipped; a known prompt of the library is stored
    /// with the embedding the bank has for it, so it stays in the bank if its
    /// image goes), the rest are embedded in one call (the encoder sorts
    /// them by length into packed batches), and all are written in one
    /// transaction: a request that fails leaves nothing of itself behind and
    /// everything earlier stored. The bank grows in memory (no re-read).
    public func importPrompts(_ prompts: [String], source: String) throws -> (read: Int, added: Int) {
        var seen = Set<String>()
        let distinct = prompts.filter { seen.insert($0).inserted }
        let stored = try store.bankContains(distinct)
        let bank = self.bank
        var reused: [String] = [], reusedVectors: [[Float]] = [], fresh: [String] = []
        for p in distinct where !stored.contains(p) {
            if let v = bank.embedding(of: p) { reused.append(p); reusedVectors.append(v) } else { fresh.append(p) }
        }
        let texts = reused + fresh
        guard !texts.isEmpty else { return (prompts.count, 0) }
        let vectors = reusedVectors + promptEncoder.embed(fresh)
        let added = try store.addBankPrompts(texts, vectors: vectors, source: source)
        let flat = vectors.flatMap { $0 }
        shared.withLock { $0.bank.add(texts, vectors: flat) }
        return (prompts.count, added)
    }

    // MARK: Training

    /// Starts a training run on the learning thread; false when one is running.
    @discardableResult
    public func startTraining(reason: String) -> Bool {
        let started: Bool = shared.withLock { s in
            guard case .idle = s.state else { return false }
            s.state = .training(phase: "reading the index", fraction: 0, reason: reason)
            s.cancelled = false
            s.pending = .train(reason: reason)
            return true
        }
        if started { wakeUp.signal() }
        return started
    }

    public func cancel() { shared.withLock { $0.cancelled = true } }

    /// Retrains when enough new labelled images arrived since the last run.
    public func maybeRetrain() {
        guard retrainAfter > 0, case .idle = state else { return }
        do {
            // Distinct labelled contents: identical copies are one example.
            let labelled = store.labelledContents()
            let last = Int(try store.trainingState(.labelledAtLastTraining) ?? "0") ?? 0
            let lastFailedAt = Int(try store.trainingState(.labelledAtLastFailure) ?? "-1") ?? -1
            guard labelled >= LibraryTrainer.minimumExamples, labelled - last >= retrainAfter, labelled != lastFailedAt else { return }
            startTraining(reason: "\(labelled - last) new labelled images")
        } catch {
            logger.error("cannot check whether to retrain", metadata: ["error": "\(error)"])
        }
    }

    /// Encoders with cached features that the analyzer still computes.
    func trainableEncoders() throws -> [String] {
        try store.featureEncoders().filter { $0.value > 0 && encoders.contains($0.key) }.keys.sorted()
    }

    func runTraining(reason: String) {
        let t0 = ContinuousClock.now
        do {
            // Counted as `maybeRetrain` counts (distinct labelled contents),
            // so copies never start a run and a labelled file that fails to
            // decode cannot make every idle moment start another one.
            let labelledNow = store.labelledContents()
            let encoders = try trainableEncoders()
            var data = withZeroShot(try store.labelledRows(encoders: encoders))
            data.unlabelled = try unlabelledImages(encoders: encoders)
            logger.info("training", metadata: ["reason": "\(reason)", "examples": "\(data.count)", "encoders": "\(encoders)",
                                      "unlabelled": "\(data.unlabelled?.count ?? 0)"])
            let result = try LibraryTrainer(options: trainingOptions()).train(data) { [self] phase, fraction in
                shared.withLock { $0.state = .training(phase: phase, fraction: fraction, reason: reason) }
                onProgress()
                return !shared.withLock { $0.cancelled }
            }
            try result.model.save(to: modelPath)
            try store.replaceAlignments(result.alignments)
            try store.setTrainingState(.labelledAtLastTraining, "\(labelledNow)")
            shared.withLock { $0.model = result.model; $0.lastError = nil }
            try rebuildBank()
            if try !repredictAll() { logger.info("re-prediction stopped by shutdown; it continues at the next start") }
            let report = result.model.report
            logger.info("trained", metadata: [
                "examples": "\(data.count)", "validation_cosine": "\(report.ensembleCosine)",
                "constant_cosine": "\(report.constantCosine)", "zero_shot_cosine": "\(report.zeroShotCosine.map { "\($0)" } ?? "-")",
                "adopted": "\(report.isAdopted)", "seconds": "\((ContinuousClock.now - t0).seconds)"])
            if let reason = report.notAdoptedReason { logger.notice("\(reason)") }
        } catch {
            let wasCancelled: Bool = shared.withLock { $0.cancelled }
            if wasCancelled {
                // Asked to stop (revsdctl train --cancel, or shutdown): not a
                // failure, so the next idle moment may start a run again.
                logger.info("training cancelled")
                shared.withLock { $0.lastError = "cancelled" }
            } else {
                logger.error("training failed", metadata: ["error": "\(error)"])
                let labelled = store.labelledContents()
                try? store.setTrainingState(.labelledAtLastFailure, "\(labelled)")
                shared.withLock { $0.lastError = "\(error)" }
            }
        }
        shared.withLock { $0.state = .idle }
        onProgress()
    }

    /// Each labelled row's zero-shot prediction, from its stored features
    /// (`ImageAnalyzer.zeroShotPredictions`: what indexing computed, without
    /// decoding the image again), so the trainer scores it on its own
    /// validation split. Left empty without an analyzer or when the
    /// EfficientNet features are not among the rows'.
    func withZeroShot(_ rows: TrainingSet) -> TrainingSet {
        guard let analyzer, rows.count > 0 else { return rows }
        var out = rows
        guard let predictions = analyzer.zeroShotPredictions(features: rows.features, rows: rows.count) else { return rows }
        out.zeroShot = predictions.flatMap(\.embedding)
        return out
    }

    /// Replaces every image's predicted embedding, caption and keywords with
    /// the adopted model's — or, when the last run was not adopted, with the
    /// zero-shot ones again (from the stored features: images a model adopted
    /// before predicted are put back) — in chunks (each chunk one
    /// transaction). Returns false when shutdown stopped it between chunks:
    /// the model's stamp is then not recorded, so the next start finishes it.
    func repredictAll() throws -> Bool {
        guard let model else { return true }
        let adopted = model.report.isAdopted
        guard adopted || analyzer != nil else { return true }
        let encoders: [String]
        if !adopted {
            encoders = analyzer!.featureNames.filter { model.encoders.contains($0) || !$0.hasPrefix("clip:") }
        } else if needsZeroShot(model), let analyzer {
            // The zero-shot prediction (a member, or the keywords) needs the EfficientNet features too.
            encoders = Set(model.encoders).union(analyzer.featureNames.filter { !$0.hasPrefix("clip:") }).sorted()
        } else {
            encoders = model.encoders
        }
        let total = store.counts().indexed
        var after: Int64 = 0, done = 0
        shared.withLock { $0.state = .predicting(done: 0, total: total) }
        while true {
            if wakeUp.isStopping { return false }
            let rows = try store.featureRows(encoders: encoders, afterID: after, limit: 512)
            guard let last = rows.lastScannedID else {
                try store.setTrainingState(.predictedWithModel, Self.stamp(model))
                break
            }
            after = last
            guard !rows.ids.isEmpty else { continue }   // a stretch of images without features (failed files)
            let predictions = adopted ? predict(model: model, features: rows.features, ids: rows.ids)
                : zeroShotPredictions(features: rows.features, ids: rows.ids)
            try store.updatePredictions(predictions)   // the search matrix follows (IndexingService.apply)
            done += rows.count
            shared.withLock { $0.state = .predicting(done: done, total: total) }
            onProgress()
        }
        return true
    }

    /// The model's predictions for stored rows: the zero-shot member and
    /// (`TrainingReport.keywordSource`) the zero-shot keywords from the
    /// rows' features, as analysis computed them.
    func predict(model: LearnedModel, features: [String: [Float]], ids: [Int64]) -> [IndexStore.Prediction] {
        let zeroShot = needsZeroShot(model) ? analyzer?.zeroShotPredictions(features: features, rows: ids.count) : nil
        let out = model.predict(features: features, rows: ids.count, zeroShot: zeroShot?.flatMap(\.embedding))
        let dim = model.dimension
        let captions = bank.nearest(out.ensemble, k: 1)
        return ids.enumerated().map { i, id in
            IndexStore.Prediction(id: id, embedding: Array(out.ensemble[(i * dim)..<((i + 1) * dim)]), caption: captions[i].first?.prompt,
                                  keywords: Self.keywords(model, out.keywordProbabilities, row: i, zeroShot: zeroShot?[i].keywords),
                                  origin: Self.origin(out, row: i))
        }
    }

    /// What made row `row` of a model's outputs: its zero-shot prediction
    /// where the image lies outside what the heads were measured on
    /// (`LearnedModel.Outputs.outsideDomain`), else the learned ensemble.
    static func origin(_ out: LearnedModel.Outputs, row: Int) -> PredictionOrigin {
        row < out.outsideDomain.count && out.outsideDomain[row] ? .zeroShot : .learned
    }

    /// Whether predicting with `model` needs the zero-shot prediction (a member, or the keywords' source).
    func needsZeroShot(_ model: LearnedModel) -> Bool { model.zeroShotMember || model.report.keywordSource == .zeroShot }

    /// The MLC keywords, or the zero-shot classes' where the training run
    /// found the MLC head no better than word frequency (`KeywordChoice`).
    static func keywords(_ model: LearnedModel, _ probabilities: [Float], row: Int, zeroShot: [String]?) -> [String] {
        if model.report.keywordSource == .zeroShot, let zeroShot { return zeroShot }
        return model.keywords(probabilities, row: row)
    }

    /// What indexing stored before any model: the zero-shot embedding, caption and keywords.
    func zeroShotPredictions(features: [String: [Float]], ids: [Int64]) -> [IndexStore.Prediction] {
        guard let predictions = analyzer?.zeroShotPredictions(features: features, rows: ids.count) else { return [] }
        return zip(ids, predictions).map { id, p in
            IndexStore.Prediction(id: id, embedding: p.embedding, caption: p.caption, keywords: p.keywords, origin: .zeroShot)
        }
    }

    /// The adopted model's prediction for one analysed file (nil without an
    /// adopted model or when the file lacks an encoder's features):
    /// embedding, top-3 captions, keywords, and what made the embedding
    /// (`origin(_:row:)`). `zeroShot`: the file's zero-shot
    /// embedding and keywords when the caller has them (analysis made them);
    /// else they are computed from `features`.
    public func predict(features: [String: [Float]], zeroShot given: (embedding: [Float], keywords: [String])? = nil)
        -> (embedding: [Float], candidates: [PromptBank.Candidate], keywords: [String], origin: PredictionOrigin)? {
        guard let model = adoptedModel, model.encoders.allSatisfy({ features[$0] != nil }) else { return nil }
        var zeroShot = given
        if zeroShot == nil, needsZeroShot(model), let p = analyzer?.zeroShotPredictions(features: features, rows: 1)?.first {
            zeroShot = (p.embedding, p.keywords)
        }
        let out = model.predict(features: features, rows: 1, zeroShot: zeroShot?.embedding)
        guard !out.ensemble.isEmpty else { return nil }
        return (out.ensemble, bank.nearest(out.ensemble, k: 3).first ?? [],
                Self.keywords(model, out.keywordProbabilities, row: 0, zeroShot: zeroShot?.keywords), Self.origin(out, row: 0))
    }
}
