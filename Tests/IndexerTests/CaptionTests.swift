import Foundation
import Inference
import XCTest
@testable import Analysis
@testable import Daemon
@testable import Learning
@testable import Models

/// `revsdctl caption` and the zero-shot prediction behind it.
final class CaptionTests: XCTestCase {
    let dir = TemporaryDirectory()
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images")

    func parseLines(_ out: String) throws -> [[String: Any]] {
        try out.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// The JSON contract: one object per file, in order, every key present;
    /// a bad file gets `error` and the exit status is 1 at the end.
    func testJSONContractAndErrorsPerFile() throws {
        _ = try installedPromptEncoderFolder()
        let good = Self.images.appendingPathComponent("tall-180x260.jpg").path
        let broken = dir.write("broken.png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0]))
        let missing = dir.path("missing.webp")
        let r = try runProduct("revsdctl", ["caption", "--local", "--json", "--embedding", good, broken, missing])
        XCTAssertEqual(r.status, 1, "a failed file makes the exit status non-zero")
        let objects = try parseLines(r.stdout)
        guard objects.count == 3 else { return XCTFail("expected 3 objects, got \(objects.count): \(r.stderr)") }
        for o in objects {
            XCTAssertEqual(Set(o.keys), ["path", "metadata", "caption", "keywords", "tags", "known_prompt_cosine", "embedding", "error"])
        }
        XCTAssertEqual(objects.map { $0["path"] as? String }, [good, broken, missing])
        let first = objects[0]
        XCTAssert(first["error"] is NSNull)
        XCTAssert(first["metadata"] is NSNull, "our drawn image carries no metadata")
        XCTAssert(first["known_prompt_cosine"] is NSNull)
        XCTAssertFalse((first["caption"] as? String ?? "").isEmpty)
        XCTAssertFalse((first["keywords"] as? [String] ?? []).isEmpty)
        let e = try XCTUnwrap(first["embedding"] as? [Double])
        XCTAssertEqual(e.count, 384)
        XCTAssertEqual(e.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)
        XCTAssert((objects[1]["error"] as? String ?? "").hasPrefix("\(broken): broken PNG"), "\(objects[1]["error"] ?? "")")
        XCTAssertEqual(objects[2]["error"] as? String, "\(missing): cannot read: no such file")
        XCTAssert(objects[2]["caption"] is NSNull)
    }

    func testKnownPromptsAreReportedWithTheirCosine() throws {
        _ = try installedPromptEncoderFolder()
        let (sharedDir, rows) = try MetadataFixtures.expected()
        // A stealth-only file (prompt in the alpha channel's low bits), found through the pixels.
        let stealth = sharedDir.appendingPathComponent("sdparsers__AUTOMATIC1111_automatic1111_stealth.png").path
        let png = sharedDir.appendingPathComponent("dstools__bird1.png").path
        let r = try runProduct("revsdctl", ["caption", "--local", "--json", stealth, png])
        XCTAssertEqual(r.status, 0, r.stderr)
        let objects = try parseLines(r.stdout)
        guard objects.count == 2 else { return XCTFail("expected 2 objects, got \(objects.count): \(r.stderr)") }
        let m0 = try XCTUnwrap(objects[0]["metadata"] as? [String: Any])
        XCTAssertEqual(m0["prompt"] as? String, "a circle")
        let m1 = try XCTUnwrap(objects[1]["metadata"] as? [String: Any])
        XCTAssertEqual(m1["prompt"] as? String, rows.first { $0.file == "dstools__bird1.png" }?.prompt)
        XCTAssertEqual(m1["source"] as? String, "comfyui")
        for key in ["negative_prompt", "steps", "sampler", "cfg_scale", "seed", "width", "height", "model", "model_hash"] {
            XCTAssertNotNil(m1[key], "metadata has \(key) (possibly null)")
        }
        let c = try XCTUnwrap(objects[1]["known_prompt_cosine"] as? Double)
        XCTAssert(c > -1 && c < 1)
        // Human output names the prompt and the caption.
        let text = try runProduct("revsdctl", ["caption", "--local", png])
        XCTAssert(text.stdout.contains("prompt (comfyui): A big blue banana"), text.stdout)
        XCTAssert(text.stdout.contains("caption (zero-shot): a picture of"), text.stdout)
    }

    /// The prediction's arithmetic on a posterior where the answer is known.
    func testZeroShotBlendsTheClassEmbeddingWithThePrior() throws {
        let text = try SentenceEncoder(folder: installedPromptEncoderFolder())
        let store = ModelStore.resolve()
        let lite0 = try EfficientNetLiteEncoder(folder: store.folder(for: EfficientNetLiteVariant.lite0.pinned), variant: .lite0)
        let predictor = try ZeroShotPredictor(promptEncoder: text, imageEncoders: [lite0], cacheDirectory: store.root.appendingPathComponent("cache"))
        var p = [Float](repeating: 0, count: 1000)
        let sorrel = try XCTUnwrap(ImageNetClasses.names.firstIndex(of: "sorrel"))
        p[sorrel] = 1
        let pred = predictor.predict(posterior: p)
        let horse = text.embed(["sorrel"])[0]
        var expected = (0..<384).map { 0.5 * horse[$0] + 0.5 * predictor.prior[$0] }
        let n = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
        expected = expected.map { $0 / n }
        for i in 0..<384 { XCTAssertEqual(pred.embedding[i], expected[i], accuracy: 1e-5) }
        XCTAssertEqual(pred.keywords, ["sorrel"])
        XCTAssertEqual(pred.caption, "a picture of a sorrel")
        XCTAssertEqual(ImageNetClasses.names.count, 1000)
        XCTAssertEqual(ImageNetClasses.names[0], "tench")
    }
}

/// A CLIP folder named in the daemon's configuration joins the ensemble.
final class CLIPEnsembleTests: XCTestCase {
    func testACLIPFolderJoinsTheAnalyzer() throws {
        _ = try installedPromptEncoderFolder()
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/clip-tiny-b32").path
        let analyzer = try ImageAnalyzer(store: ModelStore.resolve(), clipFolders: [tiny])
        XCTAssertEqual(analyzer.clip.count, 1)
        XCTAssertNotNil(analyzer.clip[0].zeroShot, "a folder with both towers predicts zero-shot")
        let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images/scene-320x200.png").path
        let a = analyzer.analyze(path: image, includeEmbedding: true, includeFeatures: true)
        XCTAssertNil(a.error)
        let clipFeatures = try XCTUnwrap(a.features["clip:" + analyzer.clip[0].encoder.name])
        XCTAssertEqual(clipFeatures.count, analyzer.clip[0].encoder.dimension)
        XCTAssertEqual(Set(a.features.keys), Set(EfficientNetLiteVariant.allCases.map(\.id) + ["clip:" + analyzer.clip[0].encoder.name]))
        let e = try XCTUnwrap(a.embedding)
        XCTAssertEqual(e.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)
        // The ensemble prediction differs from the EfficientNet-only one.
        let plain = ImageAnalyzer(promptEncoder: analyzer.promptEncoder, predictor: analyzer.predictor)
        let p = try XCTUnwrap(plain.analyze(path: image, includeEmbedding: true).embedding)
        XCTAssertLessThan(zip(e, p).reduce(0) { $0 + $1.0 * $1.1 }, 0.99999)
    }

    /// Issue #12: the trainer scores, and a run that is not adopted restores,
    /// the zero-shot prediction from the stored features alone (the
    /// EfficientNet classifiers on the pooled features, CLIP on its image
    /// embedding): it must be what `analyze` gave from the pixels.
    func testTheZeroShotPredictionFromStoredFeaturesIsTheOneAnalyzeMade() throws {
        _ = try installedPromptEncoderFolder()
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/clip-tiny-b32").path
        let withCLIP = try ImageAnalyzer(store: ModelStore.resolve(), clipFolders: [tiny])
        let plain = ImageAnalyzer(promptEncoder: withCLIP.promptEncoder, predictor: withCLIP.predictor)
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images")
        let images = ["scene-320x200.png", "cmyk.jpg", "lossy.webp"].map { fixtures.appendingPathComponent($0).path }
        for analyzer in [plain, withCLIP] {
            let analyses = images.map { analyzer.analyze(path: $0, includeEmbedding: true, includeFeatures: true) }
            var features: [String: [Float]] = [:]
            for a in analyses { for (k, v) in a.features { features[k, default: []] += v } }
            let z = try XCTUnwrap(analyzer.zeroShotPredictions(features: features, rows: analyses.count))
            for (a, p) in zip(analyses, z) {
                let e = try XCTUnwrap(a.embedding)
                XCTAssertGreaterThan(zip(e, p.embedding).reduce(0) { $0 + $1.0 * $1.1 }, 0.99999)
                XCTAssertEqual(p.caption, a.caption)
                XCTAssertEqual(p.keywords, a.keywords)
            }
        }
        XCTAssertNil(plain.zeroShotPredictions(features: [:], rows: 1), "without the EfficientNet features there is none")
    }

    /// Issue #12: a learned caption whose confidence is low comes with the
    /// zero-shot description (which was closer to the truth on 8 of 14
    /// held-out images).
    func testTheZeroShotDescriptionIsShownBesideALowConfidenceCaption() {
        XCTAssertTrue(ControlHandler.alsoShowsZeroShot(confidence: 0.30, constantCosine: 0.42))
        XCTAssertFalse(ControlHandler.alsoShowsZeroShot(confidence: 0.55, constantCosine: 0.42))
        XCTAssertTrue(ControlHandler.alsoShowsZeroShot(confidence: nil, constantCosine: 0.42))
        XCTAssertTrue(ControlHandler.alsoShowsZeroShot(confidence: 0.9, constantCosine: nil))
    }

    /// A caption's confidence is its cosine to the prediction times how close
    /// predictions of its origin come: an image the model leaves to zero-shot
    /// (outside its domain) gets zero-shot's score, not the model's, and so
    /// the zero-shot description beside it.
    func testACaptionOfAZeroShotPredictionHasZeroShotsConfidence() throws {
        var report = TrainingReport(trainedAt: Date(timeIntervalSince1970: 0), examples: 500, trainExamples: 400, validationExamples: 100,
                                    rows: [], ensembleCosine: 0.9, constantCosine: 0.42, members: [], weights: [], seconds: [:],
                                    daklGamma: nil, daklCentroids: 0, knnK: 5)
        report.validationPrompts = 60
        report.zeroShotCosine = 0.38
        let caption = PromptBank.Candidate(prompt: "a red cube", cosine: 0.8)
        let learned = try XCTUnwrap(ControlHandler.captionConfidence(caption, report: report, origin: .learned))
        let zeroShot = try XCTUnwrap(ControlHandler.captionConfidence(caption, report: report, origin: .zeroShot))
        XCTAssertEqual(learned, 0.8 * 0.9, accuracy: 1e-6)
        XCTAssertEqual(zeroShot, 0.8 * 0.38, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(ControlHandler.captionConfidence(caption, report: report, origin: nil)), learned, accuracy: 1e-9,
                       "an unknown origin (stored before it was recorded): the model's")
        XCTAssertFalse(ControlHandler.alsoShowsZeroShot(confidence: learned, constantCosine: 0.42))
        XCTAssertTrue(ControlHandler.alsoShowsZeroShot(confidence: zeroShot, constantCosine: 0.42))
    }
}
