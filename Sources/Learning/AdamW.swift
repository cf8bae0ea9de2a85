import Foundation
import Inference

/// AdamW as PyTorch's `torch.optim.AdamW` computes it (β₁ 0.9, β₂ 0.999,
/// ε 1e-8, decoupled weight decay p ← p·(1 − lr·wd) before the Adam step),
/// over one flat parameter vector. Weight decay applies to Linear weights
/// only; biases and BatchNorm γ/β are not decayed. The moments are allocated
/// once, with the optimizer.
final class AdamW {
    static let beta1: Float = 0.9
    static let beta2: Float = 0.999
    static let epsilon: Float = 1e-8

    /// A run of parameters updated alike: (offset, count, decays).
    struct Segment: Sendable, Equatable {
        let offset: Int
        let count: Int
        let decays: Bool
    }

    let segments: [Segment]
    let learningRate: Float
    let weightDecay: Float
    let moment1: FloatBuffer   // (parameterCount)
    let moment2: FloatBuffer   // (parameterCount)
    private(set) var steps = 0

    init(layout: MLPLayout, learningRate: Float, weightDecay: Float) {
        segments = layout.slots.filter { $0.kind != .statistic }.map { Segment(offset: $0.offset, count: $0.count, decays: $0.kind == .weight) }
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        moment1 = FloatBuffer(count: layout.parameterCount)
        moment2 = FloatBuffer(count: layout.parameterCount)
    }

    /// One update of `parameters` from `gradients` at learning rate `lr` (the schedule's value for this step).
    func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate lr: Float) {
        steps += 1
        let t = Double(steps)
        let correction1 = Float(1 - Foundation.pow(Double(Self.beta1), t))
        let correction2 = Float(1 - Foundation.pow(Double(Self.beta2), t))
        let stepSize = lr / correction1, invSqrtCorrection2 = 1 / correction2.squareRoot()
        let b1 = Self.beta1, b2 = Self.beta2, eps = Self.epsilon
        let m1 = moment1.pointer, m2 = moment2.pointer
        for segment in segments {
            let shrink: Float = segment.decays ? 1 - lr * weightDecay : 1
            let base = segment.offset
            let groups = segment.count / 8
            // SIMD8 groups in parallel chunks; each element is updated by the same
            // arithmetic whatever the split, so the result is deterministic.
            Parallel.forEachChunk(groups, minChunk: 4096) { range in
                typealias V = SIMD8<Float>
                for i in range {
                    let k = base + i * 8
                    let g = UnsafeRawPointer(gradients + k).loadUnaligned(as: V.self)
                    var m = UnsafeRawPointer(m1 + k).loadUnaligned(as: V.self)
                    var v = UnsafeRawPointer(m2 + k).loadUnaligned(as: V.self)
                    var w = UnsafeRawPointer(parameters + k).loadUnaligned(as: V.self)
                    m = b1 * m + (1 - b1) * g
                    v = b2 * v + (1 - b2) * g * g
                    w = w * shrink - stepSize * m / (v.squareRoot() * invSqrtCorrection2 + eps)
                    UnsafeMutableRawPointer(m1 + k).storeBytes(of: m, as: V.self)
                    UnsafeMutableRawPointer(m2 + k).storeBytes(of: v, as: V.self)
                    UnsafeMutableRawPointer(parameters + k).storeBytes(of: w, as: V.self)
                }
            }
            for k in (base + groups * 8)..<(base + segment.count) {
                let g = gradients[k]
                m1[k] = b1 * m1[k] + (1 - b1) * g
                m2[k] = b2 * m2[k] + (1 - b2) * g * g
                parameters[k] = parameters[k] * shrink - stepSize * m1[k] / (m2[k].squareRoot() * invSqrtCorrection2 + eps)
            }
        }
    }

    /// The cosine-annealed learning rate of step `t` (0-based) of `total`:
    /// lr·½(1 + cos(π·t/total)), stepped per optimizer step down to 0.
    static func cosineRate(_ lr: Float, step t: Int, of total: Int) -> Float {
        guard total > 0 else { return lr }
        let progress = Double(min(t, total)) / Double(total)
        return lr * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}
