import Foundation
import Inference
import SyntheticImages
import Learning
import RevsdSystem
import Synchronization

/// The whole library trainer on synthetic labelled rows of a real shape, for
/// training time per technique and peak memory:
/// topics t (unit 384-d centres), targets = normalize(topic + noise), prompts
/// made of the topic's words, features = relu(targets · M + noise) (n, d).
///   revsd-bench train [--examples 5000] [--inputs 1280] [--max-epochs E]
/// Prints one JSON line: seconds per technique (and per 1,000 examples),
/// validation cosines, peak RSS.
func benchTrain() {
    let n = Int(argument("--examples", args) ?? "5000") ?? 5000
    let d = Int(argument("--inputs", args) ?? "1280") ?? 1280
    let m = 384, topics = 50
    var rng = SeededGenerator(seed: 3)
    func normal() -> Float {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
    var centres = (0..<(topics * m)).map { _ in normal() }
    EnsembleWeights.normalizeRows(&centres, m)
    let map = (0..<(m * d)).map { _ in normal() / Float(m).squareRoot() }   // (m, d)
    // Alphabetic words (the vocabulary keeps letters only): "ba", "bb", … "zzz".
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    var words: [String] = []
    for i in 0..<2000 {
        let a: Character = letters[1 + i % 25], b: Character = letters[(i / 25) % 26], c: Character = letters[(i / 650) % 26]
        words.append(String([a, b, c]))
    }
    var data = TrainingSet()
    data.targets.reserveCapacity(n * m)
    for i in 0..<n {
        let t = Int(rng.next() % UInt64(topics))
        var y = (0..<m).map { centres[t * m + $0] + 0.05 * normal() }
        EnsembleWeights.normalizeRows(&y, m)
        data.targets += y
        data.ids.append(Int64(i + 1))
        data.contentHashes.append(SHA256.hex(string: "\(i)"))
        var prompt: [String] = []
        for k in 0..<8 {
            let w: Int = (t * 7 + k * 13 + Int(rng.next() % 3)) % words.count
            prompt.append(words[w])
        }
        data.prompts.append(prompt.joined(separator: " "))
    }
    var x = [Float](repeating: 0, count: n * d)
    data.targets.withUnsafeBufferPointer { yp in
        map.withUnsafeBufferPointer { mp in
            x.withUnsafeMutableBufferPointer { xp in
                BLAS.gemm(MatrixRef(yp.baseAddress!, rows: n, cols: m), MatrixRef(mp.baseAddress!, rows: m, cols: d),
                          MutableMatrixRef(xp.baseAddress!, rows: n, cols: d))
            }
        }
    }
    for i in 0..<x.count { x[i] = max(0, x[i] + 0.1 * normal()) }
    data.features["synthetic-\(d)"] = x
    x = []
    var options = TrainingOptions()
    options.maxEpochs = argument("--max-epochs", args).flatMap(Int.init)
    let start = clock.now
    do {
        // --trace: each phase as it starts, with the time and the RSS then, on stderr.
        let trace = args.contains("--trace")
        let seen = Mutex<String>("")
        let result = try LibraryTrainer(options: options).train(data) { phase, _ in
            if trace, seen.withLock({ last in defer { last = phase }; return last != phase }) {
                FileHandle.standardError.write("\(String(format: "%.1f", elapsedSeconds(since: start))) s  \(phase)  RSS \(String(format: "%.0f", residentMiB())) MiB\n".data(using: .utf8)!)
            }
            return true
        }
        let total = elapsedSeconds(since: start)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let r = result.model.report
        var perK: [String: Double] = [:]
        for (k, v) in r.seconds { perK[k] = v / (Double(n) / 1000) }
        let o: [String: Any] = [
            "examples": n, "inputs": d, "max_epochs": options.maxEpochs as Any? ?? NSNull(), "seconds": total,
            "seconds_by_technique": r.seconds, "seconds_per_1000_examples": perK,
            "validation_ensemble_cosine": Double(r.ensembleCosine), "validation_constant_cosine": Double(r.constantCosine),
            "rows": r.rows.map { ["encoder": $0.encoder, "head": $0.head.rawValue, "technique": $0.technique.rawValue, "mean_cosine": Double($0.meanCosine)] },
            "peak_rss_mib": Double(usage.ru_maxrss) / 1024, "dakl_centroids": r.daklCentroids, "threads": Parallel.cores,
        ]
        let json = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    } catch { die("\(error)") }
}

/// Writes a generated library: `revsd-bench synth --out DIR --count N --seed S [--stripped]`
/// (`--stripped`: no metadata, and a prompts.tsv beside the images).
func benchSynth() {
    guard let out = argument("--out", args) else { die("synth needs --out DIR") }
    let count = Int(argument("--count", args) ?? "100") ?? 100
    let seed = UInt64(argument("--seed", args) ?? "1") ?? 1
    let stripped = args.contains("--stripped")
    // `--size PX` (square), `--variations V`: V images of each prompt, told
    // apart by their seed (other pixels, as seed variations are), count in all.
    let size = Int(argument("--size", args) ?? "256") ?? 256
    let variations = max(1, Int(argument("--variations", args) ?? "1") ?? 1)
    do {
        let dir = URL(fileURLWithPath: out)
        if size == 256, variations == 1 {
            let entries = try SyntheticLibrary.writeLibrary(to: dir, count: count, seed: seed, metadata: !stripped)
            if stripped { try SyntheticLibrary.writePromptsTSV(entries, to: dir.appendingPathComponent("prompts.tsv")) }
            print("{\"written\":\(entries.count)}")
            return
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let prompts = (count + variations - 1) / variations
        var written = 0
        for scene in SyntheticLibrary.scenes(count: prompts, seed: seed) {
            for v in 0..<variations where written < count {
                var s = scene
                s.seed = scene.seed &+ UInt64(v) &* 0x9E37_79B9
                let png = try SyntheticLibrary.png(for: s, width: size, height: size, metadata: !stripped)
                try Data(png).write(to: dir.appendingPathComponent(SyntheticLibrary.fileName(written)))
                written += 1
            }
        }
        print("{\"written\":\(written),\"prompts\":\(prompts)}")
    } catch { die("\(error)") }
}
