#if canImport(Glibc)
import Glibc
#endif
import Imaging
import Learning
import RevsdProtocol
import RevsdSystem
import Store

/// The gallery's operations (revsd-web): the library in pages, one image,
/// and an image's file or thumbnail passed back as a descriptor. Everything
/// comes from the index (no encoder runs); a file is opened only at the
/// path the index holds for the image, never at one a client names.
extension ControlHandler {
    func images(_ r: ImagesRequest) throws -> ImagesResult {
        let filter = ImageFilter(folder: r.folder.map(Self.standardized), hasPrompt: r.hasPrompt, model: r.model, sampler: r.sampler,
                                 since: r.since, until: r.until, tier: r.tier.map(Learning.Tier.init))
        let page = try service.store.galleryPage(filter, limit: r.limit, offset: r.offset)
        return ImagesResult(total: page.total, offset: r.offset, images: page.images.map(ImageSummary.init))
    }

    func image(_ r: ImageRequest) throws -> ImageResult {
        let rec = try indexedRecord(r.imageID)
        let copies = try rec.contentHash.map { try service.store.copies(contentHashes: [$0]) } ?? [:]
        let neighbours = try service.store.galleryNeighbours(of: rec)
        return ImageResult(imageID: rec.id, path: rec.path, paths: Self.otherPaths(of: rec, copies, allowed: nil), contentHash: rec.contentHash,
                           size: Int(rec.size), mtime: Double(rec.mtimeNs) / 1e9, format: rec.format, width: rec.width, height: rec.height,
                           analysis: try storedAnalysis(rec), newer: neighbours.newer, older: neighbours.older)
    }

    func imageFile(_ r: ImageFileRequest) throws -> ControlServer.Reply {
        let rec = try indexedRecord(r.imageID)
        switch r.kind {
        case .original:
            let (fd, size) = try openIndexedFile(rec)
            let result = ImageFileResult(imageID: rec.id, kind: .original, mediaType: Self.mediaType(format: rec.format), size: size,
                                         etag: Self.etag(rec, kind: .original))
            return ControlServer.Reply(result, passing: fd)
        case .thumbnail:
            guard let cache = service.thumbnails else { throw ControlError(.unavailable, "this revsdd makes no thumbnails") }
            guard let hash = rec.contentHash, ThumbnailCache.isContentHash(hash) else {
                throw ControlError(.notFound, "\(rec.path) has no content hash in the index; it will be indexed again")
            }
            let opened = try cache.open(hash) ?? remakeThumbnail(rec, hash: hash, in: cache)
            let result = ImageFileResult(imageID: rec.id, kind: .thumbnail, mediaType: "image/webp", size: opened.size,
                                         etag: Self.etag(rec, kind: .thumbnail))
            return ControlServer.Reply(result, passing: opened.fd)
        }
    }

    /// The record of an indexed image (not a failed file).
    func indexedRecord(_ id: Int64) throws -> ImageRecord {
        guard let rec = try service.store.images(ids: [id])[id], rec.status == .indexed else {
            throw ControlError(.notFound, "image \(id) is not in the index")
        }
        return rec
    }

    /// The indexed file opened read-only (and its size) when it is still
    /// the file that was indexed: a regular file, not a symbolic link (the
    /// scan never indexes one: it lists with lstat), of the recorded size
    /// and mtime. Otherwise not found, and a changed regular file is queued
    /// to be indexed again.
    func openIndexedFile(_ rec: ImageRecord) throws(ControlError) -> (fd: Int32, size: Int) {
        let fd: Int32
        // O_NONBLOCK: a FIFO put at the path cannot stall the request.
        do { fd = try Syscalls.open(rec.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) } catch {
            // Not queued: the scan indexes no link, and the watcher's events settle the record.
            if error.errno == ELOOP { throw ControlError(.notFound, "\(rec.path) is a symbolic link now, not the file that was indexed") }
            if error.errno == ENOENT { throw ControlError(.notFound, "\(rec.path) is gone since it was indexed") }
            throw ControlError(.notFound, "\(rec.path): cannot open: \(error.reason)")
        }
        let st: FileStatus
        do { st = try Syscalls.status(descriptor: fd, path: rec.path) } catch {
            Syscalls.close(fd)
            throw ControlError(.notFound, "\(rec.path): \(error.reason)")
        }
        guard st.kind == .regular, st.size == rec.size, st.modifiedNs == rec.mtimeNs else {
            Syscalls.close(fd)
            requeue(rec.path)
            throw ControlError(.notFound, "\(rec.path) changed since it was indexed; it will be indexed again")
        }
        return (fd, Int(st.size))
    }

    func requeue(_ path: String) {
        try? service.enqueue(path, reason: "changed")
    }

    /// A thumbnail missing from the cache (evicted, deleted), made again
    /// now from the indexed file, stored, and opened.
    func remakeThumbnail(_ rec: ImageRecord, hash: String, in cache: ThumbnailCache) throws -> (fd: Int32, size: Int) {
        let (fd, _) = try openIndexedFile(rec)
        defer { Syscalls.close(fd) }
        let limits = service.analyzer.limits
        let webp: [UInt8]
        do {
            let bytes = try ImageDecoder.read(descriptor: fd, name: rec.path, limits: limits)
            let decoded = try bytes.withUnsafeBytes { raw in
                Result { () throws(ImageError) in try ImageDecoder.decode(raw, path: rec.path, limits: limits) }
            }.get()
            webp = try Thumbnail.webp(decoded, name: rec.path)
        } catch {
            throw ControlError(.notFound, "\(error)")
        }
        try cache.store(webp, for: hash)
        guard let opened = cache.open(hash) else {
            throw ControlError(.internalError, "\(cache.path(for: hash)): the thumbnail just written cannot be opened")
        }
        return opened
    }

    static func mediaType(format: String?) -> String {
        switch format.flatMap(ImageFormat.init(rawValue:)) {
        case .png?: return "image/png"
        case .jpeg?: return "image/jpeg"
        case .webp?: return "image/webp"
        case nil: return "application/octet-stream"
        }
    }

    /// A strong validator (token characters only; HTTP puts it in quotes):
    /// the content hash, so identical bytes share it and new bytes change
    /// it; a thumbnail's also names its size, so a change of the thumbnail
    /// recipe can change it.
    static func etag(_ rec: ImageRecord, kind: ImageFileKind) -> String {
        let base = rec.contentHash.map { "sha256-" + $0 } ?? "file-\(rec.size)-\(rec.mtimeNs)"
        return kind == .original ? base : base + "-webp\(Thumbnail.defaultLongSide)"
    }

    /// The `caption` object for an indexed image, from what the index holds:
    /// its metadata, stored caption and keywords, the cosine of its stored
    /// prediction with its known prompt's embedding, and with a learned
    /// model (when the stored predictions are that model's) the bank's 3
    /// prompts nearest the stored prediction, the caption's confidence and,
    /// when that is low, the zero-shot caption.
    func storedAnalysis(_ rec: ImageRecord) throws -> CaptionResult {
        var result = CaptionResult(path: rec.path, metadata: rec.metadata.map(CaptionResult.FileMetadata.init), caption: rec.caption,
                                   keywords: rec.keywords, knownPromptCosine: nil, error: nil, includesEmbedding: false, embedding: nil)
        let vectors = try service.store.embeddings(imageID: rec.id)
        let predicted = vectors[EmbeddingKind.predicted]
        if let p = predicted, let k = vectors[EmbeddingKind.knownPrompt], p.count == k.count {
            result.knownPromptCosine = Double(zip(p, k).reduce(0) { $0 + $1.0 * $1.1 })
        }
        guard let l = service.learner else { return result }
        result.prediction = .zeroShot
        guard let model = l.adoptedModel, let predicted, try service.store.trainingState(.predictedWithModel) == LearningService.stamp(model) else {
            return result
        }
        result.prediction = .learned
        let candidates = l.bank.nearest(predicted, k: 3).first ?? []
        result.candidates = candidates.map(CaptionResult.Candidate.init)
        result.confidence = Self.captionConfidence(candidates.first, report: model.report, origin: rec.predictionOrigin)
        // As `caption` does: the zero-shot description beside a caption of
        // low confidence, recomputed from the stored features (the index
        // keeps only the learned caption).
        if Self.alsoShowsZeroShot(confidence: result.confidence, constantCosine: Double(model.report.constantCosine)) {
            var features: [String: [Float]] = [:]
            for case let (.features(name), x) in vectors { features[name] = x }
            if let z = service.analyzer.zeroShotPredictions(features: features, rows: 1)?.first?.caption, z != result.caption {
                result.zeroShotCaption = z
            }
        }
        result.indexedScore = CaptionResult.IndexedScore(rec)
        return result
    }
}
