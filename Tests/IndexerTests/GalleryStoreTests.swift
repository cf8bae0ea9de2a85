import Foundation
import GRDB
import XCTest
@testable import Daemon
@testable import Imaging
@testable import Metadata
@testable import RevsdSystem
@testable import Store
import SyntheticImages

/// The gallery's side of the index: pages newest first, one card per
/// content, filters, neighbours, contents whose last image went; the
/// thumbnail cache's bound; thumbnails; the web token.
final class GalleryStoreTests: XCTestCase {
    let dir = TemporaryDirectory()

    func store() throws -> IndexStore { try IndexStore(path: dir.path("index.sqlite")) }

    func file(_ path: String, hash: String, mtime: Int64, prompt: String? = nil, model: String? = nil, sampler: String? = nil,
              error: String? = nil) -> IndexedFile {
        var m = prompt.map { GenerationMetadata(prompt: $0, source: "automatic1111", raw: $0) }
        m?.model = model
        m?.sampler = sampler
        return IndexedFile(path: path, contentHash: hash, size: 10, mtimeNs: mtime * 1_000_000_000, width: 4, height: 3, format: "png",
                           metadata: m, caption: "a picture", keywords: [], embeddings: [EmbeddingKind.predicted: [1, 0, 0]], error: error)
    }

    func paths(_ s: IndexStore, _ f: ImageFilter = ImageFilter(), limit: Int = 100, offset: Int = 0) throws -> [String] {
        try s.galleryPage(f, limit: limit, offset: offset).images.map(\.path)
    }

    func testPagesAreNewestFirstOneCardPerContentWithinFilters() throws {
        let s = try store()
        try s.store(file("/w/a.png", hash: "A", mtime: 10, prompt: "a cat", model: "sd_xl_base_1.0", sampler: "Euler a"))
        try s.store(file("/w/b.png", hash: "B", mtime: 30, prompt: "a dog", model: "dreamshaper_8", sampler: "DPM++ 2M Karras"))
        try s.store(file("/w/c.png", hash: "C", mtime: 20))
        try s.store(file("/w/sub/b-copy.png", hash: "B", mtime: 5, prompt: "a dog", model: "dreamshaper_8", sampler: "DPM++ 2M Karras"))
        try s.store(file("/w/d.png", hash: "D", mtime: 20))   // same mtime as c: id breaks the tie
        try s.store(file("/w/bad.png", hash: "E", mtime: 40, error: "broken"))

        XCTAssertEqual(try paths(s), ["/w/b.png", "/w/d.png", "/w/c.png", "/w/a.png"], "newest first, copies once, failed files never")
        XCTAssertEqual(try s.galleryPage(ImageFilter(), limit: 2, offset: 0).total, 4)
        XCTAssertEqual(try paths(s, limit: 2, offset: 1), ["/w/d.png", "/w/c.png"])
        XCTAssertEqual(try paths(s, limit: 2, offset: 4), [])
        // The card of a content is its newest copy among those the filters keep.
        XCTAssertEqual(try paths(s, ImageFilter(folder: "/w/sub")), ["/w/sub/b-copy.png"])
        XCTAssertEqual(try paths(s, ImageFilter(until: 6)), ["/w/sub/b-copy.png"])
        XCTAssertEqual(try paths(s, ImageFilter(since: 20)), ["/w/b.png", "/w/d.png", "/w/c.png"])
        XCTAssertEqual(try paths(s, ImageFilter(hasPrompt: true)), ["/w/b.png", "/w/a.png"])
        XCTAssertEqual(try paths(s, ImageFilter(hasPrompt: false)), ["/w/d.png", "/w/c.png"])
        XCTAssertEqual(try paths(s, ImageFilter(model: "sd_xl")), ["/w/a.png"], "a checkpoint name prefix")
        XCTAssertEqual(try paths(s, ImageFilter(model: "xl")), [])
        XCTAssertEqual(try paths(s, ImageFilter(sampler: "euler A")), ["/w/a.png"], "sampler: exact, any case")
        XCTAssertEqual(try paths(s, ImageFilter(sampler: "Euler")), [])
        XCTAssertEqual(try s.galleryPage(ImageFilter(sampler: "dpm++ 2m karras"), limit: 10, offset: 0).total, 1)

        // Neighbours in the unfiltered order.
        let all = try s.galleryPage(ImageFilter(), limit: 10, offset: 0).images
        let ids = all.map(\.id)
        XCTAssertEqual(try s.galleryNeighbours(of: all[0]).newer, nil)
        XCTAssertEqual(try s.galleryNeighbours(of: all[0]).older, ids[1])
        XCTAssertEqual(try s.galleryNeighbours(of: all[1]).newer, ids[0])
        XCTAssertEqual(try s.galleryNeighbours(of: all[1]).older, ids[2])
        XCTAssertEqual(try s.galleryNeighbours(of: all[3]).older, nil)
        let copy = try XCTUnwrap(try s.image(path: "/w/sub/b-copy.png"))
        XCTAssertEqual(try s.galleryNeighbours(of: copy).newer, ids[3], "a copy's neighbours are the cards around its mtime")
        XCTAssertEqual(try s.galleryNeighbours(of: copy).older, nil)
    }

    /// The page, the count and the neighbours walk the (mtimeNs, id) index:
    /// no temporary B-tree sorts the library.
    func testGalleryQueriesUseTheMtimeIndex() throws {
        let s = try store()
        try s.store(file("/w/a.png", hash: "A", mtime: 10))
        let w = IndexStore.galleryWhere(ImageFilter())
        let plans = try s.read { db in
            try [
                "SELECT * FROM image WHERE \(w.sql) ORDER BY mtimeNs DESC, id DESC LIMIT 60 OFFSET 0",
                "SELECT id FROM image WHERE \(w.sql) AND (mtimeNs, id) > (5, 1) ORDER BY mtimeNs, id LIMIT 1",
                "SELECT id FROM image WHERE \(w.sql) AND (mtimeNs, id) < (5, 1) ORDER BY mtimeNs DESC, id DESC LIMIT 1",
            ].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: w.arguments).map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        for plan in plans {
            XCTAssertTrue(plan.contains("image_by_mtime"), plan)
            XCTAssertFalse(plan.contains("TEMP B-TREE"), plan)
        }
        XCTAssertTrue(plans[1].contains("(mtimeNs,id)>") || plans[1].contains("mtimeNs>") || plans[1].contains("(mtimeNs>"), plans[1])
    }

    /// `status` and `failed` list failures along their partial index, not by
    /// reading every image and sorting.
    func testFailedFilesAreListedAlongTheirIndex() throws {
        let s = try store()
        let plan = try s.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + IndexStore.failedImagesSQL, arguments: [20, 0]).map { $0["detail"] as String }
                .joined(separator: "; ")
        }
        XCTAssertTrue(plan.contains("image_failed_by_time"), plan)
        XCTAssertFalse(plan.contains("TEMP B-TREE"), plan)
    }

    func testContentsWhoseLastIndexedImageWentAreReportedOnce() throws {
        let s = try store()
        try s.store(file("/w/a.png", hash: "A", mtime: 1))
        try s.store(file("/w/a-copy.png", hash: "A", mtime: 2))
        try s.store(file("/w/b.png", hash: "B", mtime: 3))
        try s.store(file("/w/c.png", hash: "C", mtime: 4))
        XCTAssertEqual(try s.takeGoneContents(), [])
        try s.remove(path: "/w/a.png")
        XCTAssertEqual(try s.takeGoneContents(), [], "a copy still holds A")
        try s.remove(path: "/w/a-copy.png")
        try s.store(file("/w/b.png", hash: "B2", mtime: 5))          // rewritten: new content
        try s.store(file("/w/b.png", hash: "B3", mtime: 6))          // and again before anyone took B2's
        try s.store(file("/w/c.png", hash: "C", mtime: 6, error: "now broken"))
        try s.store(file("/w/b.png", hash: "B2", mtime: 7))          // B2 is back: a rewrite that records B3 gone
        try s.store(file("/w/b.png", hash: "B3", mtime: 8))          // B2 recorded twice: still one row
        XCTAssertEqual(Set(try s.takeGoneContents()), ["A", "B", "B2", "C"])
        XCTAssertEqual(try s.takeGoneContents(), [], "taken once")
        try s.move(from: "/w/b.png", to: "/w/moved.png")
        XCTAssertEqual(try s.takeGoneContents(), [], "a move keeps the content")
        XCTAssertEqual(try s.indexedContents(among: ["A", "B2", "B3", "C", "Z"]), ["B3"])
    }

    // MARK: The thumbnail cache

    func entry(_ hash: Character, size: Int64, at t: Int64) -> ThumbnailCache.Entry {
        ThumbnailCache.Entry(hash: String(repeating: hash, count: 64), size: size, modifiedNs: t)
    }

    func testEvictionRemovesTheLeastRecentlyUsedDownToTheLowWaterMark() {
        // Each file counts as whole 4 KiB blocks: 5000 bytes are 8 KiB.
        XCTAssertEqual(ThumbnailCache.charged(1), 4096)
        XCTAssertEqual(ThumbnailCache.charged(4096), 4096)
        let k = Int64(4096)
        let entries = [entry("a", size: 5000, at: 3), entry("b", size: 5000, at: 1), entry("c", size: 5000, at: 2), entry("d", size: 5000, at: 4)]
        XCTAssertEqual(ThumbnailCache.evictionOrder(entries, limit: 8 * k, lowWater: 7 * k), [], "within the bound: nothing goes")
        XCTAssertEqual(ThumbnailCache.evictionOrder(entries, limit: 7 * k, lowWater: 6 * k).map { $0.hash.first }, ["b"])
        XCTAssertEqual(ThumbnailCache.evictionOrder(entries, limit: 5 * k, lowWater: 4 * k).map { $0.hash.first }, ["b", "c"], "oldest first")
        XCTAssertEqual(ThumbnailCache.evictionOrder(entries, limit: 5 * k, lowWater: 0).count, 4)
    }

    func testCacheStoresServesTouchesAndEvicts() throws {
        // 100-byte files count 4 KiB each: two fit, a third is over.
        let cache = ThumbnailCache(directory: dir.path("thumbnails"), limitBytes: 10_000)
        let hashes = ["a", "b", "c"].map { String(repeating: $0, count: 64) }
        for (i, h) in hashes.enumerated() {
            try cache.store(Self.webpContainer(count: 100, fill: UInt8(i)), for: h)
            try Syscalls.setModificationTime(cache.path(for: h), seconds: 1_000 + i)
        }
        // Storing the third passed the bound: the oldest went at once.
        XCTAssertEqual(Set(cache.entries().map(\.hash)), Set(hashes.suffix(2)))
        XCTAssertNil(cache.open(hashes[0]))
        XCTAssertTrue(cache.path(for: hashes[1]).hasSuffix("/bb/" + hashes[1] + ".webp"))
        // Serving b makes it the most recent: d's arrival evicts c.
        let served = try XCTUnwrap(cache.open(hashes[1]))
        XCTAssertEqual(served.size, 100)
        Syscalls.close(served.fd)
        let d = String(repeating: "d", count: 64)
        try cache.store(Self.webpContainer(count: 100, fill: 9), for: d)
        XCTAssertEqual(Set(cache.entries().map(\.hash)), [hashes[1], d])
        cache.remove(d)
        XCTAssertEqual(cache.entries().map(\.hash), [hashes[1]])
        XCTAssertEqual(try cache.removeOrphans { _ in [] }, 1)
        XCTAssertEqual(cache.entries(), [])
    }

    /// `count` bytes with a RIFF/WEBP header that states their length.
    static func webpContainer(count: Int, fill: UInt8) -> [UInt8] {
        let length = UInt32(count - 8)
        return Array("RIFF".utf8) + (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + Array("WEBP".utf8)
            + [UInt8](repeating: fill, count: count - 12)
    }

    /// Thumbnails are written without fsync: what a crash can leave (an
    /// empty file, one cut short, or other bytes) is never served, and goes,
    /// so it is made again.
    func testATornThumbnailIsNotServedAndIsRemoved() throws {
        let cache = ThumbnailCache(directory: dir.path("thumbnails"), limitBytes: 1 << 20)
        let whole = Self.webpContainer(count: 300, fill: 7)
        for (name, bytes) in [("empty", []), ("cut short", Array(whole.prefix(200))), ("too short for a header", Array(whole.prefix(10))),
                              ("not WebP", [UInt8](repeating: 1, count: 300))] {
            let h = String(repeating: "e", count: 64)
            try cache.store(whole, for: h)
            let served = try XCTUnwrap(cache.open(h), "a whole file is served")
            XCTAssertEqual(served.size, 300)
            Syscalls.close(served.fd)
            try Data(bytes).write(to: URL(fileURLWithPath: cache.path(for: h)))
            XCTAssertNil(cache.open(h), name)
            XCTAssertFalse(FileManager.default.fileExists(atPath: cache.path(for: h)), "\(name): removed, to be made again")
        }
        XCTAssertFalse(ThumbnailCache.isWholeWebP(header: Array(whole.prefix(12)), fileSize: 301), "a length that is not the file's")
        XCTAssertTrue(ThumbnailCache.isWholeWebP(header: Array(whole.prefix(12)), fileSize: 300))
    }

    func testThumbnailCacheBoundIsConfigured() throws {
        var c = DaemonConfig.defaults(environment: ["HOME": "/home/u"], isRoot: false)
        XCTAssertEqual(c.thumbnailCacheMiB, 1024)
        try c.apply(file: dir.write("web.toml", "[web]\nthumbnail_cache_mib = 64"), required: true)
        XCTAssertEqual(c.thumbnailCacheMiB, 64)
        for bad in ["0", "\"1G\"", "-5"] {
            XCTAssertThrowsError(try c.apply(file: dir.write("bad.toml", "[web]\nthumbnail_cache_mib = " + bad), required: true)) { e in
                XCTAssertTrue("\(e)".hasSuffix(":2: 'thumbnail_cache_mib' must be an integer from 1 to 1048576 (MiB)"), "\(e)")
            }
        }
    }

    // MARK: Thumbnails

    func testThumbnailSizeKeepsTheAspectAndNeverEnlarges() {
        XCTAssertEqual(Thumbnail.size(width: 1024, height: 768).width, 320)
        XCTAssertEqual(Thumbnail.size(width: 1024, height: 768).height, 240)
        XCTAssertEqual(Thumbnail.size(width: 512, height: 1536).width, 107)
        XCTAssertEqual(Thumbnail.size(width: 512, height: 1536).height, 320)
        XCTAssertEqual(Thumbnail.size(width: 200, height: 100).width, 200)
        XCTAssertEqual(Thumbnail.size(width: 5000, height: 3).height, 1)
    }

    func testThumbnailIsAWebPThatDecodesWithAlphaKept() throws {
        // 400 × 200, left half opaque red, right half transparent.
        var px = [UInt8](repeating: 0, count: 400 * 200 * 4)
        for y in 0..<200 { for x in 0..<200 { let i = (y * 400 + x) * 4; px[i] = 255; px[i + 3] = 255 } }
        let img = DecodedImage(image: RGBAImage(width: 400, height: 200, pixels: px), format: .png, storedWidth: 400, storedHeight: 200,
                               orientation: 1, hasAlpha: true, animated: false)
        let webp = try Thumbnail.webp(img, name: "t.png")
        XCTAssertEqual(Array(webp.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(webp[8..<12]), Array("WEBP".utf8))
        XCTAssertTrue(ThumbnailCache.isWholeWebP(header: Array(webp.prefix(12)), fileSize: Int64(webp.count)), "what the cache serves")
        let back = try webp.withUnsafeBytes { raw in Result { () throws(ImageError) in try ImageDecoder.decode(raw, path: "t.webp") } }.get()
        XCTAssertEqual(back.image.width, 320)
        XCTAssertEqual(back.image.height, 160)
        XCTAssertTrue(back.hasAlpha)
        let left = (80 * 320 + 40) * 4, right = (80 * 320 + 280) * 4
        XCTAssertGreaterThan(back.image.pixels[left], 200)
        XCTAssertEqual(back.image.pixels[left + 3], 255)
        XCTAssertLessThan(back.image.pixels[right + 3], 10, "transparent stays transparent")
    }

    /// RGBA resampling is the RGB resampler with a fourth channel: the
    /// colours are those of the RGB path exactly.
    func testRGBAResampleMatchesTheRGBPath() {
        var g = SplitMix64(seed: 7)
        let img = RGBAImage(width: 37, height: 23, pixels: (0..<(37 * 23 * 4)).map { _ in UInt8(truncatingIfNeeded: g.next()) })
        let rgb = PILResample.bicubic(img, width: 11, height: 9)
        let rgba = PILResample.bicubicRGBA(img, width: 11, height: 9)
        XCTAssertEqual(rgb, (0..<(11 * 9)).flatMap { rgba[($0 * 4)..<($0 * 4 + 3)] })
    }

    // MARK: The web token

    func testWebTokenIsMadeOnceGroupReadable() throws {
        let state = dir.path("state")
        try Syscalls.makeDirectories(state)
        XCTAssertThrowsError(try WebToken.read(stateDirectory: state))
        let token = try WebToken.ensure(stateDirectory: state)
        XCTAssertEqual(token.count, 64)
        XCTAssertTrue(WebToken.isWellFormed(token))
        XCTAssertEqual(try WebToken.read(stateDirectory: state), token)
        XCTAssertEqual(try WebToken.ensure(stateDirectory: state), token, "never rewritten")
        let attrs = try FileManager.default.attributesOfItem(atPath: WebToken.path(stateDirectory: state))
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o640)
        XCTAssertNotEqual(WebToken.generate(), WebToken.generate())
        try "not a token\n".write(toFile: WebToken.path(stateDirectory: state), atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try WebToken.ensure(stateDirectory: state), "a malformed token is an error, not replaced")
    }
}
