import Foundation
import XCTest
@testable import Inference

/// A tiny random BERT, checked against a plain double-precision
/// implementation of the same equations (padded batch with an attention
/// mask, as the reference computes it).
final class BertModelTests: XCTestCase {
    nonisolated(unsafe) static let config: [String: Any] = [
        "model_type": "bert", "vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu",
        "layer_norm_eps": 1e-12, "max_position_embeddings": 16, "type_vocab_size": 2,
    ]

    static func shapes(_ c: [String: Any]) -> [(String, [Int])] {
        let H = c["hidden_size"] as! Int, I = c["intermediate_size"] as! Int
        var s: [(String, [Int])] = [
            ("embeddings.word_embeddings.weight", [c["vocab_size"] as! Int, H]),
            ("embeddings.position_embeddings.weight", [c["max_position_embeddings"] as! Int, H]),
            ("embeddings.token_type_embeddings.weight", [2, H]),
            ("embeddings.LayerNorm.weight", [H]), ("embeddings.LayerNorm.bias", [H]),
        ]
        for l in 0..<(c["num_hidden_layers"] as! Int) {
            let p = "encoder.layer.\(l)."
            for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
                s += [(p + n + ".weight", [H, H]), (p + n + ".bias", [H])]
            }
            s += [(p + "attention.output.LayerNorm.weight", [H]), (p + "attention.output.LayerNorm.bias", [H]),
                  (p + "intermediate.dense.weight", [I, H]), (p + "intermediate.dense.bias", [I]),
                  (p + "output.dense.weight", [H, I]), (p + "output.dense.bias", [H]),
                  (p + "output.LayerNorm.weight", [H]), (p + "output.LayerNorm.bias", [H])]
        }
        return s
    }

    /// Writes a random tiny BERT folder; `mutate` may break it.
    static func folder(_ dir: TemporaryDirectory, seed: UInt64 = 1,
                       config: [String: Any] = config, shapes override: [String: [Int]] = [:],
                       drop: String? = nil) -> (URL, [String: [Float]]) {
        var rng = SplitMix(seed: seed)
        var values: [String: [Float]] = [:]
        var tensors: [SafeTensorsWriter.Tensor] = []
        for (name, shape) in shapes(Self.config) where name != drop {
            let s = override[name] ?? shape
            let n = s.reduce(1, *)
            let v: [Float] = name.hasSuffix("LayerNorm.weight") ? (0..<n).map { _ in 0.8 + 0.4 * rng.nextFloat() }
                                                               : (0..<n).map { _ in (rng.nextFloat() - 0.5) * 0.8 }
            values[name] = v
            tensors.append(SafeTensorsWriter.f32(name, s, v))
        }
        _ = dir.write("model.safetensors", SafeTensorsWriter.file(tensors))
        _ = dir.write("config.json", try! JSONSerialization.data(withJSONObject: config))
        return (dir.url, values)
    }

    /// The reference equations in Double, over a padded batch with a mask.
    static func naive(_ w: [String: [Float]], _ batch: [[Int32]]) -> [[[Double]]] {
        let H = 8, I = 16, heads = 2, d = 4
        let Lmax = batch.map(\.count).max()!
        func vec(_ n: String) -> [Double] { w[n]!.map(Double.init) }
        func linear(_ x: [Double], _ name: String, _ out: Int) -> [Double] {
            let W = vec(name + ".weight"), b = vec(name + ".bias"); let inF = x.count
            var y = b
            for o in 0..<out { for i in 0..<inF { y[o] += x[i] * W[o * inF + i] } }
            return y
        }
        func ln(_ x: [Double], _ name: String, eps: Double = 1e-12) -> [Double] {
            let g = vec(name + ".weight"), b = vec(name + ".bias")
            let m = x.reduce(0, +) / Double(x.count)
            let v = x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count)
            let inv = 1 / (v + eps).squareRoot()
            var y = x
            for i in x.indices { y[i] = (x[i] - m) * inv * g[i] + b[i] }
            return y
        }
        var out: [[[Double]]] = []
        for seq in batch {
            // Pad to Lmax with token 0 and mask the padding keys.
            let ids = seq + [Int32](repeating: 0, count: Lmax - seq.count)
            let mask = (0..<Lmax).map { $0 < seq.count }
            let we = vec("embeddings.word_embeddings.weight"), pe = vec("embeddings.position_embeddings.weight"), te = vec("embeddings.token_type_embeddings.weight")
            var x: [[Double]] = ids.enumerated().map { p, id in
                ln((0..<H).map { we[Int(id) * H + $0] + pe[p * H + $0] + te[$0] }, "embeddings.LayerNorm")
            }
            for l in 0..<2 {
                let p = "encoder.layer.\(l)."
                let q = x.map { linear($0, p + "attention.self.query", H) }
                let k = x.map { linear($0, p + "attention.self.key", H) }
                let v = x.map { linear($0, p + "attention.self.value", H) }
                var ctx = [[Double]](repeating: [Double](repeating: 0, count: H), count: Lmax)
                for h in 0..<heads {
                    for i in 0..<Lmax {
                        var s = [Double](repeating: -1e30, count: Lmax)
                        for j in 0..<Lmax where mask[j] {
                            var dot = 0.0
                            for e in 0..<d { dot += q[i][h * d + e] * k[j][h * d + e] }
                            s[j] = dot / Double(d).squareRoot()
                        }
                        let m = s.max()!; s = s.map { Foundation.exp($0 - m) }; let z = s.reduce(0, +)
                        for j in 0..<Lmax { for e in 0..<d { ctx[i][h * d + e] += s[j] / z * v[j][h * d + e] } }
                    }
                }
                let a = (0..<Lmax).map { i in ln(zip(linear(ctx[i], p + "attention.output.dense", H), x[i]).map(+), p + "attention.output.LayerNorm") }
                x = a.map { ai in
                    let inter = linear(ai, p + "intermediate.dense", I).map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
                    return ln(zip(linear(inter, p + "output.dense", H), ai).map(+), p + "output.LayerNorm")
                }
            }
            out.append(Array(x[0..<seq.count]))
        }
        return out
    }

    func testPackedForwardMatchesThePaddedReference() throws {
        let dir = TemporaryDirectory()
        let (url, w) = Self.folder(dir)
        // fp32: the reference equations' precision (bfloat16 is checked against fp32 in BFloat16MatMulTests).
        let model = try BertModel(folder: url, precision: .float32)
        let batch: [[Int32]] = [[2, 5, 7, 9, 3], [2, 11, 3], [2, 4, 4, 4, 4, 4, 4, 19, 3], [2, 3]]
        let ws = TransformerWorkspace(config: model.config.transformer)
        model.forward(batch, workspace: ws)
        let ref = Self.naive(w, batch)
        var row = 0, worst = 0.0
        for seq in ref { for tok in seq { for i in 0..<8 { worst = max(worst, abs(Double(ws.x[row * 8 + i]) - tok[i])) }; row += 1 } }
        XCTAssertLessThan(worst, 2e-5, "max |Δ| against the reference equations")
        // One at a time gives the same rows as the packed batch.
        let packed = Array(UnsafeBufferPointer(start: ws.x, count: row * 8))
        var single: [Float] = []
        for seq in batch { model.forward([seq], workspace: ws); single += UnsafeBufferPointer(start: ws.x, count: seq.count * 8) }
        XCTAssertEqual(packed.count, single.count)
        for (a, b) in zip(packed, single) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testBrokenFoldersAreRefusedWithOneClearLine() {
        let dir = TemporaryDirectory()
        _ = Self.folder(dir, shapes: ["encoder.layer.1.intermediate.dense.weight": [16, 9]])
        XCTAssertThrowsError(try BertModel(folder: dir.url)) {
            XCTAssertEqual("\($0)", "\(dir.path("model.safetensors")): tensor 'encoder.layer.1.intermediate.dense.weight' has shape [16, 9], expected [16, 8]")
        }
        let dir2 = TemporaryDirectory()
        _ = Self.folder(dir2, drop: "encoder.layer.0.attention.self.key.bias")
        XCTAssertThrowsError(try BertModel(folder: dir2.url)) {
            XCTAssertEqual("\($0)", "\(dir2.path("model.safetensors")): tensor 'encoder.layer.0.attention.self.key.bias' is missing")
        }
        let dir3 = TemporaryDirectory()
        var c = Self.config; c["num_attention_heads"] = 3
        _ = Self.folder(dir3, config: c)
        XCTAssertThrowsError(try BertModel(folder: dir3.url)) {
            XCTAssertEqual("\($0)", "\(dir3.path("config.json")): invalid configuration: hidden_size 8 is not divisible by num_attention_heads 3")
        }
        var c2 = Self.config; c2["hidden_act"] = "swish"
        _ = Self.folder(dir3, config: c2)
        XCTAssertThrowsError(try BertModel(folder: dir3.url)) { XCTAssert("\($0)".contains("hidden_act 'swish' is not supported")) }
        let empty = TemporaryDirectory()
        XCTAssertThrowsError(try BertModel(folder: empty.url)) { XCTAssertEqual("\($0)", "\(empty.path("config.json")): missing model configuration") }
        _ = empty.write("config.json", try! JSONSerialization.data(withJSONObject: Self.config))
        XCTAssertThrowsError(try BertModel(folder: empty.url)) { XCTAssertEqual("\($0)", "\(empty.path("model.safetensors")): missing model weights (only safetensors is read)") }
        _ = empty.write("model.safetensors", Data("garbage garbage garbage".utf8))
        XCTAssertThrowsError(try BertModel(folder: empty.url)) { XCTAssert("\($0)".hasPrefix("\(empty.path("model.safetensors")): not a valid safetensors file: header length")) }
    }
}
