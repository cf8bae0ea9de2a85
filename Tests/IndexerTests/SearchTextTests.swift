import Foundation
import GRDB
import Logging
import Synchronization
import XCTest
@testable import Analysis
@testable import Daemon
import Inference
@testable import Metadata
import Models
@testable import Store
import SyntheticImages

/// Issue #12, item 3: search matches a known prompt's words without its
/// syntax (the full-text index holds `PromptText.searchText`, the search row
/// is `ImageAnalyzer.searchEmbeddings`), while the raw prompt stays what is
/// shown and what training targets; an index of schema v5 is upgraded.
final class SearchTextTests: XCTestCase {
    let dir = TemporaryDirectory()
    static let lora = "(red:1.3) fox, <lora:foo_v2:0.8>"

    func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func labelled(_ s: IndexStore, _ path: String, _ prompt: String, known: [Float] = [0, 1], search: [Float]? = nil) throws -> Int64 {
        var embeddings: [EmbeddingKind: [Float]] = [.predicted: [1, 0], .knownPrompt: known, .features("enc"): [1, 1]]
        if let search { embeddings[.searchPrompt] = search }
        return try s.store(IndexedFile(path: path, contentHash: path, size: 1, mtimeNs: 1, width: 512, height: 512,
                                       metadata: GenerationMetadata(prompt: prompt, source: "automatic1111", raw: prompt),
                                       embeddings: embeddings))
    }

    func testTheFullTextIndexHoldsTheWordsNotTheSyntax() throws {
        let s = try IndexStore(path: dir.path("index.sqlite"))
        let fox = try labelled(s, "/l/fox.png", Self.lora)
        for (i, p) in ["a castle on a hill", "a cabin in the snow", "a boat at sea"].enumerated() { _ = try labelled(s, "/l/\(i).png", p) }
        XCTAssertEqual(try s.image(path: "/l/fox.png")?.prompt, Self.lora, "the raw prompt is what is shown")

        let c = try s.lexicalCoverage(of: "red fox", limit: 10)
        XCTAssertEqual(Set(c.keys), [fox])
        XCTAssertEqual(c[fox] ?? 0, 1, accuracy: 1e-6, "(red:1.3) fox holds both words")
        for word in ["v2", "foo", "lora", "foo_v2", "0.8", "1.3"] {
            XCTAssertEqual(try s.lexicalCoverage(of: word, limit: 10), [:], "\(word) is syntax, not a word of the prompt")
            XCTAssertEqual(try s.promptMatches(word), [], word)
        }
        XCTAssertEqual(try s.promptMatches("red fox"), [fox], "the --text filter reads the same words")
        // A file indexed again with another prompt: the index follows it.
        _ = try labelled(s, "/l/fox.png", "a grey wolf")
        XCTAssertEqual(try s.promptMatches("fox"), [])
        XCTAssertEqual(try s.promptMatches("wolf"), [fox])
    }

    /// The search row of a labelled image is `prompt.search`; the training
    /// target stays `prompt.known`, the raw prompt's embedding.
    func testTheSearchRowIsTheSearchTextsEmbeddingAndTheTargetTheRawPrompts() throws {
        let s = try IndexStore(path: dir.path("index.sqlite"))
        let fox = try labelled(s, "/l/fox.png", Self.lora, known: [0, 1], search: [0.6, 0.8])
        var rows: [SearchRow] = []
        try s.withSearchRows { rows = $0 }
        XCTAssertEqual(Set(rows.map { "\($0.kind)" }), ["prompt.predicted", "prompt.search"])
        XCTAssertEqual(rows.first { $0.kind == .searchPrompt }?.vector, [0.6, 0.8])
        XCTAssertEqual(try s.vectorMatrix(kind: .searchPrompt, dimension: 2).vectors, [0.6, 0.8])
        XCTAssertEqual(try s.searchPromptVectors(ids: [fox]), [fox: [0.6, 0.8]])
        let training = try s.labelledRows(encoders: ["enc"])
        XCTAssertEqual(training.targets, [0, 1], "the paper's target: the raw prompt's embedding")
        XCTAssertEqual(training.prompts, [Self.lora])
    }

    /// One call of the encoder per batch; a text equal to the one before
    /// it is not embedded again, nor an already embedded prompt; the search
    /// row is the mean of the search text's and the boilerplate-free text's.
    func testThePromptsAndTheirSearchRowsAreEmbeddedInOneBatch() {
        let calls = Mutex<[[String]]>([])
        func embed(_ texts: [String]) -> [[Float]] {
            calls.withLock { $0.append(texts) }
            return texts.map { [Float($0.count), 1] }
        }
        func mean(_ a: String, _ b: String) -> [Float] { VectorMath.l2Normalized([Float(a.count + b.count), 2]) }
        let prompts = ["a cat", Self.lora, "a cat, masterpiece, best quality"]
        let out = ImageAnalyzer.searchEmbeddings(prompts, embed)
        XCTAssertEqual(calls.withLock { $0 }, [prompts + ["red fox", "a cat"]])
        XCTAssertEqual(out.map(\.prompt), prompts.map { [Float($0.count), 1] })
        XCTAssertEqual(out[0].search, [5, 1], "a plain prompt: its own embedding")
        XCTAssertEqual(out[1].search, [7, 1], "syntax only: the search text's")
        XCTAssertEqual(out[2].search, mean(prompts[2], "a cat"), "boilerplate: the mean")
        let reused = ImageAnalyzer.searchEmbeddings(prompts, known: [[-1, 0], [-2, 0], [-3, 0]], embed)
        XCTAssertEqual(calls.withLock { $0.last }, ["red fox", "a cat"])
        XCTAssertEqual(reused.map(\.prompt), [[-1, 0], [-2, 0], [-3, 0]])
        XCTAssertEqual(reused[0].search, [-1, 0])
        XCTAssertEqual(reused[1].search, [7, 1])
        XCTAssertEqual(ImageAnalyzer.searchEmbeddings(["a cat"], known: [[1, 0]], embed).map(\.search), [[1, 0]])
        XCTAssertEqual(calls.withLock { $0.count }, 2, "nothing to embed: no call")
    }

    /// The migration to v6 on an index written by schema v5: its labelled
    /// images are searched as before (raw prompt words, raw prompt
    /// embedding) until an idle worker cleans and embeds their prompts,
    /// which then replace both in the full-text index and the search matrix.
    func testAnIndexOfSchemaV5IsUpgraded() throws {
        let path = dir.path("index.sqlite")
        let d = 384
        func unit(_ i: Int) -> [Float] { (0..<d).map { $0 == i ? 1 : 0 } }
        do {
            let old = try DatabaseQueue(path: path)
            try IndexStore.migrator.migrate(old, upTo: "v5: the prompt index's vocabulary (document frequency per word, for search's lexical evidence), images by prompt")
            try old.write { db in
                for (i, prompt) in [Self.lora, "a castle on a hill", "a cabin in the snow", nil].enumerated() {
                    try db.execute(sql: """
                        INSERT INTO image (id, path, contentHash, size, mtimeNs, status, prompt, indexedAt)
                        VALUES (?, ?, ?, 1, 1, 'indexed', ?, 0)
                        """, arguments: [i + 1, "/l/\(i).png", "h\(i)", prompt])
                    try db.execute(sql: "INSERT INTO embedding VALUES (?, 'prompt.predicted', ?)", arguments: [i + 1, unit(10 + i).blob])
                    if prompt != nil { try db.execute(sql: "INSERT INTO embedding VALUES (?, 'prompt.known', ?)", arguments: [i + 1, unit(i).blob]) }
                }
            }
            XCTAssertEqual(try old.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM image_prompt WHERE image_prompt MATCH 'v2'") }, 1,
                           "schema v5 indexed the raw prompt")
        }
        let s = try IndexStore(path: path)
        func searchText(_ id: Int64) throws -> String? { try s.read { try String.fetchOne($0, sql: "SELECT searchText FROM image WHERE id = ?", arguments: [id]) } }
        XCTAssertEqual(s.counts(), IndexCounts(indexed: 4, failed: 0, queued: 0, withPrompt: 3))
        // Until the workers get to them, the old images are searched as before:
        // the full-text index holds their raw prompt, their search row is its embedding.
        XCTAssertNil(try searchText(1))
        XCTAssertEqual(try s.promptMatches("v2"), [1])
        XCTAssertEqual(try s.promptMatches("castle"), [2])
        XCTAssertEqual(Set(try s.lexicalCoverage(of: "red fox", limit: 10).keys), [1])
        var rows: [SearchRow] = []
        try s.withSearchRows { rows = $0 }
        XCTAssertEqual(rows.filter { $0.kind != .predicted }.map(\.kind), [.knownPrompt, .knownPrompt, .knownPrompt])
        XCTAssertEqual(try s.vectorMatrix(kind: .searchPrompt, dimension: d).ids, [1, 2, 3])
        XCTAssertEqual(try s.promptsLackingSearchEmbedding(limit: 10).map(\.id), [1, 2, 3])

        // An idle worker embeds them; the search matrix follows.
        let analyzer = try ImageAnalyzer(store: ModelStore.resolve())
        let indexing = try IndexingService(store: s, analyzer: analyzer, workers: 1, logger: Logger(label: "test"))
        try indexing.loadSearchMatrix()
        XCTAssertEqual(indexing.search.snapshot()[1]?[.knownPrompt], unit(0))
        XCTAssertEqual(indexing.completeSearchTexts(limit: 2), 2)
        XCTAssertEqual(indexing.completeSearchTexts(limit: 2), 1)
        XCTAssertEqual(indexing.completeSearchTexts(limit: 2), 0)
        XCTAssertNotEqual(indexing.search.snapshot()[1]?[.knownPrompt], unit(0))
        XCTAssertEqual(try s.promptsLackingSearchEmbedding(limit: 10), [])
        XCTAssertEqual(try searchText(1), "red fox")
        XCTAssertEqual(try searchText(2), "a castle on a hill")
        XCTAssertNil(try searchText(4), "no prompt, no search text")
        XCTAssertEqual(try s.promptMatches("v2"), [], "the full-text index follows")
        XCTAssertEqual(try s.promptMatches("red fox"), [1])
        XCTAssertEqual(try s.promptMatches("castle"), [2])
        XCTAssertEqual(try s.lexicalCoverage(of: "red fox", limit: 10)[1] ?? 0, 1, accuracy: 1e-6)
        let e = try s.embeddings(imageID: 1)
        XCTAssertEqual(e[.knownPrompt], unit(0), "the training target is kept")
        let expected = analyzer.promptEncoder.embed(["red fox"])[0]
        XCTAssertGreaterThan(dot(try XCTUnwrap(e[.searchPrompt]), expected), 0.9999, "the search text embedded")
        XCTAssertEqual(try s.embeddings(imageID: 2)[.searchPrompt], unit(1), "a prompt without syntax reuses its embedding")
        try s.withSearchRows { rows = $0 }
        XCTAssertEqual(rows.filter { $0.kind != .predicted }.map(\.kind), [.searchPrompt, .searchPrompt, .searchPrompt])
        XCTAssertEqual(try indexing.verifySearchMatchesStore(), [])
        // A new file, and a record deleted: the view and the triggers agree.
        _ = try labelled(s, "/l/new.png", "[dog:cat:0.5] <hypernet:x:1>")
        XCTAssertEqual(try s.promptMatches("hypernet"), [])
        XCTAssertEqual(try s.promptMatches("dog cat").count, 1)
        _ = try s.remove(path: "/l/0.png")
        XCTAssertEqual(try s.promptMatches("fox"), [])
        XCTAssertNoThrow(try s.write { try $0.execute(sql: "INSERT INTO image_prompt(image_prompt) VALUES ('integrity-check')") })
    }

    /// The real revsdd: a labelled file's search row is made of its search
    /// text (the mean of "red fox, masterpiece, best quality" and "red fox"),
    /// its training target is its raw prompt's embedding, and a query of its
    /// words scores the cosine to the search row plus the whole lexical share.
    func testTheDaemonSearchesTheSearchTextAndTrainsOnTheRawPrompt() throws {
        let encoder = try SentenceEncoder(folder: installedPromptEncoderFolder())
        let h = try DaemonHarness()
        let raw = Self.lora + ", masterpiece, best quality"
        let prompts = [raw, "a castle on a hill", "a cabin in the snow", "a boat at sea"]
        for (i, prompt) in prompts.enumerated() {
            let pixels = (0..<(64 * 64 * 3)).map { UInt8(truncatingIfNeeded: $0 * (i + 3) / 7) }
            let png = try PNGWriter.encode(width: 64, height: 64, pixels: pixels, text: [
                ("parameters", prompt + "\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: \(i), Size: 64x64"),
            ])
            try Data(png).write(to: URL(fileURLWithPath: h.watch + "/\(i).png"))
        }
        try h.start()
        try h.waitForIndex(prompts.count)

        let s = try IndexStore(path: h.state + "/index.sqlite")
        let fox = try XCTUnwrap(try s.image(path: h.watch + "/0.png"))
        XCTAssertEqual(fox.prompt, raw)
        let e = try s.embeddings(imageID: fox.id)
        let rawVector = encoder.embed([raw])[0]
        let both = encoder.embed(["red fox, masterpiece, best quality", "red fox"])
        let searchVector = VectorMath.l2Normalized(zip(both[0], both[1]).map { $0 + $1 })
        XCTAssertGreaterThan(dot(try XCTUnwrap(e[.knownPrompt]), rawVector), 0.9999)
        XCTAssertGreaterThan(dot(try XCTUnwrap(e[.searchPrompt]), searchVector), 0.9999)
        XCTAssertLessThan(dot(rawVector, searchVector), 0.99, "two different texts")
        let training = try s.labelledRows(encoders: Array(try s.featureEncoders().keys))
        let row = try XCTUnwrap(training.ids.firstIndex(of: fox.id))
        let target = Array(training.targets[(row * encoder.dimension)..<((row + 1) * encoder.dimension)])
        XCTAssertGreaterThan(dot(target, rawVector), 0.9999, "training targets the raw prompt")

        let r = try h.call(["op": "search", "query": "red fox", "k": 4])
        let first = try XCTUnwrap((r["results"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["path"] as? String, h.watch + "/0.png")
        XCTAssertEqual(first["prompt"] as? String, raw, "the raw prompt is shown")
        let cosine = Double(dot(encoder.embed(["red fox"])[0], searchVector))
        XCTAssertEqual(first["score"] as? Double ?? 0, cosine + Double(DaemonConfig.defaultLexicalWeight), accuracy: 1e-3)
    }
}
