import Foundation
import XCTest
@testable import Daemon
@testable import Metadata
@testable import Search
@testable import Store

/// Issue #12, hybrid retrieval: the words a user typed that stand in a
/// known prompt add to its image's score (the share of the query they
/// cover, by idf), user text is never read as FTS5 syntax, and the
/// lexically matched images join the vector ranking.
final class LexicalSearchTests: XCTestCase {
    let dir = TemporaryDirectory()

    func labelled(_ s: IndexStore, _ path: String, _ prompt: String) throws -> Int64 {
        try s.store(IndexedFile(path: path, contentHash: path, size: 1, mtimeNs: 1,
                                metadata: GenerationMetadata(prompt: prompt, source: "automatic1111", raw: prompt),
                                embeddings: [EmbeddingKind.predicted: [1, 0], EmbeddingKind.knownPrompt: [0, 1]]))
    }

    func testCoverageIsTheShareOfTheQuerysWordsByIdf() throws {
        let s = try IndexStore(path: dir.path("index.sqlite"))
        let fox = try labelled(s, "/l/fox.png", "a fennec fox in the desert, masterpiece")
        let both = try labelled(s, "/l/both.png", "a red fox in the snow, masterpiece")
        let snow = try labelled(s, "/l/snow.png", "a cabin in the snow, masterpiece")
        for i in 0..<5 { _ = try labelled(s, "/l/other\(i).png", "a castle on a hill, masterpiece") }

        let c = try s.lexicalCoverage(of: "Fox in SNOW", limit: 10)
        XCTAssertEqual(Set(c.keys), [fox, both, snow], "only prompts holding a distinctive word")
        XCTAssertEqual(c[both] ?? 0, 1, accuracy: 1e-6, "every word of the query")
        XCTAssertGreaterThan(c[fox]!, 0); XCTAssertLessThan(c[fox]!, 1)
        // A word in most prompts ("masterpiece", "a") is no evidence alone.
        XCTAssertEqual(try s.lexicalCoverage(of: "a masterpiece", limit: 10), [:])
        // Filters and the limit.
        XCTAssertEqual(Set(try s.lexicalCoverage(of: "fox", limit: 10, allowed: [both, snow]).keys), [both])
        XCTAssertEqual(try s.lexicalCoverage(of: "fox", limit: 1).count, 1)
        // Found through the rarest words within the posting budget ("fox" and
        // "snow" are in 2 prompts each, "in" in 3): with room for 2 prompts
        // one rarest word finds the images; coverage still counts every word.
        let budgeted = try s.lexicalCoverage(of: "fox in snow", limit: 10, postingBudget: 2)
        XCTAssertEqual(budgeted.count, 2)
        XCTAssertTrue(budgeted.keys.contains(both))
        XCTAssertEqual(budgeted[both] ?? 0, 1, accuracy: 1e-6)
        XCTAssertEqual(try s.lexicalCoverage(of: "fox in snow", limit: 10, postingBudget: 1), [:], "no word rare enough")
        // User text is words, never FTS5 syntax.
        for hostile in ["fox\" OR \"castle", "fox*", "NEAR(fox snow)", "prompt:fox", "(fox", "-fox", "\"", "AND", ""] {
            XCTAssertNoThrow(try s.lexicalCoverage(of: hostile, limit: 10), hostile)
        }
        XCTAssertEqual(try s.lexicalCoverage(of: "fox\" OR \"castle", limit: 10), try s.lexicalCoverage(of: "fox or castle", limit: 10),
                       "quotes and operators are read as the words they hold")
    }

    func testFusionAddsTheWeightedCoverageAndBringsInImagesTheVectorsMissed() {
        let hits = [SearchIndex.Hit(id: 1, score: 0.45, kind: .predicted), SearchIndex.Hit(id: 2, score: 0.40, kind: .knownPrompt)]
        let lexical: [Int64: (coverage: Float, cosine: Float)] = [2: (1, 0.40), 3: (0.5, 0.24)]
        let fused = ControlHandler.fused(hits, lexical, weight: 0.2)
        XCTAssertEqual(fused.map(\.id), [2, 1, 3])
        XCTAssertEqual(fused[0].score, 0.60, accuracy: 1e-6)
        XCTAssertEqual(fused[2].score, 0.34, accuracy: 1e-6, "the fox the vectors missed: its cosine plus the bonus")
        XCTAssertEqual(fused[2].kind, .knownPrompt)
        XCTAssertEqual(ControlHandler.fused(hits, [:], weight: 0.2), hits)
        XCTAssertEqual(ControlHandler.fused(hits, lexical, weight: 0).map(\.id), [1, 2, 3], "weight 0: the vector order")
    }
}
