#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Inference
import Learning
import Analysis
import RevsdProtocol
import RevsdSystem
import Search
import Store
import Imaging

/// Answers control requests (docs/PROTOCOL.md) from the indexing service.
/// Requests arrive decoded and checked (RevsdProtocol); each operation
/// answers with its own result type.
public struct ControlHandler: Sendable {
    public let service: IndexingService
    public let models: [String]
    /// `[search] lexical_weight` (DaemonConfig.lexicalWeight).
    public let lexicalWeight: Float
    let daemonUID = CurrentProcess.userID

    public init(service: IndexingService, models: [String], lexicalWeight: Float = DaemonConfig.defaultLexicalWeight) {
        self.service = service
        self.models = models
        self.lexicalWeight = lexicalWeight
    }

    public func handle(_ request: Request, _ fds: inout [Int32], _ peer: ControlServer.Peer) throws(ControlError) -> ControlServer.Reply {
        let op = request.operation
        guard !op.isMutating || peer.uid == 0 || peer.uid == daemonUID else {
            throw ControlError(.forbidden, "'\(op.rawValue)' changes the index: only uid \(daemonUID) or root may ask (you are uid \(peer.uid))")
        }
        do {
            switch request {
            case let .imageFile(r): return try imageFile(r)
            case let .images(r): return ControlServer.Reply(try images(r))
            case let .image(r): return ControlServer.Reply(try image(r))
            default: return ControlServer.Reply(try result(request, &fds))
            }
        } catch let e as ControlError {
            throw e
        } catch {
            throw ControlError(.internalError, "\(error)")
        }
    }

    /// The operations answered by a result alone.
    func result(_ request: Request, _ fds: inout [Int32]) throws -> any ControlResult {
        switch request {
        case .images, .image, .imageFile: preconditionFailure("answered by handle")
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
            return ReindexResult(queued: try service.reindex(under: r.path.map(Self.standardized)))
        }
    }

    static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    func status() throws -> StatusResult {
        let c = service.store.counts(), p = service.store.phaseCounts()
        return StatusResult(
            indexed: c.indexed, queued: c.queued, failed: c.failed, withPrompt: c.withPrompt,
            searchable: p.searchable, analysed: p.analysed, analysisQueued: p.analysisQueued,
            watches: service.watchRoots, models: models,
            watchedDirectories: service.watcher.watchCount, watchLimit: service.watcher.limitMessage,
            missingWatches: service.missingRoots,
            failedFiles: try service.store.failedImages(limit: Self.statusFailedFiles).map(FailedFile.init),
            processedSinceStart: service.processedSinceStart, failedSinceStart: service.failuresSinceStart,
            analysedSinceStart: service.analysedSinceStart, version: RevsdVersion.string, pid: Int(CurrentProcess.id), learning: service.learner?.status())
    }

    /// How many of the most recent failures `status` lists.
    static let statusFailedFiles = 20

    /// A page of the failed files, most recent first.
    func failed(_ r: FailedRequest) throws -> FailedResult {
        let files = try service.store.failedImages(limit: r.limit, offset: r.offset).map(FailedFile.init)
        return FailedResult(total: try service.store.counts().failed, offset: r.offset, files: files)
    }

    /// Labelled images whose picture drifted furthest from their prompt
    /// (lowest alignment first), within the alignment/tier filters.
    func drifted(_ r: SearchRequest) throws -> SearchResult {
        let ids = try service.store.leastAligned(maxAlignment: r.maxAlignment, tier: r.tier.map(Learning.Tier.init),
                                                 folder: r.folder.map(Self.standardized), limit: r.k)
        let records = try service.store.images(ids: ids)
        let groups = Self.groupedByContent(ids.compactMap { records[$0] })
        let copies = try service.store.copies(contentHashes: groups.compactMap { $0.first?.contentHash })
        return SearchResult(query: nil, results: groups.map { g in
            SearchHit(g[0], score: g[0].alignment.map(Double.init), otherPaths: Self.otherPaths(of: g[0], copies, allowed: nil))
        })
    }

    func similar(_ r: SimilarRequest) throws -> SimilarResult {
        let found: ImageRecord?
        let p: String
        if let id = r.imageID {
            found = try service.store.images(ids: [id])[id]
            p = found?.path ?? "image \(id)"
        } else {
            p = Self.standardized(r.path ?? "")
            found = try service.store.image(path: p)
        }
        let vectors = try found.flatMap { rec in
            rec.status == .indexed ? (rec, try service.store.embeddings(imageID: rec.id)) : nil
        }
        // Its prompt (as search meets it) when it carries one, else its
        // prediction, against the others' prompts ranked as a search ranks them.
        guard let (rec, embeddings) = vectors,
              let v = embeddings[EmbeddingKind.searchPrompt] ?? embeddings[EmbeddingKind.knownPrompt] ?? embeddings[EmbeddingKind.predicted] else {
            throw ControlError(.notFound, "\(p) is not in the index")
        }
        let ranking = predictionRanking()
        // The image itself and its identical copies are not "similar": they are it.
        let hits = try distinctHits(k: r.k, allowed: nil, ranking: ranking, excludingContent: rec.contentHash, excludingID: rec.id) {
            service.search.search(v, k: $0, allowed: nil, ranking: ranking)
        }
        return SimilarResult(path: rec.path, results: hits)
    }

    /// The best `k` distinct pictures: identical copies score the same and
    /// make one hit, whose `paths` lists the others (within `allowed`).
    /// Searches deeper while copies leave fewer than `k`.
    func distinctHits(k: Int, allowed: Set<Int64>?, ranking: Ranking, groupingVariations: Bool = false,
                      excludingContent excluded: String? = nil, excludingID: Int64? = nil,
                      _ search: (Int) -> [SearchIndex.Hit]) throws -> [SearchHit] {
        var depth = k + 1
        while true {
            let hits = search(depth)
            let records = try service.store.images(ids: hits.map(\.id))
            var scored: [ImageRecord] = [], found: [Int64: SearchIndex.Hit] = [:]
            for h in hits {
                guard let rec = records[h.id], rec.id != excludingID, excluded == nil || rec.contentHash != excluded else { continue }
                scored.append(rec); found[rec.id] = h
            }
            let groups = Self.grouped(scored, byPrompt: groupingVariations)
            if groups.count >= k || hits.count < depth || depth >= service.search.count {
                let top = groups.prefix(k)
                let copies = try service.store.copies(contentHashes: top.compactMap { $0[0].contentHash })
                let variations = groupingVariations ? try service.store.images(prompts: top.compactMap { $0[0].prompt }) : [:]
                return top.map { g in
                    let hit = found[g[0].id]
                    return SearchHit(g[0], score: hit.map { Double($0.score) }, otherPaths: Self.otherPaths(of: g[0], copies, allowed: allowed),
                                     match: hit.map { $0.kind.isPrediction ? .predicted : .prompt },
                                     confidence: hit.map { Double(ranking.confidence(of: $0.kind)) },
                                     variations: Self.variations(of: g[0], variations, allowed: allowed))
                }
            }
            depth = min(max(depth * 4, depth + k), service.search.count + 1)
        }
    }

    /// Records in order, grouped by content (first appearance first; a
    /// record without a content hash is its own group).
    static func groupedByContent(_ records: [ImageRecord]) -> [[ImageRecord]] { grouped(records, byPrompt: false) }

    /// Records in order, grouped by content and, `byPrompt`, by known prompt
    /// (the images of one prompt: seed variations and their copies) — first
    /// appearance first; a record with neither is its own group.
    static func grouped(_ records: [ImageRecord], byPrompt: Bool) -> [[ImageRecord]] {
        var groups: [[ImageRecord]] = [], index: [String: Int] = [:]
        for rec in records {
            let key = (byPrompt ? rec.prompt.map { "prompt:" + $0 } : nil) ?? rec.contentHash.map { "content:" + $0 }
            if let key, let i = index[key] { groups[i].append(rec); continue }
            if let key { index[key] = groups.count }
            groups.append([rec])
        }
        return groups
    }

    /// The other images of `rec`'s prompt whose content differs from it (its
    /// copies are `paths`), within `allowed`.
    static func variations(of rec: ImageRecord, _ byPrompt: [String: [(id: Int64, path: String, contentHash: String?)]],
                           allowed: Set<Int64>?) -> [String] {
        guard let p = rec.prompt else { return [] }
        return (byPrompt[p] ?? []).filter { v in
            v.id != rec.id && (rec.contentHash == nil || v.contentHash != rec.contentHash) && allowed?.contains(v.id) != false
        }.map(\.path)
    }

    static func otherPaths(of rec: ImageRecord, _ copies: [String: [(id: Int64, path: String)]], allowed: Set<Int64>?) -> [String] {
        guard let h = rec.contentHash else { return [] }
        return (copies[h] ?? []).filter { $0.id != rec.id && allowed?.contains($0.id) != false }.map(\.path)
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
        let learned = service.learner?.adoptedModel != nil
        let a = service.analyzer.analyze(bytes: bytes, path: name, includeEmbedding: r.embedding,
                                         includeFeatures: learned, computeHash: learned, sidecars: false)
        var result = CaptionResult(a, includeEmbedding: r.embedding)
        if a.error == nil { learnedCaption(a, &result) }
        return result
    }
}
