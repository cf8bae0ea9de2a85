import Foundation
import GRDB
import XCTest
@testable import Metadata
@testable import Store

/// Issue #13 item 1, the store's half: phase 1's record queues its analysis
/// by image id; the item follows the image (moves keep ids, deletes
/// cascade, new content replaces it); phase 2's result holds only for the
/// content it names; an analysis that stops the daemon three times is given
/// up on; an index from before the phases counts as analysed.
final class TwoPhaseStoreTests: XCTestCase {
    let dir = TemporaryDirectory()

    /// Phase 1's record: metadata and the known prompt's embedding.
    func phaseOne(_ path: String, hash: String, prompt: String = "a red fox") -> IndexedFile {
        var f = IndexedFile(path: path, contentHash: hash, size: 10, mtimeNs: 1,
                            metadata: GenerationMetadata(prompt: prompt, source: "automatic1111", raw: prompt),
                            embeddings: [.knownPrompt: [1, 0, 0], .searchPrompt: [0, 1, 0]])
        f.analysed = false
        return f
    }

    /// Phase 2's result (no known prompt: the store keeps phase 1's).
    func analysed(_ path: String, prompt: String = "a red fox") -> IndexedFile {
        IndexedFile(path: path, contentHash: nil, size: 0, mtimeNs: 0, width: 4, height: 3,
                    metadata: GenerationMetadata(prompt: prompt, source: "automatic1111", raw: prompt), caption: "a fox",
                    embeddings: [.predicted: [0, 0, 1], .features("enc"): [1, 2, 3]])
    }

    func testPhaseOneQueuesTheAnalysisAndPhaseTwoCompletesItKeepingTheKnownPrompt() throws {
        let s = try IndexStore(path: dir.path("index.sqlite"))
        try s.enqueue(["/lib/a.png"], reason: "new")
        XCTAssertEqual(try s.claimAnalyses(limit: 8), [], "nothing to analyse yet")
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        let id = try XCTUnwrap({ if case .stored(let id, _) = try s.store(phaseOne("/lib/a.png", hash: "h1"), completing: job) { return id }; return nil }())
        XCTAssertEqual(s.phaseCounts(), PhaseCounts(searchable: 1, analysed: 0, analysisQueued: 1))
        XCTAssertEqual(try s.image(path: "/lib/a.png")?.analysed, false)
        XCTAssertNil(try s.indexedImage(contentHash: "h1"), "a copy does not reuse an image not yet analysed")

        // Phase 1 first: no analysis is taken while a job waits.
        try s.enqueue(["/lib/b.png"], reason: "new")
        XCTAssertEqual(try s.claimAnalyses(limit: 8), [])
        for j in try s.claimJobs(limit: 8) { try s.finish(j) }

        let items = try s.claimAnalyses(limit: 8)
        XCTAssertEqual(items.map(\.imageID), [id])
        XCTAssertEqual(items.first?.prompt, "a red fox")
        XCTAssertEqual(try s.store(analyses: [(analysed("/lib/a.png"), items[0])]), [.stored(id: id, path: "/lib/a.png")])
        XCTAssertEqual(s.phaseCounts(), PhaseCounts(searchable: 1, analysed: 1, analysisQueued: 0))
        let rec = try XCTUnwrap(try s.image(path: "/lib/a.png"))
        XCTAssertTrue(rec.analysed)
        XCTAssertEqual(rec.contentHash, "h1"); XCTAssertEqual(rec.size, 10); XCTAssertEqual(rec.mtimeNs, 1, "phase 1's file state stays")
        XCTAssertEqual(Set(try s.embeddings(imageID: id).keys), [.knownPrompt, .searchPrompt, .predicted, .features("enc")])
        XCTAssertEqual(try s.embeddings(imageID: id)[.knownPrompt], [1, 0, 0])
        XCTAssertNotNil(try s.indexedImage(contentHash: "h1"))
    }

    func testTheItemFollowsAMoveGoesWithADeleteAndIsReplacedByNewContent() throws {
        let s = try IndexStore(path: dir.path("index.sqlite"))
        try s.store(phaseOne("/lib/sub/a.png", hash: "h1"))
        try s.store(phaseOne("/lib/b.png", hash: "h2"))
        try s.move(from: "/lib/sub", to: "/lib/moved")
        var items = try s.claimAnalyses(limit: 8)
        XCTAssertEqual(Set(items.map(\.path)), ["/lib/moved/a.png", "/lib/b.png"], "the item reads the image's path now")
        let a = try XCTUnwrap(items.first { $0.path == "/lib/moved/a.png" })
        let b = try XCTUnwrap(items.first { $0.path == "/lib/b.png" })
        // While they are analysed: a moves again, b is deleted.
        try s.move(from: "/lib/moved/a.png", to: "/lib/a2.png")
        try s.remove(path: "/lib/b.png")
        XCTAssertEqual(try s.store(analyses: [(analysed(a.path), a), (analysed(b.path), b)]).map { "\($0)" },
                       ["\(IndexStore.Commit.stored(id: a.imageID, path: "/lib/a2.png"))", "\(IndexStore.Commit.dropped)"])
        XCTAssertEqual(try s.fileStates().keys.map(\.path), ["/lib/a2.png"], "no phantom of the deleted file")
        XCTAssertEqual(s.phaseCounts(), PhaseCounts(searchable: 1, analysed: 1, analysisQueued: 0))

        // Rewritten while analysed: phase 1 stores the new content (same id, a
        // fresh item); the old content's result is dropped, the new one analysed.
        try s.store(phaseOne("/lib/c.png", hash: "old", prompt: "old prompt"))
        items = try s.claimAnalyses(limit: 8)
        try s.store(phaseOne("/lib/c.png", hash: "new", prompt: "new prompt"))
        XCTAssertEqual(try s.store(analyses: [(analysed("/lib/c.png", prompt: "old prompt"), items[0])]), [.dropped])
        let fresh = try s.claimAnalyses(limit: 8)
        XCTAssertEqual(fresh.map(\.contentHash), ["new"])
        XCTAssertEqual(fresh.map(\.imageID), items.map(\.imageID), "the same image")
        XCTAssertEqual(try s.store(analyses: [(analysed("/lib/c.png", prompt: "new prompt"), fresh[0])]),
                       [.stored(id: fresh[0].imageID, path: "/lib/c.png")])
        XCTAssertEqual(try s.image(path: "/lib/c.png")?.prompt, "new prompt")
        XCTAssertEqual(s.phaseCounts(), PhaseCounts(searchable: 2, analysed: 2, analysisQueued: 0))
    }

    func testAStaleItemQueuesPhaseOneAgainAndAMissingFileWaits() throws {
        let s = try IndexStore(path: dir.path("index.sqlite"))
        try s.store(phaseOne("/lib/a.png", hash: "h1"))
        try s.store(phaseOne("/lib/b.png", hash: "h2"))
        let items = try s.claimAnalyses(limit: 8)
        try s.analysisIsStale(try XCTUnwrap(items.first { $0.path == "/lib/a.png" }))
        XCTAssertEqual(try s.queuedCount(), 1, "a.png is read again by phase 1")
        XCTAssertEqual(try s.claimJobs(limit: 8).map(\.isReindex), [true])
        try s.release(items.filter { $0.path == "/lib/b.png" }, after: 60)
        XCTAssertEqual(try s.claimAnalyses(limit: 8), [], "a missing file's item waits")
        XCTAssertEqual(s.phaseCounts().analysisQueued, 1)
    }

    func testAnAnalysisThatStopsTheDaemonThreeTimesIsGivenUpOn() throws {
        let path = dir.path("index.sqlite")
        var s = try IndexStore(path: path)
        try s.store(phaseOne("/lib/a.png", hash: "h1"))
        try s.store(phaseOne("/lib/b.png", hash: "h2"))
        XCTAssertEqual(try s.claimAnalyses(limit: 8).count, 2)
        for _ in 1..<IndexStore.maxAttempts {
            s = try IndexStore(path: path)   // the daemon died with the batch started
            XCTAssertEqual(try s.recoverInterruptedAnalyses(), [])
            // Retried one at a time: b.png, innocent, does not pay for a.png.
            XCTAssertEqual(try s.claimAnalyses(limit: 8).map(\.path), ["/lib/a.png"])
        }
        s = try IndexStore(path: path)
        XCTAssertEqual(try s.recoverInterruptedAnalyses(), ["/lib/a.png"])
        let rec = try XCTUnwrap(try s.image(path: "/lib/a.png"))
        XCTAssertEqual(rec.status, .failed)
        XCTAssert(rec.error?.contains("analysing it stopped the daemon 3 times") == true, rec.error ?? "")
        let b = try s.claimAnalyses(limit: 8)
        XCTAssertEqual(b.map(\.path), ["/lib/b.png"])
        XCTAssertEqual(s.phaseCounts(), PhaseCounts(searchable: 1, analysed: 0, analysisQueued: 1))
    }

    /// An index made before the phases: its images were analysed in one pass.
    func testAnIndexFromBeforeThePhasesCountsItsImagesAnalysed() throws {
        let path = dir.path("index.sqlite")
        let q = try DatabaseQueue(path: path)
        try IndexStore.migrator.migrate(q, upTo: "v7: the gallery: indexed images by mtime, contents whose last indexed image went (their thumbnails go)")
        try q.write { db in
            try db.execute(sql: """
                INSERT INTO image (path, contentHash, size, mtimeNs, status, prompt, indexedAt) VALUES
                    ('/lib/a.png', 'h1', 1, 1, 'indexed', 'a fox', 0), ('/lib/b.png', 'h2', 1, 1, 'indexed', NULL, 0),
                    ('/lib/c.png', NULL, 1, 1, 'failed', NULL, 0)
                """)
        }
        try q.close()
        let s = try IndexStore(path: path)
        XCTAssertEqual(s.phaseCounts(), PhaseCounts(searchable: 2, analysed: 2, analysisQueued: 0))
        XCTAssertEqual(try s.image(path: "/lib/b.png")?.analysed, true)
    }
}
