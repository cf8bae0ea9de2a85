#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Inference
import Analysis
import Learning
import RevsdProtocol
import RevsdSystem
import Imaging

/// Control requests of the learning half: train, prompts_import, eval_add,
/// eval_run, and the learned parts of caption.
extension ControlHandler {
    func learner() throws(ControlError) -> LearningService {
        guard let l = service.learner else { throw ControlError(.unavailable, "learning is not enabled in this daemon") }
        return l
    }

    func train(_ r: [String: Any]) throws(ControlError) -> [String: Any] {
        let l = try learner()
        if r["cancel"] as? Bool == true { l.cancel(); return ["cancelled": true, "learning": l.statusObject()] }
        let started = l.startTraining(reason: "asked by revsdctl")
        return ["started": started, "learning": l.statusObject()]
    }

    func importPrompts(_ r: [String: Any]) throws(ControlError) -> [String: Any] {
        let l = try learner()
        guard let prompts = r["prompts"] as? [String] else { throw ControlError(.badRequest, "'prompts_import' needs a \"prompts\" array of strings") }
        guard prompts.count <= 10_000 else { throw ControlError(.tooLarge, "at most 10000 prompts per request") }
        let source = (r["source"] as? String) ?? "import"
        let cleaned = prompts.map { String($0.trimmingCharacters(in: .whitespacesAndNewlines).prefix(PromptCorpus.maxPromptCharacters)) }.filter { !$0.isEmpty }
        do {
            let (read, added) = try l.importPrompts(cleaned, source: source)
            return ["read": read, "added": added, "prompt_bank": l.bank.count]
        } catch { throw ControlError(.internalError, "\(error)") }
    }

    /// Analyses one evaluation image from its descriptor; the true prompt is
    /// the request's "prompt" (from prompts.tsv) or the file's metadata.
    func evalAdd(_ r: [String: Any], _ fds: inout [Int32]) throws(ControlError) -> [String: Any] {
        _ = try learner()
        guard let session = r["session"] as? String, !session.isEmpty, session.count <= 128 else {
            throw ControlError(.badRequest, "'eval_add' needs a \"session\" string")
        }
        guard !fds.isEmpty else { throw ControlError(.badRequest, "'eval_add' needs the file's descriptor (SCM_RIGHTS)") }
        let fd = fds.removeFirst()
        defer { Syscalls.close(fd) }
        let name = (r["name"] as? String) ?? "fd"
        let bytes: [UInt8]
        do { bytes = try ImageDecoder.read(descriptor: fd, name: name, limits: service.analyzer.limits) } catch {
            return ["name": name, "error": "\(error)"]
        }
        let a = service.analyzer.analyze(bytes: bytes, path: name, includeEmbedding: true, includeFeatures: true, computeHash: true, sidecars: false)
        if let e = a.error { return ["name": name, "error": e] }
        let given = (r["prompt"] as? String).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        guard let prompt = given ?? (a.metadata?.hasRealPrompt == true ? a.metadata?.prompt : nil) else {
            return ["name": name, "error": "\(name): no true prompt (neither in prompts.tsv nor in the file's metadata)"]
        }
        let target = given == nil ? a.knownPromptEmbedding : nil
        let item = EvaluationItem(name: name, contentHash: a.contentHash ?? "", prompt: prompt,
                                  target: target ?? service.analyzer.promptEncoder.embed([prompt])[0],
                                  features: a.features, zeroShot: a.embedding)
        try service.evaluations.add(item, session: session)
        return ["name": name, "added": true]
    }

    /// Evaluates the collected images. Images the model was trained on (same
    /// content in the library's labelled set) are left out of a fresh
    /// training run first: `eval` never scores what it trained on.
    func evalRun(_ r: [String: Any]) throws(ControlError) -> [String: Any] {
        let l = try learner()
        guard let session = r["session"] as? String, let items = service.evaluations.take(session) else {
            throw ControlError(.notFound, "no evaluation images were added under this session")
        }
        guard !items.isEmpty else { throw ControlError(.badRequest, "no evaluation images") }
        do {
            let hashes = Set(items.map(\.contentHash))
            let labelled = try service.store.labelledRows(encoders: [])
            let overlap = Set(labelled.contentHashes).intersection(hashes)
            var model = l.model
            if model == nil || !overlap.isEmpty {
                let encoders = try l.trainableEncoders()
                let data = try service.store.labelledRows(encoders: encoders, excluding: hashes)
                model = try LibraryTrainer(options: l.options).train(data).model
            }
            guard let model else { throw ControlError(.unavailable, "nothing is trained yet") }
            let bank = try l.makeBank(excluding: hashes)
            var result = EvaluationResult.evaluate(model: model, items: items, bank: bank)
            result.retrainedExcluding = overlap.count
            if let scorer = service.analyzer.clip.first(where: { $0.encoder.hasText && $0.encoder.hasVision }).map({ RefCLIPScorer(clip: $0.encoder) }) {
                let key = "clip:" + scorer.clip.name
                let scores = zip(items, result.captions).compactMap { item, c -> RefCLIPScore? in
                    guard let image = item.features[key], let caption = c.caption else { return nil }
                    return scorer.score(imageEmbedding: image, caption: caption, references: [item.prompt])
                }
                result.refCLIPScore = RefCLIPScore.mean(scores)
            }
            var o = result.jsonObject()
            o["table"] = result.table()
            if r["captions"] as? Bool == true {
                o["captions"] = result.captions.map { c -> [String: Any] in ["name": c.name, "caption": c.caption.map { $0 as Any } ?? NSNull(), "prompt": c.prompt] }
            }
            return o
        } catch let e as ControlError {
            throw e
        } catch {
            throw ControlError(.internalError, "\(error)")
        }
    }

    /// Adds the learned prediction (top-3 candidates, MLC keywords, the
    /// stored alignment and tier) to a caption answer.
    func learnedCaption(_ a: ImageAnalysis, _ o: inout [String: Any]) {
        guard let l = service.learner else { return }
        o["prediction"] = "zero-shot"
        guard let p = l.predict(features: a.features) else { return }
        o["prediction"] = "learned"
        o["caption"] = p.candidates.first?.prompt ?? o["caption"] ?? NSNull()
        o["candidates"] = p.candidates.map { ["prompt": $0.prompt, "cosine": Double($0.cosine)] }
        o["keywords"] = p.keywords
        if let truth = a.knownPromptEmbedding {
            o["known_prompt_cosine"] = Double(zip(truth, p.embedding).reduce(0) { $0 + $1.0 * $1.1 })
        }
        if o["embedding"] != nil { o["embedding"] = p.embedding.map(Double.init) }
        if let hash = a.contentHash, let rec = try? service.store.indexedImage(contentHash: hash) {
            o["alignment"] = rec.alignment.map { Double($0) } ?? NSNull()
            o["tier"] = rec.tier ?? NSNull()
        }
    }
}
