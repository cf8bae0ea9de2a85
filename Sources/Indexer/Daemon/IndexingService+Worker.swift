import Foundation
import Logging

extension IndexingService {
    /// Health for the watchdog: true while workers are idle or made progress
    /// within `window`.
    public func isHealthy(within window: Duration) -> Bool {
        lock.withLock { busyWorkers == 0 || ContinuousClock.now - lastHeartbeat < window }
    }

    func heartbeat(busy delta: Int) {
        lock.withLock { lastHeartbeat = ContinuousClock.now; busyWorkers += delta }
        if delta < 0 { doneSignal.signal() }
    }

    func workLoop() {
        while !signal.isStopping {
            let seen = signal.currentGeneration
            let jobs: [Job]
            do { jobs = try store.claimJobs(limit: 1) } catch {
                logger.error("cannot read the job queue", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            guard let job = jobs.first else {
                learner?.maybeRetrain()
                if !signal.wait(after: seen) { return }
                continue
            }
            heartbeat(busy: +1)
            if signal.isStopping {
                try? store.release([job]); heartbeat(busy: -1); return
            }
            process(job)
            heartbeat(busy: -1)
        }
    }

    /// Indexes one file; its result and the job's deletion land together.
    func process(_ job: Job) {
        let path = job.path
        do {
            guard let st = FileStat.of(path) else {
                for id in try store.imageIDs(under: path) { search.remove(id) }
                try store.remove(path: path)   // gone meanwhile (also drops the job)
                return
            }
            if let rec = try store.image(path: path), rec.size == st.size, rec.mtimeNs == st.mtimeNs, rec.status == .indexed {
                try store.finish(job)
                return
            }
            // Same content already indexed (a move or a copy): reuse, do not re-encode.
            let hash = try? ModelFetcher.sha256(ofFile: path)
            if let hash, let twin = try store.indexedImage(contentHash: hash), twin.path != path {
                let vectors = try store.embeddings(imageID: twin.id)
                let f = IndexedFile(path: path, contentHash: hash, size: st.size, mtimeNs: st.mtimeNs, width: twin.width,
                                    height: twin.height, format: twin.format, metadata: twin.metadata, caption: twin.caption,
                                    keywords: twin.keywords, embeddings: vectors)
                let id = try store.store(f, completing: job)
                publish(id, vectors)
                count(failed: false)
                return
            }
            let a = analyzer.analyze(path: path, includeEmbedding: true, includeFeatures: true, computeHash: hash == nil)
            var vectors: [String: [Float]] = [:]
            var caption = a.caption, keywords = a.keywords
            if let e = a.embedding { vectors[EmbeddingKind.predicted] = e }
            // After training, the learned ensemble replaces the zero-shot prediction.
            if a.error == nil, let learned = learner?.predict(features: a.features) {
                vectors[EmbeddingKind.predicted] = learned.embedding
                caption = learned.candidates.first?.prompt ?? caption
                keywords = learned.keywords
            }
            if let k = a.knownPromptEmbedding { vectors[EmbeddingKind.knownPrompt] = k }
            for (model, f) in a.features { vectors[EmbeddingKind.features(model)] = f }
            let f = IndexedFile(path: path, contentHash: hash ?? a.contentHash, size: st.size, mtimeNs: st.mtimeNs,
                                width: a.width, height: a.height, format: a.format?.rawValue, metadata: a.metadata,
                                caption: caption, keywords: keywords, embeddings: vectors, error: a.error)
            let id = try store.store(f, completing: job)
            if a.error == nil { publish(id, vectors) } else { search.remove(id) }
            if let e = a.error { logger.warning("file not indexed", metadata: ["path": "\(path)", "error": "\(e)"]) }
            count(failed: a.error != nil)
        } catch {
            logger.error("indexing failed", metadata: ["path": "\(path)", "error": "\(error)"])
            _ = try? store.store(IndexedFile(path: path, contentHash: nil, size: 0, mtimeNs: 0, error: "\(path): \(error)"), completing: job)
            count(failed: true)
        }
    }

    func publish(_ id: Int64, _ vectors: [String: [Float]]) {
        search.remove(id)
        for kind in [EmbeddingKind.predicted, EmbeddingKind.knownPrompt] {
            if let v = vectors[kind] { search.set(id, kind: kind, vector: v) }
        }
    }

    func count(failed: Bool) {
        lock.withLock { processedSinceStart += 1; if failed { failuresSinceStart += 1 } }
        onProgress?()
    }
}
