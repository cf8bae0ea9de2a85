import Foundation
import Inference
import Logging
import Learning
import Store

/// The learning half of revsdd: holds the learned model and the prompt bank,
/// trains on a thread of its own (one run at a time), swaps the model in
/// whole when a run succeeds, and re-predicts every image with it.
public final class LearningService: @unchecked Sendable {
    public enum State: Sendable, Equatable {
        case idle
        case training(phase: String, fraction: Double, reason: String)
        case predicting(done: Int, total: Int)
    }

    let store: IndexStore
    let promptEncoder: SentenceEncoder
    let logger: Logger
    public let modelPath: String
    let options: TrainingOptions
    let retrainAfter: Int
    /// The encoders the analyzer computes now: training uses only these (a
    /// CLIP folder removed from the configuration leaves old features behind).
    let encoders: [String]
    private let lock = NSLock()
    private var _model: LearnedModel?
    private var _bank: PromptBank
    private var _state: State = .idle
    private var _lastError: String?
    private var cancelled = false
    /// Called with each predicted image (id, unit embedding) so search follows.
    public var onPrediction: (@Sendable (Int64, [Float]) -> Void)?
    public var onProgress: (@Sendable () -> Void)?

    public init(store: IndexStore, promptEncoder: SentenceEncoder, encoders: [String], stateDirectory: String, options: TrainingOptions,
                retrainAfter: Int, logger: Logger) {
        self.store = store
        self.encoders = encoders
        self.promptEncoder = promptEncoder
        self.logger = logger
        self.options = options
        self.retrainAfter = retrainAfter
        modelPath = (stateDirectory as NSString).appendingPathComponent(LearnedModel.fileName)
        _bank = PromptBank(dimension: promptEncoder.dimension)
    }

    public var model: LearnedModel? { lock.withLock { _model } }
    public var bank: PromptBank { lock.withLock { _bank } }
    public var state: State { lock.withLock { _state } }
    public var lastError: String? { lock.withLock { _lastError } }

    /// Loads the saved model (a damaged one is logged and ignored: the daemon
    /// falls back to zero-shot until the next training) and the prompt bank.
    public func start() {
        if FileManager.default.fileExists(atPath: modelPath) {
            do {
                let m = try LearnedModel(path: modelPath)
                lock.withLock { _model = m }
                logger.info("loaded the learned model", metadata: ["path": "\(modelPath)", "examples": "\(m.report.examples)"])
            } catch {
                logger.error("ignoring a learned model that cannot be read", metadata: ["error": "\(error)"])
            }
        }
        do { try rebuildBank() } catch { logger.error("cannot load the prompt bank", metadata: ["error": "\(error)"]) }
        // A run whose re-prediction was cut short (the daemon stopped) finishes it now.
        if let m = model, (try? store.trainingState(.predictedWithModel)) != Self.stamp(m) {
            lock.withLock { _state = .predicting(done: 0, total: 0) }
            let t = Thread { [self] in
                do { try repredictAll() } catch { logger.error("re-predicting failed", metadata: ["error": "\(error)"]) }
                lock.withLock { _state = .idle }
                onProgress?()
            }
            t.name = "revsd-predict"
            t.start()
        }
    }

    static func stamp(_ m: LearnedModel) -> String { "\(m.report.trainedAt.timeIntervalSince1970)" }

    /// The bank: every known prompt of the library, then imported prompts.
    public func rebuildBank(excluding: Set<String> = []) throws {
        let b = try makeBank(excluding: excluding)
        lock.withLock { _bank = b }
    }

    func makeBank(excluding hashes: Set<String> = []) throws -> PromptBank {
        var b = PromptBank(dimension: promptEncoder.dimension)
        let known = try store.labelledRows(encoders: [], excluding: hashes)
        b.add(known.prompts, vectors: known.targets)
        let imported = try store.bankPrompts()
        b.add(imported.prompts, vectors: imported.vectors)
        return b
    }

    /// Imports prompts (embedding the new ones); returns (read, added).
    public func importPrompts(_ prompts: [String], source: String) throws -> (read: Int, added: Int) {
        let present = try store.bankContains(prompts)
        let fresh = prompts.filter { !present.contains($0) }
        var added = 0
        for chunk in stride(from: 0, to: fresh.count, by: 256) {
            let part = Array(fresh[chunk..<min(fresh.count, chunk + 256)])
            added += try store.addBankPrompts(part, vectors: promptEncoder.embed(part), source: source)
        }
        try rebuildBank()
        return (prompts.count, added)
    }

    // MARK: Training

    /// Starts a training run on a thread of its own; false when one is running.
    @discardableResult
    public func startTraining(reason: String) -> Bool {
        let started: Bool = lock.withLock {
            if case .idle = _state { _state = .training(phase: "reading the index", fraction: 0, reason: reason); cancelled = false; return true }
            return false
        }
        guard started else { return false }
        let t = Thread { [self] in self.runTraining(reason: reason) }
        t.name = "revsd-training"
        t.stackSize = 8 << 20
        t.start()
        return true
    }

    public func cancel() { lock.withLock { cancelled = true } }

    /// Retrains when enough new labelled images arrived since the last run.
    public func maybeRetrain() {
        guard retrainAfter > 0, case .idle = state else { return }
        do {
            let labelled = try store.counts().withPrompt
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
            // Counted as `maybeRetrain` counts (images with a prompt, whatever
            // their state), so a labelled file that fails to decode cannot
            // make every idle moment start another run.
            let labelledNow = try store.counts().withPrompt
            let encoders = try trainableEncoders()
            let data = try store.labelledRows(encoders: encoders)
            logger.info("training", metadata: ["reason": "\(reason)", "examples": "\(data.count)", "encoders": "\(encoders)"])
            let result = try LibraryTrainer(options: options).train(data) { [self] phase, fraction in
                lock.withLock { _state = .training(phase: phase, fraction: fraction, reason: reason) }
                onProgress?()
                return !lock.withLock { cancelled }
            }
            try result.model.save(to: modelPath)
            try store.replaceAlignments(result.alignments)
            try store.setTrainingState(.labelledAtLastTraining, "\(labelledNow)")
            lock.withLock { _model = result.model; _lastError = nil }
            try rebuildBank()
            try repredictAll()
            logger.info("trained", metadata: [
                "examples": "\(data.count)", "validation_cosine": "\(result.model.report.ensembleCosine)",
                "constant_cosine": "\(result.model.report.constantCosine)", "seconds": "\((ContinuousClock.now - t0).seconds)"])
        } catch {
            let wasCancelled: Bool = lock.withLock { self.cancelled }
            if wasCancelled {
                // Asked to stop (revsdctl train --cancel, or shutdown): not a
                // failure, so the next idle moment may start a run again.
                logger.info("training cancelled")
                lock.withLock { _lastError = "cancelled" }
            } else {
                logger.error("training failed", metadata: ["error": "\(error)"])
                let labelled = (try? store.counts().withPrompt) ?? 0
                try? store.setTrainingState(.labelledAtLastFailure, "\(labelled)")
                lock.withLock { _lastError = "\(error)" }
            }
        }
        lock.withLock { _state = .idle }
        onProgress?()
    }

    /// Replaces every image's predicted embedding, caption and keywords with
    /// the learned model's, in chunks (each chunk one transaction).
    func repredictAll() throws {
        guard let model else { return }
        let total = try store.counts().indexed
        var after: Int64 = 0, done = 0
        lock.withLock { _state = .predicting(done: 0, total: total) }
        while true {
            let rows = try store.featureRows(encoders: model.encoders, afterID: after, limit: 512)
            guard let last = rows.lastScannedID else {
                try store.setTrainingState(.predictedWithModel, Self.stamp(model))
                break
            }
            after = last
            guard !rows.ids.isEmpty else { continue }   // a stretch of images without features (failed files)
            let predictions = predict(model: model, features: rows.features, ids: rows.ids)
            let updated = try store.updatePredictions(predictions)
            for p in predictions where updated.contains(p.id) { onPrediction?(p.id, p.embedding) }
            done += rows.count
            lock.withLock { _state = .predicting(done: done, total: total) }
            onProgress?()
        }
    }

    func predict(model: LearnedModel, features: [String: [Float]], ids: [Int64]) -> [IndexStore.Prediction] {
        let out = model.predict(features: features, rows: ids.count)
        let dim = model.dimension
        let captions = bank.nearest(out.ensemble, k: 1)
        return ids.enumerated().map { i, id in
            IndexStore.Prediction(id: id, embedding: Array(out.ensemble[(i * dim)..<((i + 1) * dim)]),
                                  caption: captions[i].first?.prompt, keywords: model.keywords(out.keywordProbabilities, row: i))
        }
    }

    /// The learned prediction for one analysed file (nil without a model or
    /// when the file lacks an encoder's features): embedding, top-3 captions, keywords.
    public func predict(features: [String: [Float]]) -> (embedding: [Float], candidates: [PromptBank.Candidate], keywords: [String])? {
        guard let model, model.encoders.allSatisfy({ features[$0] != nil }) else { return nil }
        let out = model.predict(features: features, rows: 1)
        guard !out.ensemble.isEmpty else { return nil }
        return (out.ensemble, bank.nearest(out.ensemble, k: 3).first ?? [], model.keywords(out.keywordProbabilities, row: 0))
    }
}
