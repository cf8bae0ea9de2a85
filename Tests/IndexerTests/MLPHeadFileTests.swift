import Foundation
import Inference
import XCTest
@testable import Learning

/// Saving and loading an MLP head as safetensors.
final class MLPHeadFileTests: XCTestCase {
    func trainedHead() throws -> MLPHead {
        let train = PlantedData(count: 64, inputs: 6, outputs: 8, words: 5, seed: 41)
        let config = MLPConfig(hidden: [12, 10], outputs: 8, learningRate: 1e-3, batchSize: 16, maxEpochs: 3, mlcWeight: 0.1, seed: 42)
        return try MLPTrainer.train(try train.examples(64), validation: try train.examples(64), vocabularySize: 5, config: config).head
    }

    func testASavedHeadLoadsBackAndPredictsTheSame() throws {
        let head = try trainedHead()
        let entries = head.entries(prefix: "head.")
        XCTAssertEqual(entries.map(\.name), [
            "head.blocks.0.linear.weight", "head.blocks.0.linear.bias", "head.blocks.0.norm.weight", "head.blocks.0.norm.bias",
            "head.blocks.0.norm.running_mean", "head.blocks.0.norm.running_var",
            "head.blocks.1.linear.weight", "head.blocks.1.linear.bias", "head.blocks.1.norm.weight", "head.blocks.1.norm.bias",
            "head.blocks.1.norm.running_mean", "head.blocks.1.norm.running_var",
            "head.output.weight", "head.output.bias", "head.mlc.weight", "head.mlc.bias",
        ])
        XCTAssertEqual(entries[0].shape, [12, 6])
        XCTAssertEqual(entries[14].shape, [5, 8])
        let dir = TemporaryDirectory()
        let path = dir.write("head.safetensors", SafeTensorsWriter.encode(entries, metadata: ["format": "revsd-mlp"]))
        let loaded = try MLPHead(file: SafeTensorsFile(path: path), prefix: "head.", inputs: 6, outputs: 8)
        XCTAssertEqual(loaded, head)
        let x = PlantedData(count: 7, inputs: 6, outputs: 8, seed: 43).x
        XCTAssertEqual(loaded.predict(x, rows: 7), head.predict(x, rows: 7))
        XCTAssertEqual(loaded.keywordScores(x, rows: 7), head.keywordScores(x, rows: 7))
        XCTAssertEqual(loaded.hidden, [12, 10])
        XCTAssertEqual(loaded.keywords, 5)
    }

    func testAWrongShapeIsRefusedNamingTheTensor() throws {
        let head = try trainedHead()
        let dir = TemporaryDirectory()
        func load(_ entries: [SafeTensorsWriter.Entry], inputs: Int? = nil) throws -> MLPHead {
            try MLPHead(file: SafeTensorsFile(path: dir.write("h.safetensors", SafeTensorsWriter.encode(entries))), prefix: "head.", inputs: inputs)
        }
        func replacing(_ name: String, shape: [Int]) -> [SafeTensorsWriter.Entry] {
            head.entries(prefix: "head.").map {
                $0.name == name ? SafeTensorsWriter.Entry(name: name, shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *))) : $0
            }
        }
        XCTAssertThrowsError(try load(replacing("head.blocks.1.norm.bias", shape: [11]))) { error in
            guard case let .shapeMismatch(_, name, expected, actual) = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "head.blocks.1.norm.bias")
            XCTAssertEqual(expected, [10])
            XCTAssertEqual(actual, [11])
            XCTAssert("\(error)".contains("'head.blocks.1.norm.bias' has shape [11], expected [10]"), "\(error)")
        }
        XCTAssertThrowsError(try load(replacing("head.blocks.1.linear.weight", shape: [10, 13]))) {
            XCTAssertEqual(($0 as? ModelError).map { if case let .shapeMismatch(_, n, e, a) = $0 { return "\(n) \(e) \(a)" }; return "\($0)" },
                           "head.blocks.1.linear.weight [10, 12] [10, 13]")
        }
        XCTAssertThrowsError(try load(replacing("head.mlc.weight", shape: [5, 9]))) {
            XCTAssert("\($0)".contains("'head.mlc.weight' has shape [5, 9], expected [5, 8]"), "\($0)")
        }
        XCTAssertThrowsError(try load(head.entries(prefix: "head."), inputs: 7)) {
            XCTAssert("\($0)".contains("'head.blocks.0.linear.weight' has shape [12, 6], expected [12, 7]"), "\($0)")
        }
        XCTAssertThrowsError(try load(head.entries(prefix: "head.").filter { $0.name != "head.output.bias" })) {
            XCTAssertEqual(($0 as? ModelError).map { if case let .missingTensor(_, n) = $0 { return n }; return "\($0)" }, "head.output.bias")
        }
        XCTAssertThrowsError(try load(replacing("head.output.weight", shape: [80]))) {
            XCTAssert("\($0)".contains("'head.output.weight' has shape [80]"), "\($0)")
        }
    }
}
