import Foundation
import Inference
import XCTest

/// revsd's all-MiniLM-L6-v2 against sentence-transformers (PyTorch, CPU):
/// golden file Golden/minilm-golden.json, written by tools/make_minilm_golden.py
/// (its "provenance" names the library versions). Needs the installed model.
final class MiniLMGoldenTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int32]; let embedding: [Float] }
        let provenance: [String: AnyCodable]
        let cases: [Case]
    }
    struct AnyCodable: Decodable {
        init(from decoder: Decoder) throws {}
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/minilm-golden.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    /// The fp32 path, the implementation checked to sentence-transformers'
    /// precision; the bfloat16 one (where this CPU has it) is checked against
    /// the same golden file at its own tolerance below.
    nonisolated(unsafe) static var shared: SentenceEncoder?
    func encoder() throws -> SentenceEncoder {
        if let e = Self.shared { return e }
        let e = try SentenceEncoder(folder: installedPromptEncoderFolder(), precision: .float32)
        Self.shared = e
        return e
    }

    func testTheGoldenSetCoversWhatTheIssueAsksFor() {
        let texts = Self.golden.cases.map(\.text)
        XCTAssertGreaterThanOrEqual(texts.count, 60)
        XCTAssert(texts.contains(""))
        XCTAssert(texts.contains { $0.contains("(masterpiece:1.2)") } && texts.contains { $0.contains("[cat|dog]") } && texts.contains { $0.contains("<lora:") })
        XCTAssert(texts.contains { $0.unicodeScalars.contains { BertNormalizer.isChineseChar($0) } })
        XCTAssert(texts.contains { $0.unicodeScalars.contains { $0.properties.isEmojiPresentation } })
        XCTAssert(Self.golden.cases.contains { $0.ids.count == 256 }, "a text longer than 256 word pieces")
    }

    func testTokenIDsAreIdenticalToTheHuggingFaceTokenizer() throws {
        let enc = try encoder()
        XCTAssertEqual(enc.maxSequenceLength, 256)
        for c in Self.golden.cases {
            XCTAssertEqual(enc.tokenize(c.text), c.ids, "text: \(c.text.debugDescription)")
        }
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let enc = try encoder()
        let cases = Self.golden.cases
        let got = enc.embed(cases.map(\.text), batchSize: 16)
        var worstCos: Float = 1, worstDelta: Float = 0
        for (c, v) in zip(cases, got) {
            XCTAssertEqual(v.count, 384)
            var dot: Float = 0, delta: Float = 0, norm: Float = 0
            for i in 0..<384 { dot += v[i] * c.embedding[i]; delta = max(delta, abs(v[i] - c.embedding[i])); norm += v[i] * v[i] }
            XCTAssertEqual(norm, 1, accuracy: 1e-5, "unit length: \(c.text.debugDescription)")
            XCTAssertGreaterThanOrEqual(dot, 0.99999, "cosine for \(c.text.debugDescription)")
            XCTAssertLessThanOrEqual(delta, 1e-4, "max |Δ| for \(c.text.debugDescription)")
            worstCos = min(worstCos, dot); worstDelta = max(worstDelta, delta)
        }
        print("MiniLM golden: \(cases.count) texts, worst cosine \(worstCos), worst max|Δ| \(worstDelta)")
    }

    /// The dense layers in bfloat16 (inputs rounded, fp32 sums: what revsd
    /// runs where the CPU has AVX-512 BF16): every golden text within a
    /// cosine of 0.9999 of sentence-transformers' fp32 embedding, and a batch
    /// gives each text what it gets alone to 1e-5.
    func testBFloat16EmbeddingsStayWithinTheirToleranceOfSentenceTransformers() throws {
        guard BFloat16MatMul.isAvailable else {
            throw XCTSkip("this CPU has no AVX-512 BF16 (or REVSD_MATMUL=fp32): revsd embeds in fp32 here, checked above")
        }
        let enc = try SentenceEncoder(folder: installedPromptEncoderFolder(), precision: .bfloat16)
        XCTAssertEqual(enc.model.encoder.precision, .bfloat16)
        let cases = Self.golden.cases
        let got = enc.embed(cases.map(\.text), batchSize: 16)
        var worstCos: Float = 1, meanCos: Float = 0
        for (c, v) in zip(cases, got) {
            var dot: Float = 0
            for i in 0..<384 { dot += v[i] * c.embedding[i] }
            XCTAssertGreaterThanOrEqual(dot, 0.9999, "cosine for \(c.text.debugDescription)")
            worstCos = min(worstCos, dot); meanCos += dot / Float(cases.count)
        }
        print("MiniLM golden, bfloat16 products: \(cases.count) texts, worst cosine \(worstCos), mean \(meanCos)")
        let texts = cases.map(\.text).prefix(20).map { $0 }
        let batched = enc.embed(texts, batchSize: 32)
        for (t, a) in zip(texts, batched) {
            let b = enc.embed([t], batchSize: 1)[0]
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 1e-5, t)
        }
    }

    func testBatchingDoesNotChangeTheResult() throws {
        let enc = try encoder()
        let texts = Self.golden.cases.map(\.text).prefix(20).map { $0 }
        let batched = enc.embed(texts, batchSize: 32)
        let single = texts.map { enc.embed([$0], batchSize: 1)[0] }
        for (a, b) in zip(batched, single) {
            for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-6) }
        }
        XCTAssertEqual(enc.embed([]).count, 0)
    }
}
