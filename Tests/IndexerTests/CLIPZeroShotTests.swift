import Foundation
import Inference
import XCTest
@testable import Analysis
@testable import Imaging

/// Zero-shot prediction with CLIP and RefCLIPScore, on vectors where the
/// answer is known, then end to end on the tiny CLIP model.
final class CLIPZeroShotTests: XCTestCase {
    func unit(_ i: Int, _ d: Int, _ scale: Float = 1) -> [Float] { (0..<d).map { $0 == i ? scale : 0 } }

    /// Four prompts on orthogonal CLIP axes, each with its own MiniLM axis.
    func toy(keywords: [String] = [], keywordEmbeddings: [[Float]] = []) -> CLIPZeroShot {
        let vocab = CLIPPromptVocabulary(prompts: ["a red fox, forest, autumn", "a castle, mountains", "a cat, window, sunlight", "a ship, storm"],
                                         keywords: keywords)
        return CLIPZeroShot(vocabulary: vocab, promptEmbeddings: (0..<4).map { unit($0, 6, 3) },
                            promptMiniLM: (0..<4).map { unit($0, 5) }, keywordEmbeddings: keywordEmbeddings, topPrompts: 3, keywordCount: 2)
    }

    func testTheClosestPromptIsTheCaptionAndItsMiniLMVectorThePrediction() {
        let z = toy()
        var image = unit(2, 6)
        image[4] = 0.3   // off every prompt axis: lowers all cosines alike
        let p = z.predict(imageEmbedding: image)
        XCTAssertEqual(p.caption, "a cat, window, sunlight")
        XCTAssertEqual(p.prompts.map(\.text), ["a cat, window, sunlight", "a red fox, forest, autumn", "a castle, mountains"])
        XCTAssertGreaterThan(p.prompts[0].probability, 0.999)   // logit scale 100
        XCTAssertEqual(p.embedding.count, 5)
        XCTAssertGreaterThan(p.embedding[2], 0.9999)
        // Without a keyword list, the phrases of the best prompts.
        XCTAssertEqual(p.keywords, ["a cat", "window"])
    }

    func testBetweenTwoPromptsThePredictionBlendsTheirMiniLMVectors() {
        let z = toy()
        let image: [Float] = [0, 1, 1, 0, 0, 0]   // as close to the castle as to the cat
        let p = z.predict(imageEmbedding: image)
        XCTAssertEqual(p.prompts[0].probability, p.prompts[1].probability, accuracy: 1e-6)
        XCTAssertEqual(p.caption, "a castle, mountains", "ties go to the earlier prompt")
        let half = Float(0.5).squareRoot()
        XCTAssertEqual(p.embedding[1], half, accuracy: 1e-4)
        XCTAssertEqual(p.embedding[2], half, accuracy: 1e-4)
    }

    func testKeywordsComeFromTheKeywordListWhenThereIsOne() {
        let z = toy(keywords: ["fur", "stone", "water"], keywordEmbeddings: [unit(2, 6), unit(1, 6), unit(3, 6)])
        let cat = z.predict(imageEmbedding: unit(2, 6))
        XCTAssertEqual(cat.keywords, ["fur"], "the second keyword's probability is far below the threshold")
        let both = z.predict(imageEmbedding: [0, 1, 1.001, 0, 0, 0])
        XCTAssertEqual(both.keywords, ["fur", "stone"])
    }

    func testTheVocabularyIsCleanedAndLoadedFromFiles() throws {
        let v = CLIPPromptVocabulary(prompts: [" a ", "a", "", "b\n"], keywords: ["x", " x", "y"])
        XCTAssertEqual(v.prompts, ["a", "b"])
        XCTAssertEqual(v.keywords, ["x", "y"])
        let tmp = TemporaryDirectory()
        let corpus = tmp.write("corpus.tsv", "prompt\tsource\nfirst prompt\tx\nsecond\\nline\ty\n")
        let words = tmp.write("keywords.txt", "oil painting, watercolor\nbokeh\n")
        let loaded = try CLIPPromptVocabulary.load(promptFiles: [corpus], keywordFiles: [words])
        XCTAssertEqual(loaded.prompts, ["first prompt", "second\nline"])
        XCTAssertEqual(loaded.keywords, ["oil painting", "watercolor", "bokeh"])
    }

    /// End to end on the tiny model: the ranking is CLIP's own cosine order.
    func testWithTheTinyModelThePredictionFollowsCLIPsCosines() throws {
        let clip = try CLIPGoldenTests.encoder("clip-tiny-b32")
        let prompts = Array(CLIPGoldenTests.golden.prompts.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.prefix(30))
        let vocab = CLIPPromptVocabulary(prompts: prompts)
        let tmp = TemporaryDirectory()
        var miniLMCalls = 0
        // A stand-in for MiniLM: one axis per prompt.
        let fake: ([String]) -> [[Float]] = { texts in
            miniLMCalls += 1
            return texts.map { t in self.unit(vocab.prompts.firstIndex(of: t)!, vocab.prompts.count) }
        }
        let z = CLIPZeroShot(clip: clip, miniLMKey: "fake", miniLM: fake, vocabulary: vocab, cacheDirectory: tmp.url, topPrompts: 5, keywordCount: 4)
        let image = try ImageDecoder.decode(path: CLIPGoldenTests.root.appendingPathComponent("Fixtures/images/scene-320x200.png").path).image
        let p = z.predict(image: image)
        let e = clip.embed(image: image)
        let cos = clip.embed(texts: vocab.prompts).map { CLIPModel.cosine($0, e) }
        let best = cos.indices.max { cos[$0] < cos[$1] }!
        XCTAssertEqual(p.caption, vocab.prompts[best])
        XCTAssertEqual(p.embedding.indices.max { p.embedding[$0] < p.embedding[$1] }, best)
        XCTAssertEqual(p.keywords.count, 4)
        // The second time, the embeddings come from the cache.
        _ = CLIPZeroShot(clip: clip, miniLMKey: "fake", miniLM: fake, vocabulary: vocab, cacheDirectory: tmp.url, topPrompts: 5, keywordCount: 4)
        XCTAssertEqual(miniLMCalls, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.url.path).filter { $0.hasSuffix(".f32") }.count, 2)
    }

    func testRefCLIPScoreOnKnownVectors() {
        // cos(c, v) = 1 → CLIP-S 2.5; best reference cos = √½.
        let s = RefCLIPScore(image: [1, 0], caption: [2, 0], references: [[0, 1], [1, 1]])
        XCTAssertEqual(s.clipScore, 2.5, accuracy: 1e-6)
        let root: Float = Float(0.5).squareRoot()
        let expected: Float = 2 * 2.5 * root / (2.5 + root)
        XCTAssertEqual(s.referenceScore, root, accuracy: 1e-6)
        XCTAssertEqual(s.refCLIPScore, expected, accuracy: 1e-6)
        // Negative cosines count as 0, and a zero term makes the harmonic mean 0.
        let opposite = RefCLIPScore(image: [-1, 0], caption: [1, 0], references: [[1, 0]])
        XCTAssertEqual(opposite.clipScore, 0)
        XCTAssertEqual(opposite.referenceScore, 1, accuracy: 1e-6)
        XCTAssertEqual(opposite.refCLIPScore, 0)
        XCTAssertEqual(RefCLIPScore(image: [1, 0], caption: [1, 0], references: [[-1, 0]]).refCLIPScore, 0)
        XCTAssertEqual(RefCLIPScore(image: [1, 0], caption: [1, 0], references: []).referenceScore, 0)
        let mean = RefCLIPScore.mean([s, opposite])
        XCTAssertEqual(mean.refCLIPScore, s.refCLIPScore / 2, accuracy: 1e-6)
        XCTAssertEqual(mean.clipScore, 1.25, accuracy: 1e-6)
    }

    func testRefCLIPScoreWithTheTinyModel() throws {
        let scorer = RefCLIPScorer(clip: try CLIPGoldenTests.encoder("clip-tiny-h14"))
        let image = try ImageDecoder.decode(path: CLIPGoldenTests.root.appendingPathComponent("Fixtures/images/tall-180x260.jpg").path).image
        let caption = "a photo of a cat sitting on a windowsill"
        let s = scorer.score(image: image, caption: caption, references: ["a horse", caption])
        XCTAssertEqual(s.referenceScore, 1, accuracy: 1e-5, "the caption is one of the references")
        let cos = CLIPModel.cosine(scorer.clip.embed(image: image), scorer.clip.embed(texts: [caption])[0])
        XCTAssertEqual(s.clipScore, 2.5 * max(cos, 0), accuracy: 1e-5)
        XCTAssertEqual(s.refCLIPScore, s.clipScore == 0 ? 0 : 2 * s.clipScore / (s.clipScore + 1), accuracy: 1e-5)
    }
}
