#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Inference
import RevsdSystem

/// A learned model on disk: one safetensors file (`heads.safetensors` in the
/// state directory) holding every tensor, with a JSON manifest in its
/// metadata under "revsd.learned". Written to a temporary name, fsynced and
/// renamed, so a reader sees the old file or the new one, never half of one.
extension LearnedModel {
    public static let fileName = "heads.safetensors"
    static let formatVersion = 1

    struct Manifest: Codable {
        var format: Int
        var dimension: Int
        var encoders: [String]
        var vocabulary: [String]
        var techniques: [String: [String]]
        var ensembleTechnique: [String: String]
        var ridgeAlpha: [String: Float]
        var knnK: [String: Int]
        var daklGamma: Float?
        /// Whether "zero-shot" is a base member, after the encoders' heads
        /// (nil: saved before it could be, so not).
        var zeroShotMember: Bool?
        var report: TrainingReport
    }

    public struct StorageError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public func save(to path: String) throws {
        var entries: [SafeTensorsWriter.Entry] = [
            .init(name: "mean_target", shape: [dimension], floats: meanTarget),
            .init(name: "ensemble.base_weights", shape: [baseWeights.count], floats: baseWeights),
            .init(name: "ensemble.weights", shape: [weights.count], floats: weights),
        ]
        for e in encoders {
            guard let h = heads[e] else { continue }
            entries.append(.init(name: "\(e).ridge.weight", shape: [h.ridge.inputs, h.ridge.outputs], floats: h.ridge.weights))
            entries.append(.init(name: "\(e).ridge.bias", shape: [h.ridge.outputs], floats: h.ridge.bias))
            entries.append(.init(name: "\(e).input.mean", shape: [h.inputMean.count], floats: h.inputMean))
            entries.append(.init(name: "\(e).input.inv_std", shape: [h.inputInverseStd.count], floats: h.inputInverseStd))
            entries.append(.init(name: "\(e).knn.features", shape: [h.knn.count, h.knn.dimension], floats: h.knn.storedFeatures))
            entries.append(.init(name: "\(e).knn.targets", shape: [h.knn.count, h.knn.outputs], floats: h.knn.storedTargets))
            for (t, head) in h.mlp.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                entries += head.entries(prefix: "\(e).mlp.\(t.rawValue).")
            }
        }
        if let dakl {
            entries.append(.init(name: "dakl.centroids", shape: [dakl.count, dakl.dimension], floats: dakl.centroids))
            entries.append(.init(name: "dakl.coefficients", shape: [dakl.count, dakl.outputs], floats: dakl.coefficients))
        }
        let manifest = Manifest(
            format: Self.formatVersion, dimension: dimension, encoders: encoders, vocabulary: vocabulary.words,
            techniques: heads.mapValues { $0.mlp.keys.map(\.rawValue).sorted() },
            ensembleTechnique: heads.mapValues(\.ensembleTechnique.rawValue), ridgeAlpha: heads.mapValues(\.ridgeAlpha),
            knnK: heads.mapValues(\.knn.k), daklGamma: dakl?.gamma, zeroShotMember: zeroShotMember, report: report)
        let json = String(decoding: try JSONEncoder().encode(manifest), as: UTF8.self)
        let data = SafeTensorsWriter.encode(entries, metadata: ["revsd.learned": json])
        let dir = (path as NSString).deletingLastPathComponent
        try Syscalls.makeDirectories(dir.isEmpty ? "." : dir)
        try AtomicFile.write(data, to: path)
    }

    /// Loads a saved model; any missing tensor or shape mismatch is refused
    /// with the file and the tensor named.
    public init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        guard let json = file.metadata["revsd.learned"],
              let manifest = try? JSONDecoder().decode(Manifest.self, from: Data(json.utf8)) else {
            throw StorageError(path: path, reason: "not a revsd learned model (no \"revsd.learned\" manifest)")
        }
        guard manifest.format == Self.formatVersion else {
            throw StorageError(path: path, reason: "learned-model format \(manifest.format), this revsd reads \(Self.formatVersion); retrain with `revsdctl train`")
        }
        let dim = manifest.dimension
        func floats(_ name: String, _ shape: [Int]? = nil) throws -> [Float] { try file.floatTensor(name, shape: shape).toArray() }
        func shape(_ name: String) throws -> [Int] {
            guard let t = file.tensors[name] else { throw StorageError(path: path, reason: "tensor \"\(name)\" is missing") }
            return t.shape
        }
        var heads: [String: EncoderHeads] = [:]
        for e in manifest.encoders {
            let ws = try shape("\(e).ridge.weight")
            guard ws.count == 2, ws[1] == dim else { throw StorageError(path: path, reason: "\(e).ridge.weight has shape \(ws), expected (d, \(dim))") }
            let d = ws[0]
            let ridge = RidgeRegressor(weights: try floats("\(e).ridge.weight", [d, dim]), bias: try floats("\(e).ridge.bias", [dim]), inputs: d, outputs: dim)
            let ks = try shape("\(e).knn.features")
            guard ks.count == 2, ks[1] == d, ks[0] > 0 else { throw StorageError(path: path, reason: "\(e).knn.features has shape \(ks), expected (n, \(d))") }
            let knn = KNNRegressor(features: try floats("\(e).knn.features", ks), targets: try floats("\(e).knn.targets", [ks[0], dim]),
                                   count: ks[0], k: manifest.knnK[e] ?? 10)
            var mlp: [Technique: MLPHead] = [:]
            for t in manifest.techniques[e] ?? [] {
                guard let technique = Technique(rawValue: t) else { throw StorageError(path: path, reason: "unknown technique \"\(t)\"") }
                mlp[technique] = try MLPHead(file: file, prefix: "\(e).mlp.\(t).")
            }
            guard let chosen = manifest.ensembleTechnique[e].flatMap(Technique.init(rawValue:)), mlp[chosen] != nil else {
                throw StorageError(path: path, reason: "\(e): the ensemble's MLP head is missing")
            }
            heads[e] = EncoderHeads(ridge: ridge, ridgeAlpha: manifest.ridgeAlpha[e] ?? 10, mlp: mlp, ensembleTechnique: chosen, knn: knn,
                                    inputMean: try floats("\(e).input.mean", [d]), inputInverseStd: try floats("\(e).input.inv_std", [d]))
        }
        var dakl: DomainAdaptiveKernelRidge?
        if let gamma = manifest.daklGamma {
            let cs = try shape("dakl.centroids")
            guard cs.count == 2, cs[1] == dim else { throw StorageError(path: path, reason: "dakl.centroids has shape \(cs), expected (r, \(dim))") }
            dakl = DomainAdaptiveKernelRidge(centroids: try floats("dakl.centroids", cs), coefficients: try floats("dakl.coefficients", [cs[0], dim]),
                                             dimension: dim, outputs: dim, gamma: gamma)
        }
        let zeroShot = manifest.zeroShotMember ?? false
        let base = manifest.encoders.count * 3 + (zeroShot ? 1 : 0)
        self.init(encoders: manifest.encoders, heads: heads, dakl: dakl,
                  baseWeights: try floats("ensemble.base_weights", [base]),
                  weights: try floats("ensemble.weights", [base + (dakl == nil ? 0 : 1)]),
                  vocabulary: PromptVocabulary(words: manifest.vocabulary), meanTarget: try floats("mean_target", [dim]),
                  report: manifest.report, dimension: dim, zeroShotMember: zeroShot)
    }
}
