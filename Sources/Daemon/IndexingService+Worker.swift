import Foundation
import Logging
import RevsdSystem
import Store

extension IndexingService {
    /// Health for the watchdog: true while workers are idle or made progress
    /// within `window`.
    func isHealthy(within window: Duration) -> Bool {
        state.withLock { $0.busyWorkers == 0 || ContinuousClock.now - $0.lastHeartbeat < window }
    }

    func heartbeat(busy delta: Int) {
        state.withLock { $0.lastHeartbeat = ContinuousClock.now; $0.busyWorkers += delta }
        pingWatchdog()
    }

    /// WATCHDOG=1, sent from the work loop itself (after each file, and from
    /// idle workers, which wake for it) and only while the loop is healthy:
    /// a worker stuck in a file stops the pings and systemd restarts us. At
    /// most one ping per half interval, whichever worker sends it.
    func pingWatchdog() {
        guard let interval = watchdogInterval else { return }
        let due = state.withLock { s -> Bool in
            let now = ContinuousClock.now
            guard s.busyWorkers == 0 || now - s.lastHeartbeat < interval * 2 else { return false }
            if let last = s.lastPing, now - last < interval / 2 { return false }
            s.lastPing = now
            return true
        }
        if due { Systemd.notify("WATCHDOG=1") }
    }

    /// One worker: takes batches of jobs until the queue is empty, then
    /// sleeps until new jobs are signalled (waking for the watchdog when
    /// systemd expects pings). Returns when asked to stop, after the batch
    /// in progress: its results are stored; jobs it had not started go back.
    func workLoop() throws {
        while !signal.isStopping {
            let seen = signal.currentGeneration
            let jobs: [Job]
            do { jobs = try store.claimJobs(limit: batchSize, sharedBy: workerCount) } catch {
                logger.error("cannot read the job queue", metadata: ["error": "\(error)"])
                pingWatchdog()
                if signal.wait(after: seen, timeout: .seconds(1)) == .stopped { return }
                continue
            }
            guard !jobs.isEmpty else {
                if completeSearchTexts() > 0 { pingWatchdog(); continue }   // then the queue again
                learner?.maybeRetrain()
                pingWatchdog()
                if signal.wait(after: seen, timeout: watchdogInterval.map { $0 / 2 }) == .stopped { return }
                continue
            }
            heartbeat(busy: +1)
            if signal.isStopping {
                try? store.release(jobs); heartbeat(busy: -1); return
            }
            process(jobs)
            heartbeat(busy: -1)
            if faults.failWorkerAfterFirstBatch {
                throw TestFaults.Injected(what: "the worker loop died after its first batch")
            }
        }
    }

    /// Indexes a batch of files: files that need no encoding (gone,
    /// unchanged, a copy or move of indexed content) are settled one by one;
    /// the others are analysed, their known prompts embedded together, and
    /// their results stored with their jobs' deletion in one transaction.
    /// A crash before that transaction leaves the batch's jobs started:
    /// they are retried one at a time (see `IndexStore.claimJobs`).
    func process(_ jobs: [Job]) {
        var pending: [(job: Job, stat: FileStat, hash: String?)] = []
        for job in jobs {
            do {
                if let work = try settleWithoutEncoding(job) { pending.append((job, work.stat, work.hash)) }
            } catch {
                fail(job, error)
            }
        }
        guard !pending.isEmpty else { return }
        var analyses = pending.map { p in
            defer { heartbeat(busy: 0) }   // progress for the watchdog, file by file
            return analyzer.analyze(path: p.job.path, includeEmbedding: true, includeFeatures: true, computeHash: p.hash == nil,
                                    embedKnownPrompt: false, includeThumbnail: thumbnails != nil)
        }
        analyzer.completeKnownPrompts(&analyses)
        if let hold = faults.holdBatch { Thread.sleep(forTimeInterval: Double(hold.components.seconds) + Double(hold.components.attoseconds) / 1e18) }
        var batch: [(file: IndexedFile, job: Job)] = []
        for (p, a) in zip(pending, analyses) {
            var vectors: [EmbeddingKind: [Float]] = [:]
            var caption = a.caption, keywords = a.keywords
            if let e = a.embedding { vectors[EmbeddingKind.predicted] = e }
            // After training, the learned ensemble replaces the zero-shot prediction.
            if a.error == nil, let learned = learner?.predict(features: a.features) {
                vectors[EmbeddingKind.predicted] = learned.embedding
                caption = learned.candidates.first?.prompt ?? caption
                keywords = learned.keywords
            }
            if let k = a.knownPromptEmbedding { vectors[EmbeddingKind.knownPrompt] = k }
            if let k = a.searchPromptEmbedding { vectors[EmbeddingKind.searchPrompt] = k }
            for (model, f) in a.features { vectors[EmbeddingKind.features(model)] = f }
            batch.append((IndexedFile(path: p.job.path, contentHash: p.hash ?? a.contentHash, size: p.stat.size, mtimeNs: p.stat.mtimeNs,
                                      width: a.width, height: a.height, format: a.format?.rawValue, metadata: a.metadata,
                                      caption: caption, keywords: keywords, embeddings: vectors, error: a.error), p.job))
        }
        do {
            // Committed against each job as it is now: a file deleted or moved
            // while it was read is dropped or looked at again (IndexStore.Commit).
            // The search matrix follows (IndexingService.apply).
            let commits = try store.store(batch: batch)
            for (((f, _), commit), a) in zip(zip(batch, commits), analyses) {
                guard case .stored(_, let path) = commit else { continue }
                if let e = f.error { logger.warning("file not indexed", metadata: ["path": "\(path)", "error": "\(e)"]) }
                if f.error == nil, let hash = f.contentHash, let webp = a.thumbnail { storeThumbnail(webp, for: hash, path: path) }
                count(failed: f.error != nil)
            }
        } catch {
            for (_, job) in batch { fail(job, error) }
        }
        // Contents this batch replaced (a file rewritten, a failure).
        removeGoneThumbnails()
    }

    /// Keeps a thumbnail made from the decode the encoders used; one that
    /// cannot be written is made again when the gallery asks for it.
    func storeThumbnail(_ webp: [UInt8], for hash: String, path: String) {
        guard let thumbnails, ThumbnailCache.isContentHash(hash) else { return }
        do { try thumbnails.store(webp, for: hash) } catch {
            logger.warning("cannot store a thumbnail", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Settles a job that needs no encoding; returns what the encoding needs otherwise.
    func settleWithoutEncoding(_ job: Job) throws -> (stat: FileStat, hash: String?)? {
        let path = job.path
        guard let st = FileStat.of(path) else {
            // Gone meanwhile: the watcher's event removes or moves its record.
            try store.settleMissing(job)
            return nil
        }
        // A reindex analyses the file again, changed or not; its record
        // answers searches until the new result replaces it (same id).
        if !job.isReindex, let rec = try store.image(path: path), rec.size == st.size, rec.mtimeNs == st.mtimeNs, rec.status == .indexed {
            try store.finish(job)
            return nil
        }
        // Same content already indexed (a move or a copy): reuse, do not re-encode.
        let hash = try? SHA256.hex(ofFile: path)
        if !job.isReindex, let hash, let twin = try store.indexedImage(contentHash: hash), twin.path != path {
            let vectors = try store.embeddings(imageID: twin.id)
            let f = IndexedFile(path: path, contentHash: hash, size: st.size, mtimeNs: st.mtimeNs, width: twin.width,
                                height: twin.height, format: twin.format, metadata: twin.metadata, caption: twin.caption,
                                keywords: twin.keywords, embeddings: vectors)
            if case .stored = try store.store(f, completing: job) { count(failed: false) }
            return nil
        }
        return (st, hash)
    }

    func fail(_ job: Job, _ error: Error) {
        logger.error("indexing failed", metadata: ["path": "\(job.path)", "error": "\(error)"])
        let commit = try? store.store(IndexedFile(path: job.path, contentHash: nil, size: 0, mtimeNs: 0, error: "\(job.path): \(error)"),
                                      completing: job)
        if case .stored? = commit { count(failed: true) }
    }

    func count(failed: Bool) {
        state.withLock { $0.processedSinceStart += 1; if failed { $0.failuresSinceStart += 1 } }
        onProgress()
    }
}
