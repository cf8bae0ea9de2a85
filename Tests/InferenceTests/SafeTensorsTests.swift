import Foundation
import XCTest
@testable import Inference

final class SafeTensorsTests: XCTestCase {
    let dir = TemporaryDirectory()

    func testReadsF32ZeroCopyAndConvertsF16AndBF16() throws {
        let f16: [UInt8] = [Float16(1.5), Float16(-2), Float16(0.25)].flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let bf16: [UInt8] = [Float(3.0), Float(-0.5)].flatMap { v in withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { Array($0) } }
        let path = dir.write("ok.safetensors", SafeTensorsWriter.file([
            SafeTensorsWriter.f32("a.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
            .init(name: "h", dtype: "F16", shape: [3], bytes: f16),
            .init(name: "b", dtype: "BF16", shape: [2], bytes: bf16),
            .init(name: "ids", dtype: "I64", shape: [1], bytes: [7, 0, 0, 0, 0, 0, 0, 0]),
        ], metadata: ["format": "pt"]))
        let st = try SafeTensorsFile(path: path)
        XCTAssertEqual(st.metadata, ["format": "pt"])
        XCTAssertEqual(st.tensors.count, 4)
        let a = try st.floatTensor("a.weight", shape: [2, 3])
        XCTAssertEqual(a.toArray(), [1, 2, 3, 4, 5, 6])
        // Zero-copy: the view points into the mapping.
        let base = UInt(bitPattern: st.file.base), p = UInt(bitPattern: a.pointer)
        XCTAssert(p >= base && p < base + UInt(st.file.count))
        XCTAssertEqual(try st.floatTensor("h").toArray(), [1.5, -2, 0.25])
        XCTAssertEqual(try st.floatTensor("b").toArray(), [3, -0.5])
        XCTAssertThrowsError(try st.floatTensor("ids")) { XCTAssertEqual("\($0)", "\(path): tensor 'ids' has dtype I64; only F32, F16 and BF16 are supported") }
        XCTAssertThrowsError(try st.floatTensor("a.weight", shape: [3, 2])) {
            XCTAssertEqual($0 as? ModelError, .shapeMismatch(path: path, name: "a.weight", expected: [3, 2], actual: [2, 3]))
            XCTAssertEqual("\($0)", "\(path): tensor 'a.weight' has shape [2, 3], expected [3, 2]")
        }
        XCTAssertThrowsError(try st.floatTensor("nope")) { XCTAssertEqual("\($0)", "\(path): tensor 'nope' is missing") }
    }

    /// Each broken file gives one error that names the file and the problem.
    func testBrokenFilesAreRefusedWithAClearReason() throws {
        let good = SafeTensorsWriter.file([SafeTensorsWriter.f32("w", [2, 2], [1, 2, 3, 4]), SafeTensorsWriter.f32("b", [2], [5, 6])])
        var cases: [(String, Data, String)] = [
            ("empty", Data(), "file is empty"),
            ("short", Data([1, 2, 3]), "shorter than the 8-byte header length"),
            ("truncated", good.prefix(good.count - 3), "truncated?"),
            ("header-past-end", Data([0xff, 0xff, 0, 0, 0, 0, 0, 0]) + Data("{}".utf8), "runs past the end of the file"),
            ("huge-header", Data([0, 0, 0, 0, 0, 0, 0, 1]) + Data(count: 16), "exceeds the 100000000-byte limit"),
            ("garbage", Data([16, 0, 0, 0, 0, 0, 0, 0]) + Data("this is not json".utf8), "header is not valid JSON"),
            ("array", Data([2, 0, 0, 0, 0, 0, 0, 0]) + Data("[]".utf8), "header is not a JSON object"),
        ]
        func edited(_ edit: @escaping (inout [String: Any]) -> Void) -> Data {
            SafeTensorsWriter.file([SafeTensorsWriter.f32("w", [2, 2], [1, 2, 3, 4]), SafeTensorsWriter.f32("b", [2], [5, 6])], editHeader: edit)
        }
        cases.append(("dtype", edited { $0["w"] = ["dtype": "F33", "shape": [2, 2], "data_offsets": [0, 16]] }, "unknown dtype 'F33'"))
        cases.append(("shape", edited { $0["w"] = ["dtype": "F32", "shape": [3, 2], "data_offsets": [0, 16]] }, "has shape [3, 2] of F32 (24 bytes) but data_offsets span 16 bytes"))
        cases.append(("overlap", edited { $0["b"] = ["dtype": "F32", "shape": [2], "data_offsets": [8, 16]]; $0["w"] = ["dtype": "F32", "shape": [4], "data_offsets": [0, 16]] }, "overlaps"))
        cases.append(("gap", edited { $0["w"] = ["dtype": "F32", "shape": [3], "data_offsets": [0, 12]] }, "4 unused bytes before tensor 'b'"))
        cases.append(("past-end", edited { $0["b"] = ["dtype": "F32", "shape": [4], "data_offsets": [16, 32]] }, "ends at byte 32 of a 24-byte data section"))
        cases.append(("negative", edited { $0["b"] = ["dtype": "F32", "shape": [-2], "data_offsets": [16, 24]] }, "invalid dimension"))
        cases.append(("offsets", edited { $0["b"] = ["dtype": "F32", "shape": [2], "data_offsets": [24, 16]] }, "begin after end"))
        cases.append(("overflow", edited { $0["b"] = ["dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [16, 24]] }, "overflows"))
        cases.append(("metadata", edited { $0["__metadata__"] = ["a": 1] }, "__metadata__ value for 'a' is not a string"))
        for (name, data, reason) in cases {
            let path = dir.write("\(name).safetensors", data)
            XCTAssertThrowsError(try SafeTensorsFile(path: path), name) { error in
                let message = "\(error)"
                XCTAssert(message.hasPrefix(path + ": "), "\(name): \(message)")
                XCTAssert(message.contains(reason), "\(name): \(message)")
                XCTAssertFalse(message.contains("\n"), "one line")
            }
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir.path("missing.safetensors"))) {
            XCTAssertEqual("\($0)", "\(dir.path("missing.safetensors")): missing file")
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir.url.path)) { XCTAssert("\($0)".contains("not a regular file")) }
    }

    /// Random corruption of a valid file never crashes the reader.
    func testRandomCorruptionNeverCrashes() throws {
        let good = SafeTensorsWriter.file([SafeTensorsWriter.f32("w", [4, 4], (0..<16).map(Float.init)), SafeTensorsWriter.f32("b", [4], [1, 2, 3, 4])])
        var rng = SplitMix(seed: 11)
        var refused = 0
        for i in 0..<400 {
            var d = good
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(d.count))
                d[at] = UInt8(truncatingIfNeeded: rng.next())
            }
            if i % 5 == 0 { d = d.prefix(Int(rng.next() % UInt64(d.count))) }
            let path = dir.write("fuzz.safetensors", d)
            do {
                let st = try SafeTensorsFile(path: path)
                for name in st.tensors.keys { _ = try? st.floatTensor(name) }
            } catch {
                refused += 1
                XCTAssert("\(error)".hasPrefix(path + ": "))
            }
        }
        XCTAssertGreaterThan(refused, 50)
    }
}
