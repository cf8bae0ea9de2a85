import Foundation
import SyntheticImages
import XCTest
import RevsdProtocol
@testable import Analysis
@testable import Daemon
@testable import Models
@testable import Store

/// The learnable end-to-end test: revsd's own generator draws images whose
/// prompts say what is drawn; the real revsdd indexes the labelled ones,
/// trains through `revsdctl train`, and `revsdctl eval` scores held-out
/// copies stripped of their metadata. Needs the installed models.
final class LearningEndToEndTests: XCTestCase {
    /// The margin by which the trained ensemble must beat the zero-shot
    /// prediction (mean cosine with the true prompts' MiniLM embeddings).
    static let margin = 0.15

    func testTheDaemonLearnsFromLabelledImagesAndBeatsZeroShotOnStrippedOnes() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let labelled = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 300, seed: 7, metadata: true)
        // Held-out scenes from another seed, written without any metadata; their prompts in prompts.tsv.
        let heldOut = h.dir.url.appendingPathComponent("held-out")
        let stripped = try SyntheticLibrary.writeLibrary(to: heldOut, count: 60, seed: 8, metadata: false)
        try SyntheticLibrary.writePromptsTSV(stripped, to: heldOut.appendingPathComponent("prompts.tsv"))
        try h.start(config: "[learning]\nretrain_after = 0\n")
        try h.waitForIndex(labelled.count)
        XCTAssertEqual(try h.status()["with_prompt"] as? Int, labelled.count, "every generated file carries its prompt")

        let train = try runProduct("revsdctl", ["train", "--socket", h.socket, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let learning = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(learning["state"] as? String, "idle")
        XCTAssert(learning["last_error"] is NSNull, "\(learning)")
        XCTAssertEqual(learning["examples"] as? Int, labelled.count)
        // Scored on the same validation images, zero-shot loses: the heads are adopted.
        XCTAssertEqual(learning["adopted"] as? Bool, true, "\(learning)")
        XCTAssertLessThan(learning["zero_shot_mean_cosine"] as? Double ?? 1, learning["validation_mean_cosine"] as? Double ?? 0)

        let run = try runProduct("revsdctl", ["eval", "--socket", h.socket, "--json", "--captions", heldOut.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let eval = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
        print("eval on \(stripped.count) held-out stripped images:\n" + run.stdout)
        XCTAssertEqual(eval["images"] as? Int, stripped.count)
        XCTAssertEqual(eval["retrained_excluding"] as? Int, 0, "held-out images were never in the library")
        XCTAssertEqual(eval["retrained_excluding_near_duplicates"] as? Int, 0, "no held-out scene is a library picture saved again")
        let ensemble = (eval["ensemble"] as? [String: Any])?["mean_cosine"] as? Double ?? 0
        let constant = (eval["constant"] as? [String: Any])?["mean_cosine"] as? Double ?? 1
        let zeroShot = (eval["zero_shot"] as? [String: Any])?["mean_cosine"] as? Double ?? 1
        XCTAssertGreaterThan(ensemble, zeroShot + Self.margin, "ensemble \(ensemble) vs zero-shot \(zeroShot)")
        XCTAssertGreaterThan(ensemble, constant, "ensemble \(ensemble) vs constant \(constant)")
        let rows = eval["rows"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(rows.compactMap { $0["technique"] as? String }), ["vanilla", "+MLC", "+MLC+CL", "k-NN", "+DAKL"])
        for row in rows {
            XCTAssertGreaterThan(row["mean_cosine"] as? Double ?? 0, constant, "\(row) beats the constant baseline")
            XCTAssertGreaterThan(row["mean_cosine"] as? Double ?? 0, zeroShot, "\(row) beats zero-shot")
        }
        // 1-NN captions name the drawn object for most held-out images.
        let captions = eval["captions"] as? [[String: Any]] ?? []
        let byName = Dictionary(uniqueKeysWithValues: stripped.map { (heldOut.appendingPathComponent($0.file).path, $0.scene) })
        let named = captions.filter { c in
            guard let caption = c["caption"] as? String, let scene = byName[c["name"] as? String ?? ""] else { return false }
            return caption.contains(scene.shape.noun(plural: false)) || caption.contains(scene.shape.noun(plural: true))
        }
        XCTAssertGreaterThan(Double(named.count), 0.6 * Double(stripped.count), "\(named.count) of \(stripped.count) captions name the object")

        // caption through the daemon: the learned prediction, 3 candidates, keywords.
        let one = heldOut.appendingPathComponent(stripped[0].file).path
        let cap = try runProduct("revsdctl", ["caption", "--socket", h.socket, "--json", one])
        let c = try JSONSerialization.jsonObject(with: Data(cap.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(c["prediction"] as? String, "learned")
        XCTAssertEqual((c["candidates"] as? [Any])?.count, 3)
        // The caption's confidence: its cosine to the prediction times the validation cosine.
        let firstCosine = try XCTUnwrap(((c["candidates"] as? [[String: Any]])?.first?["cosine"] as? Double))
        let confidence = try XCTUnwrap(c["confidence"] as? Double, "\(c)")
        XCTAssertLessThanOrEqual(confidence, firstCosine + 1e-6)
        XCTAssertGreaterThan(confidence, 0)
        XCTAssertEqual(c["tags"] as? String, (c["keywords"] as? [String])?.joined(separator: ", "))
        if let z = c["zero_shot_caption"] as? String { XCTAssertNotEqual(z, c["caption"] as? String) }
        XCTAssertFalse((c["keywords"] as? [String] ?? []).isEmpty)

        // Alignment and tiers: every labelled image has both; --tier hard lists only hard ones, least aligned first.
        let hard = try runProduct("revsdctl", ["search", "--socket", h.socket, "--json", "--tier", "hard", "-k", "1000"])
        let results = (try JSONSerialization.jsonObject(with: Data(hard.stdout.utf8)) as? [String: Any])?["results"] as? [[String: Any]] ?? []
        XCTAssertFalse(results.isEmpty)
        XCTAssert(results.allSatisfy { $0["tier"] as? String == "hard" })
        let scores = results.compactMap { $0["alignment"] as? Double }
        XCTAssertEqual(scores, scores.sorted())
        let low = try runProduct("revsdctl", ["search", "--socket", h.socket, "--json", "--max-alignment", "0.5", "a red circle"])
        XCTAssertEqual(low.status, 0, low.stderr)

        // The heads survive a restart, and search answers with learned predictions.
        h.kill(SIGTERM)
        try h.start(config: "[learning]\nretrain_after = 0\n")
        let after = try h.status()["learning"] as? [String: Any] ?? [:]
        XCTAssertEqual(after["examples"] as? Int, labelled.count, "the learned model was loaded again")
    }
}

/// Issue #12: heads that do not beat the zero-shot prediction on validation
/// are not adopted, and the images a previous model predicted get their
/// zero-shot predictions back. `adoption_margin = 2` makes any model lose.
final class LearningAdoptionEndToEndTests: XCTestCase {
    func testAModelThatLosesToZeroShotLeavesTheZeroShotPredictions() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let labelled = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 60, seed: 5, metadata: true)
        let stripped = h.dir.url.appendingPathComponent("stripped")
        let unlabelled = try SyntheticLibrary.writeLibrary(to: stripped, count: 1, seed: 6, metadata: false)
        let config = "[learning]\nretrain_after = 0\nmax_epochs = 5\n"
        try h.start(config: config)
        try h.waitForIndex(labelled.count)
        // The stored captions, as the gallery lists them.
        func captions() throws -> [String] { try h.call(ImagesRequest(limit: 500)).images.compactMap(\.caption) }
        XCTAssert(try captions().allSatisfy { $0.hasPrefix("a picture of") }, "zero-shot captions before training")

        // First the default margin: the synthetic library is learnable, the heads are adopted.
        let first = try runProduct("revsdctl", ["train", "--socket", h.socket, "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let adopted = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(adopted["adopted"] as? Bool, true, "\(adopted)")
        XCTAssertFalse(try captions().contains { $0.hasPrefix("a picture of") }, "learned 1-NN captions")
        // `image` gives the zero-shot caption beside a learned one of low
        // confidence, as `caption` does, though the index keeps only the learned one.
        let constant = try XCTUnwrap(adopted["constant_mean_cosine"] as? Double)
        for card in try h.call(ImagesRequest(limit: 500)).images {
            let a = try h.call(ImageRequest(imageID: card.imageID)).analysis
            XCTAssertEqual(a.prediction, .learned)
            if ControlHandler.alsoShowsZeroShot(confidence: a.confidence, constantCosine: constant) {
                XCTAssert(a.zeroShotCaption?.hasPrefix("a picture of") == true, "\(a)")
            } else {
                XCTAssertNil(a.zeroShotCaption)
            }
        }

        // Then a margin no model meets: not adopted, not a failure, zero-shot predictions back.
        h.kill(SIGTERM)
        try h.start(config: config + "adoption_margin = 2\n")
        let second = try runProduct("revsdctl", ["train", "--socket", h.socket])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssert(second.stdout.contains("kept the zero-shot predictions: the learned model ("), second.stdout)
        let learning = try h.status()["learning"] as? [String: Any] ?? [:]
        XCTAssertEqual(learning["adopted"] as? Bool, false, "\(learning)")
        XCTAssert(learning["last_error"] is NSNull, "\(learning)")
        let reason = try XCTUnwrap(learning["not_adopted_reason"] as? String)
        let zeroShot = try XCTUnwrap(learning["zero_shot_mean_cosine"] as? Double)
        XCTAssert(reason.hasPrefix("kept the zero-shot predictions: the learned model ("), reason)
        XCTAssertGreaterThan(zeroShot, 0)
        let back = try captions()
        XCTAssertEqual(back.count, labelled.count)
        XCTAssert(back.allSatisfy { $0.hasPrefix("a picture of") }, "zero-shot captions again: \(back.prefix(3))")
        let cap = try runProduct("revsdctl", ["caption", "--socket", h.socket, "--json", stripped.appendingPathComponent(unlabelled[0].file).path])
        let c = try JSONSerialization.jsonObject(with: Data(cap.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(c["prediction"] as? String, "zero-shot", "\(c)")
        XCTAssert((c["caption"] as? String ?? "").hasPrefix("a picture of"), "\(c)")

        // Loaded again after a restart, the model stays out.
        h.kill(SIGTERM)
        try h.start(config: config + "adoption_margin = 2\n")
        XCTAssertEqual((try h.status()["learning"] as? [String: Any])?["adopted"] as? Bool, false)
        XCTAssert(try captions().allSatisfy { $0.hasPrefix("a picture of") })
    }
}

/// eval with a CLIP model in the ensemble: RefCLIPScore of the captions, and
/// evaluated images that the library holds are left out of training.
final class LearningEvalCLIPTests: XCTestCase {
    func testEvalReportsRefCLIPScoreAndNeverScoresWhatItTrainedOn() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let labelled = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 100, seed: 21, metadata: true)
        let evalDir = h.dir.url.appendingPathComponent("eval")
        let fresh = try SyntheticLibrary.writeLibrary(to: evalDir, count: 16, seed: 22, metadata: true)
        // Four files the library also holds (same bytes, other names).
        for e in labelled.prefix(4) {
            try FileManager.default.copyItem(atPath: h.watch + "/" + e.file, toPath: evalDir.appendingPathComponent("seen-" + e.file).path)
        }
        let clip = CLIPGoldenTests.folder("clip-tiny-b32").path
        try h.start(config: "[models]\nclip = [\"\(clip)\"]\n[learning]\nretrain_after = 0\n")
        try h.waitForIndex(labelled.count)
        let train = try runProduct("revsdctl", ["train", "--socket", h.socket, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let learning = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssert((learning["members"] as? [String] ?? []).contains("clip:clip-tiny-b32/ridge"), "\(learning)")

        let run = try runProduct("revsdctl", ["eval", "--socket", h.socket, "--json", "--captions", evalDir.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let eval = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(eval["images"] as? Int, fresh.count + 4)
        XCTAssertEqual(eval["retrained_excluding"] as? Int, 4, "the four seen files were left out of a fresh training run")
        let rows = eval["rows"] as? [[String: Any]] ?? []
        XCTAssert(rows.contains { $0["encoder"] as? String == "clip:clip-tiny-b32" })
        // RefCLIPScore recomputed here from the same CLIP folder and captions.
        let r = eval["refclipscore"] as? [String: Double] ?? [:]
        let encoder = try CLIPEncoder(folder: URL(fileURLWithPath: clip))
        let scorer = RefCLIPScorer(clip: encoder)
        let captions = eval["captions"] as? [[String: Any]] ?? []
        XCTAssertEqual(captions.count, fresh.count + 4)
        let scores = try captions.map { c in
            try scorer.score(imageEmbedding: encoder.embed(path: c["name"] as! String), caption: c["caption"] as! String,
                             references: [c["prompt"] as! String])
        }
        let expected = RefCLIPScore.mean(scores)
        XCTAssertEqual(r["refclip_s"] ?? -1, Double(expected.refCLIPScore), accuracy: 1e-4)
        XCTAssertEqual(r["clip_s"] ?? -1, Double(expected.clipScore), accuracy: 1e-4)
        XCTAssertEqual(r["reference_s"] ?? -1, Double(expected.referenceScore), accuracy: 1e-4)
        XCTAssertGreaterThan(r["reference_s"] ?? 0, 0)
    }
}

/// Retraining on its own, re-predicting every image, and prompt import.
final class LearningAutoRetrainTests: XCTestCase {
    func testTheDaemonRetrainsOnItsOwnAndImportsPrompts() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let labelled = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 40, seed: 31, metadata: true)
        let unlabelled = URL(fileURLWithPath: h.watch).appendingPathComponent("stripped")
        try SyntheticLibrary.writeLibrary(to: unlabelled, count: 6, seed: 32, metadata: false)
        try h.start(config: "[learning]\nretrain_after = 40\n")
        try h.waitForIndex(labelled.count + 6)
        try waitUntil(timeout: 300, "a training run started and ended on its own") {
            let l = (try? h.status())?["learning"] as? [String: Any] ?? [:]
            return l["examples"] as? Int == labelled.count && l["state"] as? String == "idle"
        }
        let human = try runProduct("revsdctl", ["status", "--once", "--socket", h.socket])
        XCTAssert(human.stdout.contains("trained     on \(labelled.count) labelled images, validation mean cosine"), human.stdout)
        // Every image was predicted again: captions are now prompts of the library (1-NN), not zero-shot class names.
        let store = try IndexStore(path: h.state + "/index.sqlite")
        let prompts = Set(labelled.map(\.prompt))
        let captions = try store.images(ids: Array(1...Int64(labelled.count + 6))).values.map { $0.caption ?? "" }
        XCTAssertEqual(captions.count, labelled.count + 6)
        XCTAssert(captions.allSatisfy(prompts.contains), "\(captions.filter { !prompts.contains($0) })")

        // Prompt import through the daemon: new prompts join the bank once.
        let corpus = h.dir.write("corpus.txt", "a tiny blue horse\na red castle at night\n\na tiny blue horse\n")
        let first = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, "--json", corpus])
        XCTAssertEqual(first.status, 0, first.stderr)
        let a = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Int] ?? [:]
        XCTAssertEqual(a["read"], 2)
        XCTAssertEqual(a["added"], 2)
        XCTAssertEqual(a["prompt_bank"], prompts.count + 2)
        let again = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, "--json", corpus])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Int])?["added"], 0)
        let bad = try runProduct("revsdctl", ["prompts", "import", "--socket", h.socket, h.dir.write("broken.jsonl", "{\"prompt\": 1}\n")])
        XCTAssertEqual(bad.status, 1)
        XCTAssert(bad.stderr.contains("broken.jsonl:1:"), bad.stderr)

        // A re-prediction cut short by a stop is finished at the next start.
        let stamp = try XCTUnwrap(try store.trainingState(.predictedWithModel))
        h.kill(SIGTERM)
        try store.setTrainingState(.predictedWithModel, "interrupted")
        try h.start(config: "[learning]\nretrain_after = 0\n")
        try waitUntil(timeout: 120, "the interrupted re-prediction finished") {
            (try? store.trainingState(.predictedWithModel)) == stamp
        }
    }
}
