import Analysis
import Foundation
import Imaging
import Logging
import RevsdSystem
import Store

extension IndexingService {
    /// Phase 2, when no phase-1 job waits: takes a batch of queued analyses
    /// (IndexStore+Analysis), reads each file again and checks its bytes
    /// are still the content phase 1 stored (else the item goes and the path
    /// is queued for phase 1 again), decodes it once, runs the encoders, the
    /// prediction (the learned one once trained) and the thumbnail, and
    /// stores each result against its item as it is now. Returns whether it
    /// took any.
    func analyseQueued() -> Bool {
        if let hold = faults.holdAnalysisWhile, FileManager.default.fileExists(atPath: hold) { return false }
        let items: [IndexStore.AnalysisItem]
        do { items = try store.claimAnalyses(limit: batchSize) } catch {
            logger.error("cannot read the analysis queue", metadata: ["error": "\(error)"])
            return false
        }
        guard !items.isEmpty else { return false }
        heartbeat(busy: +1)
        defer { heartbeat(busy: -1) }
        if signal.isStopping { try? store.release(items); return true }
        var missing: [IndexStore.AnalysisItem] = []
        var work: [(item: IndexStore.AnalysisItem, analysis: ImageAnalysis)] = []
        for item in items {
            defer { heartbeat(busy: 0) }
            let bytes: [UInt8]
            do { bytes = try ImageDecoder.read(path: item.path, limits: analyzer.limits) } catch {
                // Not there (its move or delete event is on its way): later.
                // There but not readable as it was: phase 1 again, which records why.
                if FileStat.of(item.path) == nil { missing.append(item) } else { stale(item) }
                continue
            }
            guard bytes.withUnsafeBytes({ SHA256.hex($0) }) == item.contentHash else { stale(item); continue }
            work.append((item, analyzer.analyze(bytes: bytes, path: item.path, includeEmbedding: true, includeFeatures: true,
                                                sidecars: true, embedKnownPrompt: false, includeThumbnail: thumbnails != nil)))
        }
        if !missing.isEmpty {
            do { try store.release(missing, after: IndexStore.missingFileRetry) } catch {
                logger.error("cannot put analyses back", metadata: ["error": "\(error)"])
            }
        }
        // A prompt phase 1 did not see (hidden in the pixels) is embedded now;
        // the others keep phase 1's embeddings (`store(analysis:)`).
        var told = work.indices.filter { work[$0].analysis.metadata?.hasRealPrompt == true && work[$0].analysis.metadata?.prompt != work[$0].item.prompt }
            .map { work[$0].analysis }
        analyzer.completeKnownPrompts(&told)
        var next = 0
        for i in work.indices where work[i].analysis.metadata?.hasRealPrompt == true && work[i].analysis.metadata?.prompt != work[i].item.prompt {
            work[i].analysis = told[next]; next += 1
        }
        if let hold = faults.holdBatch { Thread.sleep(forTimeInterval: Self.seconds(hold)) }
        guard !work.isEmpty else { return true }
        do {
            let commits = try store.store(analyses: work.map { (analysedFile($0.analysis, path: $0.item.path), $0.item) })
            for ((item, a), commit) in zip(work, commits) {
                guard case .stored(_, let path) = commit else { continue }
                if let e = a.error { logger.warning("file not analysed", metadata: ["path": "\(path)", "error": "\(e)"]) }
                if a.error == nil, let webp = a.thumbnail { storeThumbnail(webp, for: item.contentHash, path: path) }
                countAnalysed(failed: a.error != nil)
            }
        } catch {
            logger.error("cannot store analyses", metadata: ["error": "\(error)"])
            try? store.release(work.map(\.item))
        }
        removeGoneThumbnails()
        return true
    }

    func stale(_ item: IndexStore.AnalysisItem) {
        do { try store.analysisIsStale(item); signal.signal() } catch {
            logger.error("cannot queue a changed file again", metadata: ["path": "\(item.path)", "error": "\(error)"])
        }
    }

    func countAnalysed(failed: Bool) {
        state.withLock { $0.analysedSinceStart += 1; if failed { $0.failuresSinceStart += 1 } }
        onProgress()
    }
}
