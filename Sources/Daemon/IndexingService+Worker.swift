import Analysis
import Foundation
import Imaging
import Logging
import Metadata
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

    /// One phase-1 worker: takes batches of jobs until the queue is empty,
    /// then completes search texts and lets the learner retrain once no
    /// analysis waits, then sleeps until new jobs are signalled (waking for
    /// the watchdog when systemd expects pings). Returns when asked to stop,
    /// after the batch in progress: its results are stored; jobs it had not
    /// started go back. Phase 2 has threads of its own (`analysisLoop`).
    func workLoop() throws {
        while !signal.isStopping {
            let seen = signal.currentGeneration
            let jobs: [Job]
            do { jobs = try store.claimJobs(limit: phaseOneBatchSize, sharedBy: workerCount) } catch {
                logger.error("cannot read the job queue", metadata: ["error": "\(error)"])
                pingWatchdog()
                if signal.wait(after: seen, timeout: .seconds(1)) == .stopped { return }
                continue
            }
            guard !jobs.isEmpty else {
                if completeSearchTexts() > 0 { pingWatchdog(); continue }
                if store.phaseCounts().analysisQueued == 0 { learner?.maybeRetrain() }   // it learns from analysed images
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

    /// One phase-2 worker, on a thread of lower priority (nice
    /// `analysisNice`): the kernel gives phase 1, the control socket and the
    /// user's own programs the cores first, and this one what is left.
    /// Analyses batches until none is queued, lets the learner retrain, then
    /// sleeps until signalled (every second while analyses wait: one held
    /// back). Returns when asked to stop, after the batch in progress.
    func analysisLoop() throws {
        do { try CurrentProcess.lowerThreadPriority(to: Self.analysisNice) } catch {
            logger.warning("phase 2 runs at normal priority", metadata: ["error": "\(error)"])
        }
        while !signal.isStopping {
            let seen = signal.currentGeneration
            if analyseQueued() { pingWatchdog(); continue }
            let analysesWait = store.phaseCounts().analysisQueued > 0
            // The last analysis of a burst is what makes the new labelled
            // images trainable: phase 1's workers may be asleep by then.
            if !analysesWait { learner?.maybeRetrain() }
            pingWatchdog()
            var timeout = watchdogInterval.map { $0 / 2 }
            if analysesWait { timeout = min(timeout ?? .seconds(1), .seconds(1)) }
            if signal.wait(after: seen, timeout: timeout) == .stopped { return }
        }
    }

    /// The nice value of phase-2 threads (0 is normal, 19 the lowest).
    static let analysisNice: Int32 = 10

    /// Phase 1 of a batch of files: files that need no reading (gone,
    /// unchanged) or whose content is indexed and analysed already (a copy or
    /// move) are settled one by one; the others are read once (bounded),
    /// hashed, their metadata read and their known prompts embedded (each
    /// text once: `promptEmbeddings`), and stored not yet analysed, with
    /// their jobs' deletion, in one transaction; that store queues their
    /// analysis (phase 2, `analyseQueued`). A file that is not a PNG, JPEG or
    /// WebP by content, or cannot be read, is analysed in one pass as before
    /// (it fails, with its reason). A crash before that transaction leaves
    /// the batch's jobs started: they are retried one at a time (see
    /// `IndexStore.claimJobs`).
    func process(_ jobs: [Job]) {
        var pending: [PhaseOneInput] = []
        for job in jobs {
            do {
                if let work = try settleWithoutEncoding(job) { pending.append(work) }
            } catch {
                fail(job, error)
            }
        }
        guard !pending.isEmpty else { return }
        let firstPhase = pending.filter { $0.header != nil }
        let onePass = pending.filter { $0.header == nil }
        var batch = phaseOne(firstPhase)
        var thumbnailsOf: [Int: [UInt8]] = [:]
        if !onePass.isEmpty {
            var analyses = onePass.map { p in
                defer { heartbeat(busy: 0) }   // progress for the watchdog, file by file
                return analyzer.analyze(path: p.job.path, includeEmbedding: true, includeFeatures: true, computeHash: p.hash == nil,
                                        embedKnownPrompt: false, includeThumbnail: thumbnails != nil)
            }
            analyzer.completeKnownPrompts(&analyses)
            for (p, a) in zip(onePass, analyses) {
                if let webp = a.thumbnail { thumbnailsOf[batch.count] = webp }
                var f = analysedFile(a, path: p.job.path)
                f.contentHash = p.hash ?? a.contentHash; f.size = p.stat.size; f.mtimeNs = p.stat.mtimeNs
                batch.append((f, p.job))
            }
        }
        if let hold = faults.holdBatch { Thread.sleep(forTimeInterval: Self.seconds(hold)) }
        do {
            // Committed against each job as it is now: a file deleted or moved
            // while it was read is dropped or looked at again (IndexStore.Commit).
            // The search matrix follows (IndexingService.apply).
            let commits = try store.store(batch: batch)
            for (i, ((f, _), commit)) in zip(batch, commits).enumerated() {
                guard case .stored(_, let path) = commit else { continue }
                if let e = f.error { logger.warning("file not indexed", metadata: ["path": "\(path)", "error": "\(e)"]) }
                if f.error == nil, let hash = f.contentHash, let webp = thumbnailsOf[i] { storeThumbnail(webp, for: hash, path: path) }
                count(failed: f.error != nil)
            }
            if batch.contains(where: { !$0.file.analysed }) { signal.signal() }   // phase 2 has work
        } catch {
            for (_, job) in batch { fail(job, error) }
        }
        // Contents this batch replaced (a file rewritten, a failure).
        removeGoneThumbnails()
    }

    /// What phase 1 has of a file once its job is not settled: its stat,
    /// the hash of its bytes and what its header says (nil when it could
    /// not be read, or is not an image by content: then it is analysed in
    /// one pass). The bytes themselves are not kept: a batch holds one
    /// file's at a time.
    struct PhaseOneInput {
        var job: Job
        var stat: FileStat
        var header: Header?
        var hash: String?
    }

    /// What phase 1 reads from a file's bytes: its metadata (the file's,
    /// else a sidecar's), its format and, from the header, its size.
    struct Header {
        var metadata: GenerationMetadata?
        var format: ImageFormat
        var dimensions: (width: Int, height: Int)?

        init?(_ bytes: [UInt8], path: String) {
            guard let format = bytes.withUnsafeBytes({ ImageFormat.detect($0) }) else { return nil }
            self.format = format
            metadata = bytes.withUnsafeBytes { MetadataReader.read($0, path: path).metadata } ?? MetadataReader.sidecar(forImageAt: path)
            dimensions = bytes.withUnsafeBytes { ImageDecoder.dimensions($0) }
        }
    }

    /// Phase 1's records: metadata (the file's, else a sidecar's), the known
    /// prompt's embeddings (a text stored already is not embedded again; the
    /// batch embeds each new text once), not analysed. A reindex of the same
    /// content keeps the stored analysis until phase 2 replaces it.
    func phaseOne(_ inputs: [PhaseOneInput]) -> [(file: IndexedFile, job: Job)] {
        guard !inputs.isEmpty else { return [] }
        let metadata = inputs.map { $0.header!.metadata }
        let prompts = metadata.map { $0?.hasRealPrompt == true ? $0?.prompt : nil }
        var vectors: [String: (known: [Float], search: [Float])] = (try? store.promptEmbeddings(for: prompts.compactMap { $0 })) ?? [:]
        var seen = Set<String>()
        let fresh = prompts.compactMap { $0 }.filter { vectors[$0] == nil && seen.insert($0).inserted }
        if !fresh.isEmpty {
            let embedded = ImageAnalyzer.searchEmbeddings(fresh) { analyzer.promptEncoder.embed($0) }
            for (p, v) in zip(fresh, embedded) { vectors[p] = (v.prompt, v.search) }
        }
        return zip(inputs, zip(metadata, prompts)).map { p, mp in
            var f = IndexedFile(path: p.job.path, contentHash: p.hash, size: p.stat.size, mtimeNs: p.stat.mtimeNs,
                                format: p.header!.format.rawValue, metadata: mp.0)
            f.analysed = false
            // From the header, so the gallery has the shape before the pixels are decoded.
            if let size = p.header!.dimensions { f.width = size.width; f.height = size.height }
            if p.job.isReindex, let rec = try? store.image(path: p.job.path), rec.status == .indexed, rec.contentHash == p.hash,
               let stored = try? store.embeddings(imageID: rec.id) {
                f.width = rec.width; f.height = rec.height; f.caption = rec.caption; f.keywords = rec.keywords
                f.embeddings = stored.filter { $0.key != .knownPrompt && $0.key != .searchPrompt }
            }
            if let prompt = mp.1, let v = vectors[prompt] {
                f.embeddings[.knownPrompt] = v.known; f.embeddings[.searchPrompt] = v.search
            }
            return (f, p.job)
        }
    }

    /// The record of an analysed file: its prediction (the learned
    /// ensemble's once trained, else zero-shot), caption, keywords, known
    /// prompt's embeddings when the analysis made them, and features.
    func analysedFile(_ a: ImageAnalysis, path: String) -> IndexedFile {
        var vectors: [EmbeddingKind: [Float]] = [:]
        var caption = a.caption, keywords = a.keywords, origin = PredictionOrigin.zeroShot
        if let e = a.embedding { vectors[EmbeddingKind.predicted] = e }
        // After training, the learned ensemble replaces the zero-shot prediction.
        if a.error == nil, let learned = learner?.predict(features: a.features, zeroShot: a.embedding.map { ($0, a.keywords) }) {
            vectors[EmbeddingKind.predicted] = learned.embedding
            caption = learned.candidates.first?.prompt ?? caption
            keywords = learned.keywords
            origin = learned.origin
        }
        if let k = a.knownPromptEmbedding { vectors[EmbeddingKind.knownPrompt] = k }
        if let k = a.searchPromptEmbedding { vectors[EmbeddingKind.searchPrompt] = k }
        for (model, f) in a.features { vectors[EmbeddingKind.features(model)] = f }
        if let p = a.pixelSignature { vectors[EmbeddingKind.pixels] = p }
        var file = IndexedFile(path: path, contentHash: a.contentHash, size: Int64(a.size ?? 0), mtimeNs: 0,
                               width: a.width, height: a.height, format: a.format?.rawValue, metadata: a.metadata,
                               caption: caption, keywords: keywords, embeddings: vectors, error: a.error)
        file.predictionOrigin = origin
        return file
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Keeps a thumbnail made from the decode the encoders used; one that
    /// cannot be written is made again when the gallery asks for it.
    func storeThumbnail(_ webp: [UInt8], for hash: String, path: String) {
        guard let thumbnails, ThumbnailCache.isContentHash(hash) else { return }
        do { try thumbnails.store(webp, for: hash) } catch {
            logger.warning("cannot store a thumbnail", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Settles a job that needs no reading or analysis; returns what phase 1 needs otherwise.
    func settleWithoutEncoding(_ job: Job) throws -> PhaseOneInput? {
        let path = job.path
        guard let st = FileStat.of(path) else {
            // Gone meanwhile: the watcher's event removes or moves its record.
            try store.settleMissing(job)
            return nil
        }
        // A reindex reads the file again, changed or not; its record
        // answers searches until the new result replaces it (same id). An
        // unchanged record not yet analysed has its analysis queued.
        if !job.isReindex, let rec = try store.image(path: path), rec.size == st.size, rec.mtimeNs == st.mtimeNs, rec.status == .indexed {
            try store.finish(job)
            return nil
        }
        // Read once, bounded: the hash and phase 1 use these bytes.
        let bytes = try? ImageDecoder.read(path: path, limits: analyzer.limits)
        let hash = bytes.map { b in b.withUnsafeBytes { SHA256.hex($0) } }
        // Same content already indexed and analysed (a move or a copy): reuse, do not re-encode.
        if !job.isReindex, let hash, let twin = try store.indexedImage(contentHash: hash), twin.path != path, twin.analysed {
            let vectors = try store.embeddings(imageID: twin.id)
            let f = IndexedFile(path: path, contentHash: hash, size: st.size, mtimeNs: st.mtimeNs, width: twin.width,
                                height: twin.height, format: twin.format, metadata: twin.metadata, caption: twin.caption,
                                keywords: twin.keywords, embeddings: vectors)
            if case .stored = try store.store(f, completing: job) { count(failed: false) }
            return nil
        }
        return PhaseOneInput(job: job, stat: st, header: bytes.flatMap { Header($0, path: path) }, hash: hash)
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
