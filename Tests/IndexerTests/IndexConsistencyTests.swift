import Foundation
import SyntheticImages
@testable import Daemon
import XCTest
@testable import RevsdSystem

/// Issue #11: nothing a user, a client or a file does makes search and the
/// index disagree. The real revsdd on drawn, labelled images (SyntheticImages),
/// through its socket. Needs the installed models.
final class IndexConsistencyTests: XCTestCase {
    func searchPaths(_ h: DaemonHarness, _ query: String, k: Int, extra: [String: Any] = [:]) throws -> [String] {
        let r = try h.call(["op": "search", "query": query, "k": k].merging(extra) { $1 })
        return (r["results"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    }

    func similarPaths(_ h: DaemonHarness, _ path: String, k: Int) throws -> [String] {
        let r = try h.call(["op": "similar", "path": path, "k": k])
        return (r["results"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    }

    func learning(_ h: DaemonHarness) throws -> [String: Any] { try h.status()["learning"] as? [String: Any] ?? [:] }

    func train(_ h: DaemonHarness) throws -> [String: Any] {
        let r = try runProduct("revsdctl", ["train", "--socket", h.socket, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let l = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssert(l["last_error"] is NSNull, "\(l)")
        return l
    }

    /// A library of `count` drawn images, `inSub` of them in `sub/`; the
    /// paths, one per distinct content.
    func library(_ h: DaemonHarness, count: Int, inSub: Int, seed: UInt64) throws -> [String] {
        let root = URL(fileURLWithPath: h.watch)
        let entries = try SyntheticLibrary.writeLibrary(to: root, count: count, seed: seed, metadata: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        var paths: [String] = []
        for (i, e) in entries.enumerated() {
            var p = root.appendingPathComponent(e.file).path
            if i < inSub {
                let moved = root.appendingPathComponent("sub").appendingPathComponent((e.file as NSString).lastPathComponent).path
                try FileManager.default.moveItem(atPath: p, toPath: moved)
                p = moved
            }
            paths.append(p)
        }
        let hashes = try paths.map { try SHA256.hex(ofFile: $0) }
        XCTAssertEqual(Set(hashes).count, paths.count, "the drawn images are distinct")
        return paths
    }

    /// Finding 1 (phantom search entries after `reindex SUB` and `train`),
    /// finding 6 (a full `reindex` rebuilds in place: search answers
    /// throughout, alignments stay) and finding 8 (identical copies are one
    /// result and one labelled example).
    func testReindexTrainAndCopiesKeepSearchEqualToTheIndex() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        var paths = try library(h, count: 30, inSub: 5, seed: 11)
        let sub = h.watch + "/sub"
        try h.start(arguments: ["--workers", "1"], config: "[learning]\nretrain_after = 10\n")
        try h.waitForIndex(30)
        // One more file after them, so the sub-folder's records are not the
        // last ids (SQLite would hand a dropped last id out again).
        let late = try SyntheticLibrary.writeLibrary(to: h.dir.url.appendingPathComponent("late"), count: 1, seed: 12, metadata: true)[0]
        try FileManager.default.moveItem(atPath: h.dir.path("late/" + late.file), toPath: h.watch + "/late.png")
        paths.append(h.watch + "/late.png")
        try h.waitForIndex(31)

        // Finding 1: reindex a sub-folder, then every record is found once.
        let reindexed = try h.call(["op": "reindex", "path": sub])
        XCTAssertEqual(reindexed["queued"] as? Int, 5)
        try h.waitForIndex(31)
        try waitUntil(timeout: 120, "the reindex is done") { (try? self.h(h, "processed_since_start")) == 36 }
        XCTAssertEqual(Set(try searchPaths(h, "a picture", k: 31)), Set(paths), "search -k 31 after reindex SUB")
        // The automatic run (30 new labelled images) may have begun before late.png: train after it.
        try waitUntil(timeout: 300, "any automatic run ends") { (try? self.learning(h)["state"] as? String) == "idle" }
        _ = try train(h)
        try waitUntil(timeout: 300, "training and re-prediction end") { (try? self.learning(h)["state"] as? String) == "idle" }
        XCTAssertEqual(try h.status()["indexed"] as? Int, 31)
        for k in [1, 5, 10, 31] {
            XCTAssertEqual(try searchPaths(h, "a red circle", k: k).count, k, "search -k \(k) after train")
            XCTAssertEqual(try similarPaths(h, paths[0], k: min(k, 30)).count, min(k, 30), "similar -k \(k) after train")
        }
        let drifted = try h.call(["op": "search", "max_alignment": 1.0, "k": 100])
        let aligned = Set((drifted["results"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
        XCTAssertEqual(aligned, Set(paths), "every labelled image has an alignment after training")

        // Finding 6: a full reindex leaves the records answering until their
        // new results replace them, and unchanged files keep their alignment.
        let before = try h.status()["processed_since_start"] as? Int ?? 0
        XCTAssertEqual(try h.call(["op": "reindex"])["queued"] as? Int, 31)
        var sawItRunning = false
        while (try h.status()["queued"] as? Int ?? 0) > 0 {
            sawItRunning = true
            XCTAssertEqual(try searchPaths(h, "a picture", k: 31).count, 31, "search during a full reindex")
            XCTAssertEqual(try h.status()["indexed"] as? Int, 31, "status during a full reindex")
        }
        XCTAssert(sawItRunning, "the reindex was observed while it ran")
        try waitUntil(timeout: 300, "the full reindex is done") { (try? self.h(h, "processed_since_start")) == before + 31 }
        let afterReindex = try h.call(["op": "search", "max_alignment": 1.0, "k": 100])
        XCTAssertEqual(Set((afterReindex["results"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }), Set(paths),
                       "a reindex keeps the alignment of files whose content did not change")

        // Finding 8: 12 identical copies are one search result listing the
        // others, and no new labelled examples (retrain_after = 10).
        try waitUntil(timeout: 300, "any training run ends") { (try? self.learning(h)["state"] as? String) == "idle" }
        let trainedAt = try learning(h)["trained_at"] as? Double
        let automaticRuns = h.logText.components(separatedBy: "new labelled images").count
        let copies = (1...12).map { h.watch + "/copy-\($0).png" }
        for c in copies { try FileManager.default.copyItem(atPath: paths[7], toPath: c) }
        try h.waitForIndex(43)
        let all = try h.call(["op": "search", "query": "a picture", "k": 100])["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(all.count, 31, "identical copies are one result")
        let hit = try XCTUnwrap(all.first { ([paths[7]] + copies).contains($0["path"] as? String ?? "") })
        XCTAssertEqual(Set([hit["path"] as? String ?? ""] + (hit["paths"] as? [String] ?? [])), Set([paths[7]] + copies))
        let human = try runProduct("revsdctl", ["search", "--socket", h.socket, "-k", "31", "a picture"])
        XCTAssert(human.stdout.contains("+12 copies"), human.stdout)
        XCTAssertFalse(try similarPaths(h, copies[0], k: 30).contains { ([paths[7]] + copies).contains($0) }, "an image is not similar to itself")
        // The idle worker checked whether to retrain right after the copies.
        Thread.sleep(forTimeInterval: 3)
        let l = try learning(h)
        XCTAssertEqual(l["state"] as? String, "idle", "copies started no training run: \(l)")
        XCTAssertEqual(l["trained_at"] as? Double, trainedAt)
        XCTAssertEqual(h.logText.components(separatedBy: "new labelled images").count, automaticRuns, "no automatic run for copies")
    }

    func h(_ h: DaemonHarness, _ key: String) throws -> Int? { try h.status()[key] as? Int }

    /// Finding 5: restarting without a folder's --watch: its records are
    /// gone from search, similar and status (files deleted meanwhile too).
    func testRecordsOfFoldersNoLongerWatchedAreNeverReturned() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let kept = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 4, seed: 21, metadata: true)
            .map { h.watch + "/" + $0.file }
        let other = h.dir.path("other")
        let dropped = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: other), count: 4, seed: 22, metadata: false)
            .map { other + "/" + $0.file }
        try h.start(arguments: ["--watch", other])
        try h.waitForIndex(8)
        XCTAssertEqual(Set(try searchPaths(h, "a picture", k: 20)), Set(kept + dropped))
        h.kill(SIGTERM)

        try FileManager.default.removeItem(atPath: dropped[0])
        try h.start()   // only --watch h.watch
        try waitUntil(timeout: 120, "the queue is empty") { (try? self.h(h, "queued")) == 0 }
        XCTAssertEqual(Set(try searchPaths(h, "a picture", k: 20)), Set(kept), "search")
        XCTAssertEqual(Set(try similarPaths(h, kept[0], k: 20)), Set(kept.dropFirst()), "similar")
        XCTAssertThrowsError(try h.call(["op": "similar", "path": dropped[1], "k": 5]), "a record of an unwatched folder is not in the index")
        XCTAssertEqual(try h.status()["indexed"] as? Int, 4)
    }

    /// The image files under `root` on disk now.
    func filesOnDisk(_ root: String) -> Set<String> {
        let names = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
        return Set(names.filter { $0.hasSuffix(".png") }.map { root + "/" + $0 })
    }

    /// Soak findings 3 and 4 (bench/RESULTS.md), on the real revsdd: files
    /// written into a new folder that is renamed at once (before the daemon
    /// watched it, or while its files were queued or being read) end indexed
    /// at their new paths, none at the old; a file moved out of a folder just
    /// before the folder is renamed does not come back under the new name.
    func testFilesMovedWithTheirFolderWhileQueuedEndIndexedAtTheirNewPaths() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try h.start()
        let fresh = h.watch + "/N", renamed = h.watch + "/M"
        _ = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: fresh), count: 30, seed: 31, metadata: true)
        try FileManager.default.moveItem(atPath: fresh, toPath: renamed)
        try h.waitForIndex(30, timeout: 300)
        XCTAssertEqual(filesOnDisk(h.watch).count, 30)
        XCTAssertEqual(Set(try searchPaths(h, "a picture", k: 100)), filesOnDisk(h.watch), "every file once, at its new path")

        let outside = h.dir.path("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let leaving = try XCTUnwrap(filesOnDisk(renamed).sorted().first)
        try FileManager.default.moveItem(atPath: leaving, toPath: outside + "/left.png")
        try FileManager.default.moveItem(atPath: renamed, toPath: h.watch + "/B")
        try h.waitForIndex(29, timeout: 300)
        try waitUntil(timeout: 30, "the move out is applied") {
            (try? Set(self.searchPaths(h, "a picture", k: 100))) == self.filesOnDisk(h.watch)
        }
        XCTAssertEqual(Set(try searchPaths(h, "a picture", k: 100)), filesOnDisk(h.watch), "no B/ path for the file that left")
        XCTAssertEqual(try h.status()["failed"] as? Int, 0)
    }

    /// Issue #12, ranking, on the real revsdd: a labelled image is found by
    /// its own prompt first, every result says what ranked it, and a
    /// predicted match scores at most its confidence (cosine times weight).
    func testSearchRanksLabelledImagesByTheirPromptAndSaysWhatRankedThem() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let labelled = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 6, seed: 41, metadata: true)
        _ = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch + "/stripped"), count: 4, seed: 42, metadata: false)
        try h.start()
        try h.waitForIndex(10)
        let target = labelled[3]
        let r = try h.call(["op": "search", "query": target.prompt, "k": 20])
        let results = try XCTUnwrap(r["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 10)
        XCTAssertEqual(results.first?["path"] as? String, h.watch + "/" + target.file, "its own prompt finds it first")
        XCTAssertEqual(results.first?["match"] as? String, "prompt")
        // Cosine 1 to its own prompt, plus the lexical share (every word of the query is in it).
        XCTAssertEqual(results.first?["score"] as? Double ?? 0, 1 + Double(DaemonConfig.defaultLexicalWeight), accuracy: 1e-3)
        var weights = Set<Double>()
        for res in results {
            let labelledResult = res["prompt"] is String
            XCTAssertEqual(res["match"] as? String, labelledResult ? "prompt" : "predicted", "\(res)")
            let confidence = try XCTUnwrap(res["confidence"] as? Double)
            if labelledResult { XCTAssertEqual(confidence, 1) } else {
                weights.insert(confidence)
                XCTAssertGreaterThan(confidence, 0); XCTAssertLessThanOrEqual(confidence, 1)
                XCTAssertLessThanOrEqual(res["score"] as? Double ?? 2, confidence + 1e-6, "a weighted cosine")
            }
        }
        XCTAssertEqual(weights.count, 1, "one weight for every prediction")
        XCTAssertEqual(results.filter { $0["match"] as? String == "predicted" }.count, 4)
    }

    /// Issue #12, variations: the images of one prompt (seed variations,
    /// here one scene drawn at four sizes) are one result listing the others,
    /// and `all` gives every image its own result.
    func testImagesOfOnePromptAreOneResultUnlessAllIsAsked() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let scenes = SyntheticLibrary.scenes(count: 3, seed: 51)
        var sizes: [(SyntheticScene, Int, String)] = [256, 240, 224, 208].map { (scenes[0], $0, "v\($0).png") }
        sizes += [(scenes[1], 256, "b.png"), (scenes[2], 256, "c.png")]
        for (scene, size, name) in sizes {
            let bytes = try SyntheticLibrary.png(for: scene, width: size, height: size, metadata: true)
            try Data(bytes).write(to: URL(fileURLWithPath: h.watch + "/" + name))
        }
        try FileManager.default.copyItem(atPath: h.watch + "/v256.png", toPath: h.watch + "/v256-copy.png")
        try h.start()
        try h.waitForIndex(7)
        let grouped = try XCTUnwrap(try h.call(["op": "search", "query": scenes[0].prompt, "k": 10])["results"] as? [[String: Any]])
        XCTAssertEqual(grouped.count, 3, "one result per prompt")
        let first = try XCTUnwrap(grouped.first)
        XCTAssertEqual(first["prompt"] as? String, scenes[0].prompt)
        let members = Set([first["path"] as? String ?? ""] + (first["paths"] as? [String] ?? []) + (first["variations"] as? [String] ?? []))
        XCTAssertEqual(members, Set(["v256.png", "v256-copy.png", "v240.png", "v224.png", "v208.png"].map { h.watch + "/" + $0 }))
        XCTAssertEqual((first["variations"] as? [String])?.count, first["path"] as? String == h.watch + "/v256.png" ||
                       first["path"] as? String == h.watch + "/v256-copy.png" ? 3 : 4, "copies are paths, not variations")
        for res in grouped.dropFirst() { XCTAssertEqual(res["variations"] as? [String], []) }

        let all = try XCTUnwrap(try h.call(["op": "search", "query": scenes[0].prompt, "k": 10, "all": true])["results"] as? [[String: Any]])
        XCTAssertEqual(all.count, 6, "every picture its own result (identical copies stay one)")
        XCTAssertEqual(all.prefix(4).map { $0["prompt"] as? String }, Array(repeating: scenes[0].prompt, count: 4))
        for res in all { XCTAssertEqual(res["variations"] as? [String], []) }
        // The table says it.
        let table = try runProduct("revsdctl", ["search", scenes[0].prompt, "--socket", h.socket])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssert(table.stdout.contains("variations"), table.stdout)
    }
}
