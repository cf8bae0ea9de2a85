#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Inference
import Analysis
import Learning
import RevsdProtocol
import Store
import RevsdSystem
import Imaging

/// Control requests of the learning half: train, prompts_import, eval_add,
/// eval_run, and the learned parts of caption.
extension ControlHandler {
    func learner() throws(ControlError) -> LearningService {
        guard let l = service.learner else { throw ControlError(.unavailable, "learning is not enabled in this daemon") }
        return l
    }

    func train(_ r: TrainRequest) throws(ControlError) -> TrainResult {
        let l = try learner()
        if r.cancel { l.cancel(); return TrainResult(cancelled: l.status()) }
        let started = l.startTraining(reason: "asked by revsdctl")
        return TrainResult(started: started, learning: l.status())
    }

    func importPrompts(_ r: PromptsImportRequest) throws(ControlError) -> PromptsImportResult {
        let l = try learner()
        let cleaned = r.prompts.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(PromptCorpus.maxPromptCharacters)) }
            .filter { !$0.isEmpty }
        do {
            let (read, added) = try l.importPrompts(cleaned, source: r.source ?? "import")
            return PromptsImportResult(read: read, added: added, promptBank: l.bank.count)
        } catch { throw ControlError(.internalError, "\(error)") }
    }

    /// Analyses one evaluation image from its descriptor; the true prompt is
    /// the request's "prompt" (from prompts.tsv) or the file's metadata.
    func evalAdd(_ r: EvalAddRequest, _ fds: inout [Int32]) throws(ControlError) -> EvalAddResult {
        _ = try learner()
        let name = r.name ?? "fd"
        let bytes: [UInt8]
        switch try passedFile(&fds, for: .evalAdd, name: name) {
        case .success(let b): bytes = b
        case .failure(let error): return EvalAddResult(name: name, error: "\(error)")
        }
        let a = service.analyzer.analyze(bytes: bytes, path: name, includeEmbedding: true, includeFeatures: true, computeHash: true, sidecars: false)
        if let e = a.error { return EvalAddResult(name: name, error: e) }
        let given = r.prompt.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        guard let prompt = given ?? (a.metadata?.hasRealPrompt == true ? a.metadata?.prompt : nil) else {
            return EvalAddResult(name: name, error: "\(name): no true prompt (neither in prompts.tsv nor in the file's metadata)")
        }
        let target = given == nil ? a.knownPromptEmbedding : nil
        let item = EvaluationItem(name: name, contentHash: a.contentHash ?? "", prompt: prompt,
                                  target: target ?? service.analyzer.promptEncoder.embed([prompt])[0],
                                  features: a.features, zeroShot: a.embedding, pixelSignature: a.pixelSignature)
        try service.evaluations.add(item, session: r.session)
        return EvalAddResult(name: name)
    }

    /// Evaluates the collected images. Images the model was trained on (same
    /// content in the library's labelled set, or the same picture saved
    /// again: `NearDuplicates`) are left out of a fresh training run and of
    /// the caption bank first: `eval` never scores what it trained on.
    func evalRun(_ r: EvalRunRequest) throws(ControlError) -> EvalRunResult {
        let l = try learner()
        guard let items = service.evaluations.take(r.session) else {
            throw ControlError(.notFound, "no evaluation images were added under this session")
        }
        guard !items.isEmpty else { throw ControlError(.badRequest, "no evaluation images") }
        do {
            let hashes = Set(items.map(\.contentHash))
            let labelled = try service.store.labelledRows(encoders: [])
            let overlap = Set(labelled.contentHashes).intersection(hashes)
            let near = try nearDuplicates(of: items).subtracting(hashes)
            let excluded = hashes.union(near)
            var model = l.model
            if model == nil || !overlap.isEmpty || !near.isEmpty {
                // On the learning thread; `busy` while a daemon run holds it.
                do { model = try l.trainForEvaluation(excluding: excluded) } catch let busy as LearningBusy {
                    service.evaluations.restore(items, session: r.session)   // ask again later, same session
                    throw ControlError(.busy, busy.description)
                }
            }
            guard let model else { throw ControlError(.unavailable, "nothing is trained yet") }
            let bank = try l.makeBank(excluding: excluded)
            var result = EvaluationResult.evaluate(model: model, items: items, bank: bank)
            result.retrainedExcluding = overlap.count
            result.retrainedExcludingNearDuplicates = near.count
            if let scorer = service.analyzer.clip.first(where: { $0.encoder.hasText && $0.encoder.hasVision }).map({ RefCLIPScorer(clip: $0.encoder) }) {
                let key = "clip:" + scorer.clip.name
                let scores = zip(items, result.captions).compactMap { item, c -> RefCLIPScore? in
                    guard let image = item.features[key], let caption = c.caption else { return nil }
                    return scorer.score(imageEmbedding: image, caption: caption, references: [item.prompt])
                }
                result.refCLIPScore = RefCLIPScore.mean(scores)
            }
            return EvalRunResult(result, includeCaptions: r.captions)
        } catch let e as ControlError {
            throw e
        } catch {
            throw ControlError(.internalError, "\(error)")
        }
    }

    /// Content hashes of the labelled library images that are near-duplicates
    /// of an evaluated image (`NearDuplicates`: cosine of their pixel
    /// signatures at least `NearDuplicates.threshold`), read block by block.
    /// Library images analysed before pixel signatures were stored have none
    /// and match nothing until `revsdctl reindex` analyses them again.
    func nearDuplicates(of items: [EvaluationItem]) throws -> Set<String> {
        let queries = items.compactMap(\.pixelSignature).filter { $0.count == PixelSignature.dimension }
        guard !queries.isEmpty else { return [] }
        var out = Set<String>()
        try service.store.forEachLabelledVectorBlock(.pixels) { hashes, vectors in
            guard vectors.count == hashes.count * PixelSignature.dimension else { return }   // not this signature's size
            let hit = NearDuplicates.matches(queries: queries.flatMap { $0 }, library: vectors, dimension: PixelSignature.dimension)
            for (h, isNear) in zip(hashes, hit) where isNear { out.insert(h) }
        }
        return out
    }

    /// Adds the learned prediction (top-3 candidates, MLC keywords, the
    /// stored alignment and tier) to a caption answer.
    func learnedCaption(_ a: ImageAnalysis, _ result: inout CaptionResult) {
        guard let l = service.learner else { return }
        result.prediction = .zeroShot
        guard let p = l.predict(features: a.features) else { return }
        result.prediction = .learned
        let zeroShot = result.caption
        result.caption = p.candidates.first?.prompt ?? result.caption
        // How close the caption is expected to come to the truth: its cosine
        // to the prediction, times how close predictions of its origin come.
        let report = l.adoptedModel?.report
        result.confidence = Self.captionConfidence(p.candidates.first, report: report, origin: p.origin)
        // No better than predicting the library's mean prompt for every image:
        // the zero-shot description is given too.
        if zeroShot != result.caption,
           Self.alsoShowsZeroShot(confidence: result.confidence, constantCosine: report.map { Double($0.constantCosine) }) {
            result.zeroShotCaption = zeroShot
        }
        result.candidates = p.candidates.map(CaptionResult.Candidate.init)
        result.keywords = p.keywords
        if let truth = a.knownPromptEmbedding {
            result.knownPromptCosine = Double(zip(truth, p.embedding).reduce(0) { $0 + $1.0 * $1.1 })
        }
        if result.includesEmbedding { result.embedding = p.embedding.map(Double.init) }
        if let hash = a.contentHash, let rec = try? service.store.indexedImage(contentHash: hash) {
            result.indexedScore = CaptionResult.IndexedScore(rec)
        }
    }

    /// How close a learned caption is expected to come to the truth: its
    /// cosine to the prediction times how close predictions of its origin
    /// come (`predictionConfidence`: the model's, or zero-shot's for an image
    /// outside what the heads were measured on; nil without validation).
    /// `caption` and `image` both.
    static func captionConfidence(_ caption: PromptBank.Candidate?, report: TrainingReport?, origin: PredictionOrigin?) -> Double? {
        guard let caption, let report, report.validationExamples > 0 else { return nil }
        let expected = predictionConfidence(adopted: report, agreement: { nil })
        return Double(caption.cosine * (origin == .zeroShot ? expected.zeroShot : expected.learned))
    }

    /// Whether the zero-shot description goes beside a learned caption: when
    /// the caption's confidence is unknown, or not above the validation
    /// cosine of the constant prediction (the library's mean prompt for
    /// every image): such a caption says little about this image.
    static func alsoShowsZeroShot(confidence: Double?, constantCosine: Double?) -> Bool {
        guard let confidence, let constantCosine else { return true }
        return confidence <= constantCosine
    }
}
