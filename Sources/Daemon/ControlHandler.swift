#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Inference
import Learning
import Analysis
import RevsdProtocol
import RevsdSystem
import Store
import Imaging

/// Answers control requests (docs/PROTOCOL.md) from the indexing service.
/// Requests arrive decoded and checked (RevsdProtocol); each operation
/// answers with its own result type.
public struct ControlHandler: Sendable {
    public let service: IndexingService
    public let models: [String]
    let daemonUID = CurrentProcess.userID

    public init(service: IndexingService, models: [String]) {
        self.service = service
        self.models = models
    }

    public func handle(_ request: Request, _ fds: inout [Int32], _ peer: ControlServer.Peer) throws(ControlError) -> any ControlResult {
        let op = request.operation
        guard !op.isMutating || peer.uid == 0 || peer.uid == daemonUID else {
            throw ControlError(.forbidden, "'\(op.rawValue)' changes the index: only uid \(daemonUID) or root may ask (you are uid \(peer.uid))")
        }
        do {
            switch request {
            case .status: return try status()
            case let .failed(r): return try failed(r)
            case let .search(r): return try r.listsLeastAligned ? drifted(r) : search(r)
            case let .similar(r): return try similar(r)
            case let .caption(r): return try caption(r, &fds)
            case .train(let r): return try train(r)
            case .promptsImport(let r): return try importPrompts(r)
            case .evalAdd(let r): return try evalAdd(r, &fds)
            case .evalRun(let r): return try evalRun(r)
            case .watchList: return WatchesResult(watches: service.watchRoots)
            case let .watchAdd(r):
                do { try service.addRoot(Self.standardized(r.path)) } catch { throw ControlError(.notFound, "\(error)") }
                return WatchesResult(watches: service.watchRoots)
            case let .watchRemove(r):
                let path = Self.standardized(r.path)
                guard service.watchRoots.contains(path) else { throw ControlError(.notFound, "\(path) is not watched") }
                try service.removeRoot(path)
                return WatchesResult(watches: service.watchRoots)
            case let .reindex(r):
                let under = r.path
                var n = 0
                for root in service.watchRoots {
                    let files = (service.watcher.addRoot(root) ?? []).filter { under == nil || Paths.isSameOrInside($0, root: under!) }
                    let images = files.filter(IndexingService.looksLikeImage)
                    for p in images { try service.store.remove(path: p) }
                    try service.store.enqueue(images, reason: "reindex")
                    n += images.count
                }
                service.signal.signal()
                return ReindexResult(queued: n)
            }
        } catch let e as ControlError {
            throw e
        } catch {
            throw ControlError(.internalError, "\(error)")
        }
    }

    static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    func status() throws -> StatusResult {
        let c = try service.store.counts()
        return StatusResult(
            indexed: c.indexed, queued: c.queued, failed: c.failed, withPrompt: c.withPrompt, watches: service.watchRoots, models: models,
            watchedDirectories: service.watcher.watchCount, watchLimit: service.watcher.limitMessage,
            missingWatches: service.missingRoots,
            failedFiles: try service.store.failedImages(limit: Self.statusFailedFiles).map(FailedFile.init),
            processedSinceStart: service.processedSinceStart, failedSinceStart: service.failuresSinceStart,
            version: RevsdVersion.string, pid: Int(CurrentProcess.id), learning: service.learner?.status())
    }

    /// How many of the most recent failures `status` lists.
    static let statusFailedFiles = 20

    /// A page of the failed files, most recent first.
    func failed(_ r: FailedRequest) throws -> FailedResult {
        let files = try service.store.failedImages(limit: r.limit, offset: r.offset).map(FailedFile.init)
        return FailedResult(total: try service.store.counts().failed, offset: r.offset, files: files)
    }

    func search(_ r: SearchRequest) throws -> SearchResult {
        let query = r.query ?? ""   // not empty: the request was checked
        let q = service.analyzer.promptEncoder.embed([query])[0]
        let allowed: Set<Int64>? = r.hasFilter ? try service.store.filteredIDs(
            folder: r.folder.map(Self.standardized), hasPrompt: r.hasPrompt, since: r.since, until: r.until,
            model: r.model, text: r.text, maxAlignment: r.maxAlignment, tier: r.tier.map(Learning.Tier.init)) : nil
        let hits = service.search.search(q, k: r.k, allowed: allowed)
        return SearchResult(query: query, results: try results(hits))
    }

    /// Labelled images whose picture drifted furthest from their prompt
    /// (lowest alignment first), within the alignment/tier filters.
    func drifted(_ r: SearchRequest) throws -> SearchResult {
        let ids = try service.store.leastAligned(maxAlignment: r.maxAlignment, tier: r.tier.map(Learning.Tier.init),
                                                 folder: r.folder.map(Self.standardized), limit: r.k)
        let records = try service.store.images(ids: ids)
        return SearchResult(query: nil, results: ids.compactMap { id in
            records[id].map { SearchHit($0, score: $0.alignment.map(Double.init)) }
        })
    }

    func similar(_ r: SimilarRequest) throws -> SimilarResult {
        let p = Self.standardized(r.path)
        guard let rec = try service.store.image(path: p), rec.status == .indexed,
              let v = try service.store.embeddings(imageID: rec.id)[EmbeddingKind.predicted] else {
            throw ControlError(.notFound, "\(p) is not in the index")
        }
        let hits = service.search.search(v, k: r.k + 1).filter { $0.id != rec.id }.prefix(r.k)
        return SimilarResult(path: p, results: try results(Array(hits)))
    }

    func results(_ hits: [(id: Int64, score: Float)]) throws -> [SearchHit] {
        let records = try service.store.images(ids: hits.map(\.id))
        return hits.compactMap { h in records[h.id].map { SearchHit($0, score: Double(h.score)) } }
    }

    /// The file a client passed with its request (SCM_RIGHTS), read whole
    /// within the image limits: the daemon reads exactly that descriptor and
    /// never opens a path for a client.
    func passedFile(_ fds: inout [Int32], for operation: RevsdProtocol.Operation, name: String) throws(ControlError) -> Result<[UInt8], ImageError> {
        guard !fds.isEmpty else {
            throw ControlError(.badRequest, "'\(operation.rawValue)' needs the file's descriptor sent with the request (SCM_RIGHTS)")
        }
        let fd = fds.removeFirst()
        defer { Syscalls.close(fd) }
        let limits = service.analyzer.limits
        return Result { () throws(ImageError) in try ImageDecoder.read(descriptor: fd, name: name, limits: limits) }
    }

    func caption(_ r: CaptionRequest, _ fds: inout [Int32]) throws(ControlError) -> CaptionResult {
        let name = r.name ?? "fd"
        let bytes: [UInt8]
        switch try passedFile(&fds, for: .caption, name: name) {
        case .success(let b): bytes = b
        case .failure(let error): return .failure(path: name, error: "\(error)", includesEmbedding: r.embedding)
        }
        let learned = service.learner?.model != nil
        let a = service.analyzer.analyze(bytes: bytes, path: name, includeEmbedding: r.embedding,
                                         includeFeatures: learned, computeHash: learned, sidecars: false)
        var result = CaptionResult(a, includeEmbedding: r.embedding)
        if a.error == nil { learnedCaption(a, &result) }
        return result
    }
}
