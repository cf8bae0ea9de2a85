import Dispatch
import Foundation

/// Rows for the search index as a real library gives them (bench, tests):
/// not uniform on the sphere, where every point is about as far from a
/// query as every other, but prompts clustered around themes, several
/// images per prompt, and noisier predicted rows than known-prompt rows.
///
/// The model, per prompt `j` (its own SplitMix64 seeded from `seed` and `j`,
/// so any range of prompts is generated alone, in parallel, the same way):
/// - themes: the `centres` (unit rows; the bench gives real all-MiniLM-L6-v2
///   embeddings of real prompts, tests `randomCentres`);
/// - the prompt: normalise(centre a + 0.35 · centre b + iso noise of norm 0.3),
///   a and b drawn uniformly — a theme with part of another mixed in, as a
///   wildcard or an extra phrase does;
/// - 4 to 8 images (uniform): near-duplicates of one prompt;
/// - a third of the prompts are carried in the files' metadata: each of
///   their images has a known-prompt row normalise(prompt + noise of norm
///   0.05) (cosine ≈ 0.999 to the prompt: the same text, give or take a
///   wildcard);
/// - every image has a predicted row normalise(prompt + 0.3 · centre c +
///   noise of norm 0.3), c drawn per prompt: the predictor's error is partly
///   shared by the images of one prompt (it sees similar images) and partly
///   its own (cosine ≈ 0.9 to the prompt).
///
/// "Iso noise of norm r": each component uniform with variance r²/d, so its
/// norm is about r.
public struct SyntheticEmbeddings: Sendable {
    public let dimension: Int
    /// (centreCount, dimension), unit rows.
    public let centres: [Float]
    public let seed: UInt64

    public var centreCount: Int { centres.count / dimension }

    public init(centres: [Float], dimension: Int, seed: UInt64) {
        precondition(dimension > 0 && !centres.isEmpty && centres.count % dimension == 0,
                     "centres must be (count, dimension)")
        self.centres = centres; self.dimension = dimension; self.seed = seed
    }

    /// `count` unit rows with the anisotropy measured on all-MiniLM-L6-v2
    /// embeddings of 3,000 real prompts (the bench's centres): a shared mean
    /// direction of norm 0.49 (two prompts are 0.24 apart in cosine on
    /// average) and a variance that falls as 0.093 · (i + 1)^−0.92 over the
    /// axes (the fitted spectrum of those embeddings).
    public static func randomCentres(count: Int, dimension d: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0xC3A5_C85C_97CB_3127))
        var mean = [Float](repeating: 0, count: d)
        for i in 0..<d { mean[i] = Float(rng.uniform(-1...1)) }
        normalise(&mean[...])
        // Uniform on [-h, h] has variance h²/3.
        let h = (0..<d).map { i in Float((3 * 0.093 * pow(Double(i + 1), -0.92)).squareRoot()) }
        var out = [Float](repeating: 0, count: count * d)
        for r in 0..<count {
            for i in 0..<d { out[r * d + i] = 0.49 * mean[i] + Float(rng.uniform(-1...1)) * h[i] }
            normalise(&out[(r * d)..<(r * d + d)])
        }
        return out
    }

    /// One prompt's images: how many, whether they carry the prompt, rows.
    public struct Prompt: Sendable {
        public var images: Int
        public var carried: Bool
    }

    /// The shape of prompt `j` (drawn first from its generator, so it is
    /// known without drawing the rows).
    public func prompt(_ j: Int) -> Prompt {
        var rng = generator(j)
        return Prompt(images: 4 + rng.below(5), carried: rng.below(3) == 0)
    }

    /// A library of about `images` images, generated in parallel: image ids
    /// are 0..<n in prompt order; known-prompt rows for the images that have
    /// them. `predicted` is (n, d), `known` (knownIDs.count, d).
    public struct Rows: Sendable {
        public var ids: [Int64] = []
        public var predicted: [Float] = []
        public var knownIDs: [Int64] = []
        public var known: [Float] = []
    }

    /// Prompts `first..<first+count` with image ids starting at `firstImage`.
    public func rows(prompts: Range<Int>, firstImage: Int64) -> Rows {
        let d = dimension
        let shapes = prompts.map(prompt)
        // Where each prompt's images and known rows start.
        var imageStarts = [Int](repeating: 0, count: shapes.count + 1)
        var knownStarts = [Int](repeating: 0, count: shapes.count + 1)
        for (i, s) in shapes.enumerated() {
            imageStarts[i + 1] = imageStarts[i] + s.images
            knownStarts[i + 1] = knownStarts[i] + (s.carried ? s.images : 0)
        }
        let imageStart = imageStarts, knownStart = knownStarts
        var out = Rows()
        out.ids = (0..<imageStart.last!).map { firstImage + Int64($0) }
        out.predicted = [Float](repeating: 0, count: imageStart.last! * d)
        out.known = [Float](repeating: 0, count: knownStart.last! * d)
        out.knownIDs = [Int64](repeating: 0, count: knownStart.last!)
        let cores = max(1, min(8, shapes.count / 64))
        out.predicted.withUnsafeMutableBufferPointer { pred in
            out.known.withUnsafeMutableBufferPointer { known in
                out.knownIDs.withUnsafeMutableBufferPointer { kids in
                    let p = UncheckedPointers(pred.baseAddress, known.baseAddress, kids.baseAddress)
                    DispatchQueue.concurrentPerform(iterations: cores) { part in
                        let lo = shapes.count * part / cores, hi = shapes.count * (part + 1) / cores
                        var v = [Float](repeating: 0, count: d)
                        for i in lo..<hi {
                            var rng = generator(prompts.lowerBound + i)
                            _ = rng.below(5); _ = rng.below(3)   // the shape, drawn by `prompt(_:)`
                            var prompt = [Float](repeating: 0, count: d)
                            let a = rng.below(centreCount), b = rng.below(centreCount), c = rng.below(centreCount)
                            for t in 0..<d { prompt[t] = centres[a * d + t] + 0.35 * centres[b * d + t] }
                            addNoise(&prompt, norm: 0.3, &rng)
                            Self.normalise(&prompt[...])
                            for m in 0..<shapes[i].images {
                                let image = imageStart[i] + m
                                for t in 0..<d { v[t] = prompt[t] + 0.3 * centres[c * d + t] }
                                addNoise(&v, norm: 0.3, &rng)
                                Self.normalise(&v[...])
                                (p.predicted! + image * d).update(from: v, count: d)
                                if shapes[i].carried {
                                    let row = knownStart[i] + m
                                    for t in 0..<d { v[t] = prompt[t] }
                                    addNoise(&v, norm: 0.05, &rng)
                                    Self.normalise(&v[...])
                                    (p.known! + row * d).update(from: v, count: d)
                                    p.knownIDs![row] = firstImage + Int64(image)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Fresh prompt vectors from the same model (queries "like a prompt of
    /// the library" but not one of its rows), `count` of them.
    public func promptQueries(count: Int) -> [[Float]] {
        let d = dimension
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x5157_4945_5249_4553))
        return (0..<count).map { _ in
            var q = [Float](repeating: 0, count: d)
            let a = rng.below(centreCount), b = rng.below(centreCount)
            for t in 0..<d { q[t] = centres[a * d + t] + 0.35 * centres[b * d + t] }
            addNoise(&q, norm: 0.3, &rng)
            Self.normalise(&q[...])
            return q
        }
    }

    private func generator(_ j: Int) -> SplitMix64 {
        SplitMix64(seed: SplitMix64.mix(seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(j + 1)))
    }

    private func addNoise(_ v: inout [Float], norm: Float, _ rng: inout SplitMix64) {
        // Uniform on [-h, h] has variance h²/3: h = norm · √(3/d).
        let h = norm * (3 / Float(dimension)).squareRoot()
        for t in 0..<v.count { v[t] += h * Float(Int64(bitPattern: rng.next()) >> 11) * 0x1p-52 }
    }

    static func normalise(_ v: inout ArraySlice<Float>) {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if n > 0 { for i in v.indices { v[i] /= n } }
    }
}

/// The output buffers the parallel parts of `rows` write, each part its own
/// disjoint rows.
private struct UncheckedPointers: @unchecked Sendable {
    let predicted: UnsafeMutablePointer<Float>?
    let known: UnsafeMutablePointer<Float>?
    let knownIDs: UnsafeMutablePointer<Int64>?
    init(_ p: UnsafeMutablePointer<Float>?, _ k: UnsafeMutablePointer<Float>?, _ i: UnsafeMutablePointer<Int64>?) {
        predicted = p; known = k; knownIDs = i
    }
}
