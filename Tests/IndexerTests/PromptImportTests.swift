import Foundation
import XCTest
@testable import RevsdProtocol
@testable import Store

/// `prompts_import` in chunks against the real revsdd (issue #13): each
/// distinct prompt is stored and embedded once however the chunks repeat
/// it, a chunk that fails leaves the chunks before it stored, and revsdctl
/// sends a corpus in chunks and names the file and line of bad input.
/// Needs the installed models.
final class PromptImportTests: XCTestCase {
    func start() throws -> DaemonHarness {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try h.start(config: "[learning]\nretrain_after = 0\n")
        return h
    }

    func stored(_ h: DaemonHarness) throws -> [String] {
        try IndexStore(path: h.state + "/index.sqlite").bankPrompts().prompts
    }

    func testChunksWithDuplicatesStoreEachPromptOnceAndAFailingChunkKeepsTheEarlierOnes() throws {
        let h = try start()
        let chunks = [["a red fox", "a blue owl", "a red fox", "a green frog"],  // repeated inside a chunk
                      ["a green frog", "a tall tower", "a blue owl"],           // and across chunks
                      ["a tall tower"]]
        var added: [Int] = [], bank = 0
        for c in chunks {
            let r = try h.call(PromptsImportRequest(prompts: c, source: "chunks"))
            XCTAssertEqual(r.read, c.count)
            added.append(r.added); bank = r.promptBank
        }
        XCTAssertEqual(added, [3, 1, 0])
        XCTAssertEqual(bank, 4)
        XCTAssertEqual(try stored(h), ["a red fox", "a blue owl", "a green frog", "a tall tower"])
        let vectors = try IndexStore(path: h.state + "/index.sqlite").bankPrompts().vectors
        XCTAssertEqual(vectors.count, 4 * 384, "one embedding per distinct prompt")

        // Failing chunks (a non-string, too many prompts) are rejected whole; the earlier chunks stay.
        XCTAssertThrowsError(try h.call(["op": "prompts_import", "prompts": ["a new moon", 7]]))
        XCTAssertThrowsError(try h.call(["op": "prompts_import", "prompts": [String](repeating: "a new moon", count: PromptsImportRequest.maxPrompts + 1)]))
        XCTAssertEqual(try stored(h).count, 4)
        let after = try h.call(PromptsImportRequest(prompts: ["a new moon", "a red fox"]))
        XCTAssertEqual(after.added, 1)
        XCTAssertEqual(after.promptBank, 5)

        // The bank in memory follows (captions come from it): a restart reads the same five.
        h.kill(SIGTERM)
        try h.start(config: "[learning]\nretrain_after = 0\n")
        XCTAssertEqual((try h.status()["learning"] as? [String: Any])?["prompt_bank"] as? Int, 5)
        XCTAssertEqual(try stored(h).count, 5)
    }

    func testRevsdctlImportsInChunksAndNamesTheFileAndLineOfBadInput() throws {
        let h = try start()
        let lines = (0..<10).map { "prompt number \($0 % 7)" }  // 7 distinct, 3 repeats
        let corpus = h.dir.write("corpus.txt", lines.joined(separator: "\n") + "\n")
        let other = h.dir.write("other.txt", "prompt number 3\nprompt number 42\n")
        let first = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, "--chunk", "3", "--json", corpus, other])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stderr, "", "no progress without a terminal")
        let r = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Int] ?? [:]
        XCTAssertEqual(r, ["read": 9, "added": 8, "prompt_bank": 8])
        XCTAssertEqual(Set(try stored(h)), Set((0..<7).map { "prompt number \($0)" } + ["prompt number 42"]))

        // The human summary; again, nothing new.
        let again = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, corpus])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssert(again.stdout.hasPrefix("read 7 prompts, 0 new; the bank holds 8"), again.stdout)

        // A malformed line: one error naming the file and line, nothing of the command sent, the bank kept.
        let broken = h.dir.write("broken.jsonl", "{\"prompt\": \"a fine prompt\"}\n{\"prompt\": \"another\"}\n{\"prompt\": 1}\n")
        let bad = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, other, broken])
        XCTAssertEqual(bad.status, 1)
        XCTAssert(bad.stderr.hasPrefix("revsdctl: ") && bad.stderr.contains("broken.jsonl:3:"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        let missing = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, h.dir.path("nowhere.txt")])
        XCTAssertEqual(missing.status, 1)
        XCTAssert(missing.stderr.contains("nowhere.txt"), missing.stderr)
        XCTAssertEqual(try stored(h).count, 8)
    }
}
