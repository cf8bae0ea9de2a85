import Foundation
import XCTest
@testable import Daemon
@testable import Metadata
@testable import Search
@testable import Store
import GRDB

/// The search matrix is derived from the index and always equal to it (ids,
/// kinds, vectors), whatever sequence of writes happened; and the counts
/// kept in memory equal a recount. Every write path of the store, at random.
final class SearchStoreInvariantTests: XCTestCase {
    let dir = TemporaryDirectory()

    /// Its prediction zero-shot when `v` is negative (either origin, at random, as `v` is).
    func file(_ path: String, hash: String, prompt: String?, v: Float, error: String? = nil) -> IndexedFile {
        var e: [EmbeddingKind: [Float]] = [.predicted: [v, 1, 0], .features("enc"): [v, v, v]]
        if prompt != nil { e[.knownPrompt] = [0, v, 1] }
        var f = IndexedFile(path: path, contentHash: hash, size: 10, mtimeNs: 1, metadata: prompt.map { GenerationMetadata(prompt: $0, source: "automatic1111", raw: $0) },
                            caption: "c", embeddings: error == nil ? e : [:], error: error)
        f.predictionOrigin = v < 0 ? .zeroShot : .learned
        return f
    }

    func recount(_ s: IndexStore) throws -> (IndexCounts, Int) {
        try s.read { db in
            (IndexCounts(indexed: try Int.fetchOne(db, sql: "SELECT count(*) FROM image WHERE status = 'indexed'")!,
                         failed: try Int.fetchOne(db, sql: "SELECT count(*) FROM image WHERE status = 'failed'")!,
                         queued: try Int.fetchOne(db, sql: "SELECT count(*) FROM job")!,
                         withPrompt: try Int.fetchOne(db, sql: "SELECT count(*) FROM image WHERE prompt IS NOT NULL")!),
             try Int.fetchOne(db, sql: "SELECT count(DISTINCT contentHash) FROM image WHERE status = 'indexed' AND prompt IS NOT NULL")!)
        }
    }

    func recountPhases(_ s: IndexStore) throws -> PhaseCounts {
        try s.read { db in
            PhaseCounts(searchable: try Int.fetchOne(db, sql: "SELECT count(*) FROM image WHERE status = 'indexed' AND (analysed = 1 OR prompt IS NOT NULL)")!,
                        analysed: try Int.fetchOne(db, sql: "SELECT count(*) FROM image WHERE status = 'indexed' AND analysed = 1")!,
                        analysisQueued: try Int.fetchOne(db, sql: "SELECT count(*) FROM analysis_queue")!)
        }
    }

    func testTheMatrixEqualsTheIndexAfterEveryWrite() throws {
        try checkEveryWrite(approximateAbove: 50_000)
    }

    /// The same with an index held as codes from 4 rows on: every change
    /// of the feed and every load at a restart codes its rows.
    func testTheApproximateMatrixEqualsTheIndexAfterEveryWrite() throws {
        try checkEveryWrite(approximateAbove: 4)
    }

    func checkEveryWrite(approximateAbove: Int) throws {
        let path = dir.path("index.sqlite")
        var store = try IndexStore(path: path)
        var search = SearchIndex(dimension: 3, approximateAbove: approximateAbove)
        func open() throws {
            store = try IndexStore(path: path)
            search = SearchIndex(dimension: 3, approximateAbove: approximateAbove)
            let s = search
            store.observeSearchRows { IndexingService.apply($0, to: s) }
            try IndexingService.load(s, from: store)   // as the daemon's start does
        }
        try open()
        var rng = SystemRandomNumberGenerator()
        let names = (0..<12).map { "/lib/\($0 % 3 == 0 ? "sub/" : "")f\($0).png" }
        for step in 0..<400 {
            let p = names.randomElement(using: &rng)!, q = names.randomElement(using: &rng)!
            let hash = "h\(Int.random(in: 0..<5, using: &rng))", v = Float.random(in: -1...1, using: &rng)
            let prompt: String? = Bool.random(using: &rng) ? "a prompt \(hash)" : nil
            let what: String
            switch Int.random(in: 0..<13, using: &rng) {
            case 0: what = "store"; try store.store(file(p, hash: hash, prompt: prompt, v: v))
            case 1:
                what = "batch"
                try store.enqueue([p, q], reason: "new")
                let jobs = try store.claimJobs(limit: 2)
                try store.store(batch: jobs.map { (file($0.path, hash: hash, prompt: prompt, v: v), $0) })
            case 2: what = "failed"; try store.store(file(p, hash: hash, prompt: prompt, v: v, error: "broken"))
            case 3: what = "move"; try store.move(from: p, to: q)
            case 4: what = "move folder"; try store.move(from: "/lib/sub", to: "/lib/sub2"); try store.move(from: "/lib/sub2", to: "/lib/sub")
            case 5: what = "remove"; try store.remove(path: p)
            case 6: what = "remove folder"; try store.remove(path: "/lib/sub")
            case 7:
                what = "predictions"
                let ids = try store.imageIDs(under: "/lib") + [999_999]
                try store.updatePredictions(ids.map { IndexStore.Prediction(id: $0, embedding: [0, 0, v], caption: "p", keywords: [],
                                                                              origin: Bool.random(using: &rng) ? .zeroShot : .learned) })
            case 8: what = "outside roots"; try store.removeRecords(outside: ["/lib/sub"]); try store.removeRecords(outside: ["/lib"])
            case 9: what = "reindex"; try store.enqueueReindex(under: Bool.random(using: &rng) ? "/lib/sub" : nil, files: [p])
                for j in try store.claimJobs(limit: 100) { try store.finish(j) }
            case 10: what = "restart"; try open()
            case 11:
                what = "phase 1"
                try store.enqueue([p], reason: "new")
                try store.store(batch: try store.claimJobs(limit: 1).map { job in
                    var f = file(job.path, hash: hash, prompt: prompt, v: v)
                    f.embeddings = f.embeddings.filter { $0.key == .knownPrompt }
                    f.analysed = false
                    return (f, job)
                })
            default:
                what = "phase 2"
                let items = try store.claimAnalyses(limit: 3)
                try store.store(analyses: items.map { (file($0.path, hash: $0.contentHash, prompt: prompt, v: v), $0) })
            }
            let diff = try IndexingService.differences(between: search, and: store)
            XCTAssertEqual(diff, [], "step \(step) (\(what))")
            let (counts, labelled) = try recount(store)
            XCTAssertEqual(store.counts(), counts, "counts after step \(step) (\(what))")
            XCTAssertEqual(store.labelledContents(), labelled, "labelled contents after step \(step) (\(what))")
            XCTAssertEqual(store.phaseCounts(), try recountPhases(store), "phase counts after step \(step) (\(what))")
            XCTAssertEqual(try store.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM image WHERE status = 'indexed' AND analysed = 0 AND id NOT IN (SELECT imageId FROM analysis_queue)")
            }, 0, "every image not analysed has its analysis queued, after step \(step) (\(what))")
            if !diff.isEmpty { return }
        }
    }

    /// The trainer's grouping and tiny-image rule need each labelled image's
    /// normalised prompt and size.
    func testLabelledRowsCarryTheNormalisedPromptAndTheSize() throws {
        let store = try IndexStore(path: dir.path("index.sqlite"))
        var tiny = file("/lib/t.png", hash: "t", prompt: "(A  Castle:1.2)", v: 1)
        tiny.width = 1; tiny.height = 1
        var big = file("/lib/b.png", hash: "b", prompt: "a castle", v: 0.5)
        big.width = 512; big.height = 768
        try store.store(tiny); try store.store(big)
        let rows = try store.labelledRows(encoders: ["enc"])
        XCTAssertEqual(rows.promptKeys, ["a castle", "a castle"])
        XCTAssertEqual(rows.widths, [1, 512]); XCTAssertEqual(rows.heights, [1, 768])
        XCTAssertEqual(rows.excludingTinyImages().excluded, 1)
    }

    /// What made a prediction travels with it: into the matrix as the row's
    /// kind, through a restart's bulk load, and through a reindex of
    /// unchanged content (phase 1 keeps the stored prediction, and its origin).
    func testAPredictionsOriginFollowsItIntoTheMatrix() throws {
        var store: IndexStore! = try IndexStore(path: dir.path("index.sqlite"))
        let search = SearchIndex(dimension: 3)
        store.observeSearchRows { IndexingService.apply($0, to: search) }
        var zeroShot = file("/lib/z.png", hash: "hz", prompt: nil, v: 0.5)
        zeroShot.predictionOrigin = .zeroShot
        try store.store(zeroShot)
        try store.store(file("/lib/l.png", hash: "hl", prompt: nil, v: 0.5))
        let z = try XCTUnwrap(store.image(path: "/lib/z.png")).id, l = try XCTUnwrap(store.image(path: "/lib/l.png")).id
        XCTAssertEqual(search.snapshot()[z].map { Array($0.keys) }, [.zeroShotPredicted])
        XCTAssertEqual(search.snapshot()[l].map { Array($0.keys) }, [.predicted])
        // Retrained: the learned model predicts z, and keeps zero-shot for l.
        try store.updatePredictions([IndexStore.Prediction(id: z, embedding: [0, 1, 0], caption: nil, keywords: [], origin: .learned),
                                     IndexStore.Prediction(id: l, embedding: [0, 0, 1], caption: nil, keywords: [], origin: .zeroShot)])
        XCTAssertEqual(search.snapshot()[z].map { Array($0.keys) }, [.predicted])
        XCTAssertEqual(search.snapshot()[l].map { Array($0.keys) }, [.zeroShotPredicted])
        // Phase 1 of a reindex, the content unchanged: the stored prediction and its origin stay.
        try store.enqueue(["/lib/l.png"], reason: "reindex")
        try store.store(batch: try store.claimJobs(limit: 1).map { job in
            var f = IndexedFile(path: job.path, contentHash: "hl", size: 10, mtimeNs: 1, embeddings: [.predicted: [0, 0, 1]])
            f.analysed = false
            return (f, job)
        })
        XCTAssertEqual(search.snapshot()[l].map { Array($0.keys) }, [.zeroShotPredicted])
        // A restart loads the matrix in bulk, a part per origin.
        store = nil
        store = try IndexStore(path: dir.path("index.sqlite"))
        let loaded = SearchIndex(dimension: 3)
        try IndexingService.load(loaded, from: store)
        XCTAssertEqual(loaded.snapshot()[z].map { Array($0.keys) }, [.predicted])
        XCTAssertEqual(loaded.snapshot()[l].map { Array($0.keys) }, [.zeroShotPredicted])
        XCTAssertEqual(try IndexingService.differences(between: loaded, and: store), [])
    }

    /// The case that broke (finding 1): a record dropped and stored again
    /// under a new id left its old id in the matrix.
    func testAReplacedRecordLeavesNoPhantomRow() throws {
        let store = try IndexStore(path: dir.path("index.sqlite"))
        let search = SearchIndex(dimension: 3)
        store.observeSearchRows { IndexingService.apply($0, to: search) }
        try store.store(file("/lib/a.png", hash: "h", prompt: "a castle", v: 1))
        try store.remove(path: "/lib/a.png")
        try store.store(file("/lib/a.png", hash: "h", prompt: "a castle", v: 1))
        XCTAssertEqual(search.count, 1)
        XCTAssertEqual(try IndexingService.differences(between: search, and: store), [])
    }

    /// DAKL's target domain: analysed images without a prompt, with every
    /// encoder's features, not tiny, in id order; their features by id.
    func testUnlabelledRowsAreTheAnalysedImagesWithoutAPrompt() throws {
        let store = try IndexStore(path: dir.path("index.sqlite"))
        try store.store(file("/lib/labelled.png", hash: "l", prompt: "a castle", v: 1))
        try store.store(file("/lib/u1.png", hash: "u1", prompt: nil, v: 0.25))
        var tiny = file("/lib/tiny.png", hash: "t", prompt: nil, v: 0.5)
        tiny.width = 8; tiny.height = 8
        try store.store(tiny)
        try store.store(file("/lib/failed.png", hash: "f", prompt: nil, v: 0.5, error: "cannot decode"))
        try store.store(file("/lib/u2.png", hash: "u2", prompt: nil, v: 0.75))
        let u1 = try XCTUnwrap(try store.image(path: "/lib/u1.png")).id, u2 = try XCTUnwrap(try store.image(path: "/lib/u2.png")).id
        XCTAssertEqual(try store.unlabelledIDs(encoders: ["enc"]), [u1, u2])
        XCTAssertEqual(try store.unlabelledIDs(encoders: ["enc"], excluding: ["u1"]), [u2])
        XCTAssertEqual(try store.unlabelledIDs(encoders: ["enc", "other"]), [], "features for every encoder")
        let rows = try store.featureRows(encoders: ["enc"], ids: [u2, u1, 999])
        XCTAssertEqual(rows.ids, [u2, u1], "in the order asked, gone ones left out")
        XCTAssertEqual(rows.features["enc"], [0.75, 0.75, 0.75, 0.25, 0.25, 0.25])
    }

    /// Identical content is one labelled example and keeps one alignment.
    func testCopiesCountOnceAndShareTheirAlignment() throws {
        let store = try IndexStore(path: dir.path("index.sqlite"))
        for i in 0..<5 { try store.store(file("/lib/c\(i).png", hash: "same", prompt: "a castle", v: 1)) }
        try store.store(file("/lib/other.png", hash: "other", prompt: "a dog", v: 0.5))
        XCTAssertEqual(store.labelledContents(), 2)
        XCTAssertEqual(try store.labelledRows(encoders: ["enc"]).count, 2, "training sees each content once")
        XCTAssertEqual(try store.labelledRows(encoders: ["enc"]).promptKeys, ["a castle", "a dog"], "normalised prompts for the grouping")
        let id = try XCTUnwrap(try store.image(path: "/lib/c0.png")).id
        try store.replaceAlignments([(id: id, alignment: 0.4, tier: .hard)])
        XCTAssertEqual(try store.image(path: "/lib/c3.png")?.alignment, 0.4)
        try store.store(file("/lib/c9.png", hash: "same", prompt: "a castle", v: 1))
        XCTAssertEqual(try store.image(path: "/lib/c9.png")?.tier, .hard, "a new copy takes its twin's score")
        // Re-storing unchanged content (a reindex) keeps the score; new content drops it.
        try store.store(file("/lib/c0.png", hash: "same", prompt: "a castle", v: 1))
        XCTAssertEqual(try store.image(path: "/lib/c0.png")?.alignment, 0.4)
        try store.store(file("/lib/c1.png", hash: "changed", prompt: "a castle", v: 1))
        XCTAssertNil(try store.image(path: "/lib/c1.png")?.alignment)
    }

    /// The prompt bank's read at start leaves the grouping keys out (their
    /// regular expressions dominated the start at scale): the same rows,
    /// no keys; with keys, seed variations of one prompt share one key,
    /// PromptText's.
    func testLabelledRowsWithoutPromptKeysAreTheSameRows() throws {
        let store = try IndexStore(path: dir.path("index.sqlite"))
        for i in 0..<3 { try store.store(file("/lib/v\(i).png", hash: "v\(i)", prompt: "(A  castle:1.2), at dusk", v: 1)) }
        try store.store(file("/lib/d.png", hash: "d", prompt: "a dog", v: 0.5))
        let keyed = try store.labelledRows(encoders: [])
        let bare = try store.labelledRows(encoders: [], promptKeys: false)
        XCTAssertEqual(bare.ids, keyed.ids)
        XCTAssertEqual(bare.prompts, keyed.prompts)
        XCTAssertEqual(bare.targets, keyed.targets)
        XCTAssertEqual(bare.contentHashes, keyed.contentHashes)
        XCTAssertEqual(bare.promptKeys, [])
        XCTAssertEqual(keyed.promptKeys, keyed.prompts.map(PromptText.groupKey))
        XCTAssertEqual(Set(keyed.promptKeys.prefix(3)).count, 1, "seed variations share their key")
    }
}
