import Foundation
import Inference
import XCTest
@testable import Models

/// A wrong or partial CLIP folder is refused with one line that names the
/// file and the problem.
final class CLIPFolderErrorTests: XCTestCase {
    /// A copy of the tiny ViT-B/32-like folder, changed by `edit`, loaded.
    func load(_ edit: (URL) throws -> Void, from fixture: String = "clip-tiny-b32", file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let tmp = TemporaryDirectory()
        let folder = tmp.url.appendingPathComponent(fixture)
        try FileManager.default.copyItem(at: CLIPGoldenTests.folder(fixture), to: folder)
        try edit(folder)
        do {
            _ = try CLIPEncoder(folder: folder)
        } catch {
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            XCTAssert(message.hasPrefix(folder.path), "names the file: \(message)", file: file, line: line)
            return String(message.dropFirst(folder.path.count + 1))
        }
        XCTFail("the folder was accepted", file: file, line: line)
        return ""
    }

    func editJSON(_ url: URL, _ change: (inout [String: Any]) -> Void) throws {
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        change(&obj)
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
    }

    func editConfig(_ section: String?, _ key: String, _ value: Any) -> (URL) throws -> Void {
        { folder in
            try self.editJSON(folder.appendingPathComponent("config.json")) { obj in
                if let section {
                    var sub = obj[section] as! [String: Any]
                    sub[key] = value
                    obj[section] = sub
                } else {
                    obj[key] = value
                }
            }
        }
    }

    func testMissingMergesIsRefused() throws {
        let m = try load { try FileManager.default.removeItem(at: $0.appendingPathComponent("merges.txt")) }
        XCTAssertEqual(m, "merges.txt: missing CLIP tokenizer merge rules (vocab.json and merges.txt are both needed)")
    }

    func testMissingVocabularyIsRefused() throws {
        let m = try load { try FileManager.default.removeItem(at: $0.appendingPathComponent("vocab.json")) }
        XCTAssert(m.hasPrefix("vocab.json: missing"), m)
    }

    func testMissingWeightsAreRefused() throws {
        let m = try load { try FileManager.default.removeItem(at: $0.appendingPathComponent("model.safetensors")) }
        XCTAssertEqual(m, "model.safetensors: missing CLIP weights (only safetensors is read)")
    }

    func testShapesThatDisagreeWithTheConfigAreRefused() throws {
        let m = try load(editConfig("text_config", "intermediate_size", 72))
        XCTAssertEqual(m, "model.safetensors: tensor 'text_model.encoder.layers.0.mlp.fc1.weight' has shape [64, 32], expected [72, 32]")
        let p = try load(editConfig(nil, "projection_dim", 16))
        XCTAssertEqual(p, "model.safetensors: tensor 'visual_projection.weight' has shape [24, 16], expected [16, 16]")
        let n = try load(editConfig("vision_config", "num_hidden_layers", 1))
        XCTAssert(n.contains("more than the 1 layers of vision_model.encoder.layers"), n)
    }

    func testAnUnknownActivationIsRefused() throws {
        let m = try load(editConfig("vision_config", "hidden_act", "swish"))
        XCTAssertEqual(m, "config.json: invalid configuration: vision_config: hidden_act 'swish' is not supported (gelu, quick_gelu)")
    }

    func testAnotherModelTypeIsRefused() throws {
        let m = try load(editConfig(nil, "model_type", "bert"))
        XCTAssertEqual(m, "config.json: invalid configuration: model_type is 'bert'; expected 'clip', 'clip_vision_model' or 'clip_text_model'")
    }

    func testBrokenMergeRulesAreRefused() throws {
        let m = try load { folder in
            let url = folder.appendingPathComponent("merges.txt")
            try (String(contentsOf: url, encoding: .utf8) + "q\u{1F600} z\n").write(to: url, atomically: true, encoding: .utf8)
        }
        XCTAssert(m.hasPrefix("merges.txt: invalid vocabulary: line 668: 'q\u{1F600}' is not in vocab.json"), m)
        let n = try load { folder in
            let url = folder.appendingPathComponent("merges.txt")
            try (String(contentsOf: url, encoding: .utf8) + "onlyone\n").write(to: url, atomically: true, encoding: .utf8)
        }
        XCTAssert(n.hasPrefix("merges.txt: invalid vocabulary: line 668 is not two tokens"), n)
    }

    func testAVocabularyLargerThanTheEmbeddingTableIsRefused() throws {
        let m = try load { folder in
            try self.editJSON(folder.appendingPathComponent("vocab.json")) { $0["extra-token"] = 5000 }
        }
        XCTAssertEqual(m, "vocab.json: invalid vocabulary: token id 5000 but the text model embeds 1180 tokens (vocab_size in config.json)")
    }

    func testUnsupportedPreprocessingIsRefused() throws {
        let m = try load { folder in
            try self.editJSON(folder.appendingPathComponent("preprocessor_config.json")) { $0["resample"] = 2 }
        }
        XCTAssertEqual(m, "preprocessor_config.json: invalid configuration: resample 2 is not supported; only bicubic (3)")
    }

    func testATruncatedCheckpointIsRefused() throws {
        let m = try load { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            let data = try Data(contentsOf: url)
            try data.prefix(data.count - 100).write(to: url)
        }
        XCTAssert(m.hasPrefix("model.safetensors: not a valid safetensors file:"), m)
    }

    func testATextTowerFolderWithoutTokenizerFilesIsRefused() throws {
        let m = try load({ folder in
            try FileManager.default.removeItem(at: folder.appendingPathComponent("merges.txt"))
        }, from: "clip-tiny-b32-text")
        XCTAssert(m.hasPrefix("merges.txt: missing"), m)
    }
}
