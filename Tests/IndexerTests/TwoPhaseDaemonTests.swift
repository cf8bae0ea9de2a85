import Foundation
import RevsdSystem
import SyntheticImages
import XCTest
@testable import Store

/// Issue #13 item 1 on the real revsdd: a labelled file is searchable by its
/// prompt before its pixels are analysed; a crash between the phases loses
/// nothing and repeats nothing; a file deleted or rewritten between them
/// leaves no phantom and its new content is analysed once. Phase 2 is held
/// by the test-only REVSD_TEST_HOLD_ANALYSIS_WHILE (while its file exists).
/// Needs the installed models.
final class TwoPhaseDaemonTests: XCTestCase {
    /// Writes `bytes` in one open-write-close (a rewrite in place keeps the inode).
    func writeAndClose(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        bytes.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func png(_ scene: SyntheticScene, labelled: Bool = true) throws -> [UInt8] {
        try SyntheticLibrary.png(for: scene, metadata: labelled)
    }

    func counts(_ h: DaemonHarness) throws -> [String: Int] {
        let s = try h.status()
        var out: [String: Int] = [:]
        for k in ["indexed", "failed", "queued", "searchable", "analysed", "analysis_queued", "processed_since_start", "analysed_since_start"] {
            out[k] = s[k] as? Int ?? -1
        }
        return out
    }

    func search(_ h: DaemonHarness, _ query: String) throws -> [[String: Any]] {
        try h.call(["op": "search", "query": query, "k": 10])["results"] as? [[String: Any]] ?? []
    }

    func store(_ h: DaemonHarness) throws -> IndexStore { try IndexStore(path: h.state + "/index.sqlite") }

    /// Starts revsdd with phase 2 held, and waits for phase 1 of `expected` files.
    func startHeld(_ h: DaemonHarness, expected: Int) throws -> String {
        let hold = h.dir.path("hold-analysis")
        _ = FileManager.default.createFile(atPath: hold, contents: Data())
        try h.start(extraEnvironment: ["REVSD_TEST_HOLD_ANALYSIS_WHILE": hold])
        try waitUntil(timeout: 120, "phase 1 of \(expected) files") {
            guard let c = try? self.counts(h) else { return false }
            return c["queued"] == 0 && c["indexed"] == expected && c["analysis_queued"] == expected
        }
        return hold
    }

    /// Phase 2 counts an analysis in memory just after its commit, so the
    /// store can show it analysed a moment before `analysed_since_start`
    /// does: the counts once that count has caught up with `expected`.
    func countsOnceAnalysed(_ h: DaemonHarness, _ expected: Int) throws -> [String: Int] {
        try waitUntil(timeout: 30, "analysed_since_start reaches \(expected)") {
            ((try? self.counts(h))?["analysed_since_start"] ?? 0) >= expected
        }
        return try counts(h)
    }

    func testALabelledFileIsSearchableByItsPromptBeforeItsPixelsAreAnalysed() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let scenes = SyntheticLibrary.scenes(count: 2, seed: 61)
        writeAndClose(h.watch + "/labelled.png", try png(scenes[0]))
        writeAndClose(h.watch + "/plain.png", try png(scenes[1], labelled: false))
        let hold = try startHeld(h, expected: 2)

        var c = try counts(h)
        XCTAssertEqual(c["searchable"], 1, "the labelled one, by its prompt: \(c)")
        XCTAssertEqual(c["analysed"], 0)
        let hits = try search(h, scenes[0].prompt)
        XCTAssertEqual(hits.first?["path"] as? String, h.watch + "/labelled.png")
        XCTAssertEqual(hits.first?["match"] as? String, "prompt")
        XCTAssertEqual(hits.count, 1, "the unlabelled one is searchable only once analysed (by its prediction)")
        let s = try store(h)
        let before = try XCTUnwrap(try s.image(path: h.watch + "/labelled.png"))
        XCTAssertFalse(before.analysed)
        XCTAssertEqual([before.width, before.height], [256, 256], "the shape from the header, before any decode")
        XCTAssertEqual(Set(try s.embeddings(imageID: before.id).keys), [.knownPrompt, .searchPrompt], "no pixels analysed yet")

        try FileManager.default.removeItem(atPath: hold)
        try h.waitForIndex(2)
        c = try countsOnceAnalysed(h, 2)
        XCTAssertEqual(c["searchable"], 2); XCTAssertEqual(c["analysed"], 2); XCTAssertEqual(c["analysis_queued"], 0)
        XCTAssertEqual(c["analysed_since_start"], 2); XCTAssertEqual(c["failed"], 0)
        let after = try XCTUnwrap(try s.image(path: h.watch + "/labelled.png"))
        XCTAssertTrue(after.analysed)
        XCTAssertEqual(after.id, before.id)
        XCTAssertEqual(after.width, 256); XCTAssertNotNil(after.caption)
        let kinds = try s.embeddings(imageID: after.id).keys
        XCTAssert(kinds.contains(.predicted) && kinds.contains(.knownPrompt) && kinds.contains { if case .features = $0 { return true }; return false },
                  "\(kinds)")
        XCTAssertEqual(try search(h, scenes[0].prompt).first?["path"] as? String, h.watch + "/labelled.png")
        XCTAssertEqual(try search(h, "a picture").count, 2)
    }

    func testAKillBetweenThePhasesLosesNothingAndRepeatsNothing() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let scenes = SyntheticLibrary.scenes(count: 3, seed: 62)
        for (i, scene) in scenes.enumerated() { writeAndClose(h.watch + "/f\(i).png", try png(scene, labelled: i < 2)) }
        _ = try startHeld(h, expected: 3)
        let s = try store(h)
        let before = try (0..<3).map { try XCTUnwrap(try s.image(path: h.watch + "/f\($0).png")) }
        let known = try before.map { try s.embeddings(imageID: $0.id)[.knownPrompt] }
        h.kill(SIGKILL)
        _ = try h.waitForExit(timeout: 30)

        try h.start()   // phase 2 no longer held
        try h.waitForIndex(3)
        let c = try countsOnceAnalysed(h, 3)
        XCTAssertEqual(c["processed_since_start"], 0, "no phase-1 job ran again: \(c)")
        XCTAssertEqual(c["analysed_since_start"], 3)
        XCTAssertEqual(c["analysed"], 3); XCTAssertEqual(c["searchable"], 3); XCTAssertEqual(c["failed"], 0)
        for (i, b) in before.enumerated() {
            let a = try XCTUnwrap(try s.image(path: b.path))
            XCTAssertEqual(a.id, b.id, "the same record")
            XCTAssertTrue(a.analysed)
            XCTAssertEqual(try s.embeddings(imageID: a.id)[.knownPrompt], known[i], "phase 1's embedding kept")
        }
        XCTAssertEqual(try search(h, scenes[1].prompt).first?["path"] as? String, h.watch + "/f1.png")
    }

    func testAFileDeletedOrRewrittenBetweenThePhasesLeavesNoPhantomAndIsAnalysedOnceAsTheNewContent() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let scenes = SyntheticLibrary.scenes(count: 3, seed: 63)
        writeAndClose(h.watch + "/gone.png", try png(scenes[0]))
        writeAndClose(h.watch + "/rewritten.png", try png(scenes[1]))
        let hold = try startHeld(h, expected: 2)

        try FileManager.default.removeItem(atPath: h.watch + "/gone.png")
        let newBytes = try png(scenes[2])
        writeAndClose(h.watch + "/rewritten.png", newBytes)
        let newHash = newBytes.withUnsafeBytes { RevsdSystem.SHA256.hex($0) }
        let s = try store(h)
        try waitUntil(timeout: 60, "phase 1 of the new content, the deleted file gone") {
            guard let c = try? self.counts(h), let rec = try? s.image(path: h.watch + "/rewritten.png") else { return false }
            return c["indexed"] == 1 && c["queued"] == 0 && rec.contentHash == newHash
        }
        XCTAssertEqual(try counts(h)["analysis_queued"], 1, "the deleted file's analysis went with it")
        XCTAssertEqual(try search(h, scenes[2].prompt).first?["path"] as? String, h.watch + "/rewritten.png")

        try FileManager.default.removeItem(atPath: hold)
        try h.waitForIndex(1)
        let c = try countsOnceAnalysed(h, 1)
        XCTAssertEqual(c["analysed_since_start"], 1, "analysed once, as the new content: \(c)")
        XCTAssertEqual(c["analysed"], 1); XCTAssertEqual(c["searchable"], 1); XCTAssertEqual(c["failed"], 0)
        XCTAssertEqual(try s.fileStates().keys.map(\.path), [h.watch + "/rewritten.png"], "no phantom")
        let rec = try XCTUnwrap(try s.image(path: h.watch + "/rewritten.png"))
        XCTAssertEqual(rec.contentHash, newHash); XCTAssertEqual(rec.prompt, scenes[2].prompt); XCTAssertTrue(rec.analysed)
        let paths = try search(h, scenes[0].prompt).compactMap { $0["path"] as? String }
        XCTAssertFalse(paths.contains(h.watch + "/gone.png"), "no phantom hit")
    }
}

extension TwoPhaseDaemonTests {
    /// Phase 2 runs on threads of its own at nice 10, so phase 1, searches and
    /// the user's programs get the cores first; phase 1's workers stay at 0.
    /// (Foundation does not name threads on Linux, so they are told apart
    /// by their nice values: as many at 10 as there are workers.)
    func testPhaseTwoThreadsRunAtLowerPriority() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try h.start(config: "workers = 2\n")
        let pid = try XCTUnwrap(h.process?.processIdentifier)
        func niceValues() -> [Int] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { task in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return nil }
                // After "(comm)": the state is field 3, the nice value field 19.
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 16 ? Int(fields[16]) : nil
            }
        }
        var values = niceValues()
        let deadline = Date().addingTimeInterval(30)
        while values.filter({ $0 == 10 }).count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05); values = niceValues() }
        XCTAssertEqual(values.filter { $0 == 10 }.count, 2, "two phase-2 threads at nice 10: \(values)")
        XCTAssertGreaterThanOrEqual(values.filter { $0 == 0 }.count, 3, "the main thread and two phase-1 workers at 0: \(values)")
    }
}
