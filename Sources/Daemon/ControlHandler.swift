#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Inference
import Analysis
import RevsdProtocol
import RevsdSystem
import Store
import Imaging

/// Answers control requests (docs/PROTOCOL.md) from the indexing service.
public struct ControlHandler: Sendable {
    public let service: IndexingService
    public let models: [String]
    public let statusExtra: @Sendable () -> [String: Any]
    let daemonUID = CurrentProcess.userID

    public init(service: IndexingService, models: [String], statusExtra: @escaping @Sendable () -> [String: Any] = { [:] }) {
        self.service = service
        self.models = models
        self.statusExtra = statusExtra
    }

    public func handle(_ r: [String: Any], _ fds: inout [Int32], _ peer: ControlServer.Peer) throws(ControlError) -> [String: Any] {
        guard let op = r["op"] as? String else { throw ControlError(.badRequest, "missing \"op\"") }
        func mutating() throws(ControlError) {
            guard peer.uid == 0 || peer.uid == daemonUID else {
                throw ControlError(.forbidden, "'\(op)' changes the index: only uid \(daemonUID) or root may ask (you are uid \(peer.uid))")
            }
        }
        func string(_ key: String) throws(ControlError) -> String {
            guard let s = r[key] as? String, !s.isEmpty else { throw ControlError(.badRequest, "'\(op)' needs a \"\(key)\" string") }
            return s
        }
        func limit() throws(ControlError) -> Int {
            guard let k = r["k"] else { return 10 }
            guard let n = k as? Int, (1...1000).contains(n) else { throw ControlError(.badRequest, "\"k\" must be an integer from 1 to 1000") }
            return n
        }
        do {
            switch op {
            case "status": return try status()
            case "search":
                if (r["query"] as? String ?? "").isEmpty, r["max_alignment"] != nil || r["tier"] != nil {
                    return try drifted(k: try limit(), r)   // no query: the least aligned first
                }
                return try search(query: try string("query"), k: try limit(), r)
            case "similar": return try similar(path: try string("path"), k: try limit())
            case "caption":
                guard !fds.isEmpty else { throw ControlError(.badRequest, "'caption' needs the file's descriptor sent with the request (SCM_RIGHTS)") }
                let fd = fds.removeFirst()
                defer { Syscalls.close(fd) }
                let name = (r["name"] as? String) ?? "fd"
                let bytes: [UInt8]
                do { bytes = try ImageDecoder.read(descriptor: fd, name: name, limits: service.analyzer.limits) } catch {
                    return ImageAnalysis.failure(path: name, error: "\(error)").jsonObject(includeEmbedding: r["embedding"] as? Bool == true)
                }
                let learned = service.learner?.model != nil
                let a = service.analyzer.analyze(bytes: bytes, path: name, includeEmbedding: r["embedding"] as? Bool == true,
                                                 includeFeatures: learned, computeHash: learned, sidecars: false)
                var o = a.jsonObject(includeEmbedding: r["embedding"] as? Bool == true)
                if a.error == nil { learnedCaption(a, &o) }
                return o
            case "train": try mutating(); return try train(r)
            case "prompts_import": try mutating(); return try importPrompts(r)
            case "eval_add": return try evalAdd(r, &fds)
            case "eval_run": return try evalRun(r)
            case "watch_list": return ["watches": service.watchRoots]
            case "watch_add":
                try mutating()
                let path = URL(fileURLWithPath: try string("path")).standardizedFileURL.path
                do { try service.addRoot(path) } catch { throw ControlError(.notFound, "\(error)") }
                return ["watches": service.watchRoots]
            case "watch_remove":
                try mutating()
                let path = URL(fileURLWithPath: try string("path")).standardizedFileURL.path
                guard service.watchRoots.contains(path) else { throw ControlError(.notFound, "\(path) is not watched") }
                try service.removeRoot(path)
                return ["watches": service.watchRoots]
            case "reindex":
                try mutating()
                let under = r["path"] as? String
                var n = 0
                for root in service.watchRoots {
                    let files = service.watcher.addTree(root).filter { under == nil || $0 == under! || $0.hasPrefix(under! + "/") }
                    let images = files.filter(IndexingService.looksLikeImage)
                    for p in images { try service.store.remove(path: p) }
                    try service.store.enqueue(images, reason: "reindex")
                    n += images.count
                }
                service.signal.signal()
                return ["queued": n]
            default:
                throw ControlError(.unknownOperation, "unknown operation '\(op)' (status, search, similar, caption, watch_add, watch_remove, watch_list, reindex, train, prompts_import, eval_add, eval_run)")
            }
        } catch let e as ControlError {
            throw e
        } catch {
            throw ControlError(.internalError, "\(error)")
        }
    }

    func status() throws -> [String: Any] {
        let c = try service.store.counts()
        var o: [String: Any] = [
            "indexed": c.indexed, "failed": c.failed, "queued": c.queued, "with_prompt": c.withPrompt,
            "watches": service.watchRoots, "models": models, "watched_directories": service.watcher.watchCount,
            "watch_limit": service.watcher.limitMessage ?? NSNull(),
            "processed_since_start": service.processedSinceStart, "failed_since_start": service.failuresSinceStart,
            "version": RevsdVersion.string, "pid": Int(CurrentProcess.id),
        ]
        if let l = service.learner { o["learning"] = l.statusObject() }
        for (k, v) in statusExtra() { o[k] = v }
        return o
    }

    func search(query: String, k: Int, _ r: [String: Any]) throws -> [String: Any] {
        let q = service.analyzer.promptEncoder.embed([query])[0]
        let hasFilter = ["folder", "has_prompt", "since", "until", "model", "text", "max_alignment", "tier"].contains { r[$0] != nil }
        if let t = r["tier"], !["easy", "medium", "hard"].contains(t as? String ?? "") {
            throw ControlError(.badRequest, "\"tier\" must be easy, medium or hard")
        }
        let maxAlignment = r["max_alignment"].flatMap { ($0 as? NSNumber)?.doubleValue }
        if r["max_alignment"] != nil, maxAlignment == nil { throw ControlError(.badRequest, "\"max_alignment\" must be a number") }
        let allowed: Set<Int64>? = hasFilter ? try service.store.filteredIDs(
            folder: (r["folder"] as? String).map { URL(fileURLWithPath: $0).standardizedFileURL.path },
            hasPrompt: r["has_prompt"] as? Bool, since: r["since"] as? Double, until: r["until"] as? Double,
            model: r["model"] as? String, text: r["text"] as? String, maxAlignment: maxAlignment, tier: r["tier"] as? String) : nil
        let hits = service.search.search(q, k: k, allowed: allowed)
        return ["query": query, "results": try results(hits)]
    }

    /// Labelled images whose picture drifted furthest from their prompt
    /// (lowest alignment first), within the alignment/tier filters.
    func drifted(k: Int, _ r: [String: Any]) throws -> [String: Any] {
        let maxAlignment = r["max_alignment"].flatMap { ($0 as? NSNumber)?.doubleValue }
        if let t = r["tier"], !["easy", "medium", "hard"].contains(t as? String ?? "") {
            throw ControlError(.badRequest, "\"tier\" must be easy, medium or hard")
        }
        let ids = try service.store.leastAligned(maxAlignment: maxAlignment, tier: r["tier"] as? String,
                                                 folder: (r["folder"] as? String).map { URL(fileURLWithPath: $0).standardizedFileURL.path }, limit: k)
        let records = try service.store.images(ids: ids)
        return ["query": NSNull(), "results": ids.compactMap { id -> [String: Any]? in
            guard let rec = records[id] else { return nil }
            return ["path": rec.path, "score": rec.alignment.map { Double($0) } ?? NSNull(), "caption": rec.caption ?? NSNull(),
                    "prompt": rec.prompt ?? NSNull(), "alignment": rec.alignment.map { Double($0) } ?? NSNull(), "tier": rec.tier ?? NSNull()]
        }]
    }

    func similar(path: String, k: Int) throws -> [String: Any] {
        let p = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let rec = try service.store.image(path: p), rec.status == .indexed,
              let v = try service.store.embeddings(imageID: rec.id)[EmbeddingKind.predicted] else {
            throw ControlError(.notFound, "\(p) is not in the index")
        }
        let hits = service.search.search(v, k: k + 1).filter { $0.id != rec.id }.prefix(k)
        return ["path": p, "results": try results(Array(hits))]
    }

    func results(_ hits: [(id: Int64, score: Float)]) throws -> [[String: Any]] {
        let records = try service.store.images(ids: hits.map(\.id))
        return hits.compactMap { h in
            guard let rec = records[h.id] else { return nil }
            return ["path": rec.path, "score": Double(h.score), "caption": rec.caption ?? NSNull(), "prompt": rec.prompt ?? NSNull(),
                    "alignment": rec.alignment.map { Double($0) } ?? NSNull(), "tier": rec.tier ?? NSNull()]
        }
    }
}
