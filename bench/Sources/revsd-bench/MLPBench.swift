import Foundation
import Inference
import Learning

/// Training time of the MLP head on synthetic data of a real shape:
/// features x ~ N(0, 1) (n, d), targets y = normalize(W·tanh(x)) (n, 384),
/// keywords = the m words whose planted scores V·x are above 2 (sparse), and a
/// tenth as many validation examples. The configuration is
/// `MLPConfig.sized(inputs:examples:)`; `--epochs E` fixes maxEpochs (and
/// patience) to E to time a set number of epochs.
///   revsd-bench mlp [--examples 1000] [--inputs 1280] [--keywords 1000] [--epochs E] [--curriculum]
func benchMLP() {
    let n = Int(argument("--examples", args) ?? "1000") ?? 1000
    let d = Int(argument("--inputs", args) ?? "1280") ?? 1280
    let m = Int(argument("--keywords", args) ?? "1000") ?? 1000
    let outputs = 384
    var rng = SeededGenerator(seed: 1)
    func normal() -> Float {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
    let w = (0..<(d * outputs)).map { _ in normal() / Float(d).squareRoot() }   // (d, outputs)
    let v = (0..<(d * m)).map { _ in normal() / Float(d).squareRoot() }         // (d, m)
    func make(_ count: Int) -> (x: [Float], y: [Float], keywords: [[Int32]]) {
        let x = (0..<(count * d)).map { _ in normal() }
        var y = [Float](repeating: 0, count: count * outputs), s = [Float](repeating: 0, count: count * m)
        let t = x.map { tanhf($0) }
        for i in 0..<count {
            for k in 0..<d {
                let a = t[i * d + k], b = x[i * d + k]
                for j in 0..<outputs { y[i * outputs + j] += a * w[k * outputs + j] }
                for j in 0..<m { s[i * m + j] += b * v[k * m + j] }
            }
        }
        VectorMath.l2NormalizeRows(&y, cols: outputs)
        let keywords = (0..<count).map { i in (0..<m).filter { s[i * m + $0] > 2 }.map { Int32($0) } }
        return (x, y, keywords)
    }
    let trainData = make(n), validData = make(max(2, n / 10))
    var config = MLPConfig.sized(inputs: d, examples: n)
    if let e = argument("--epochs", args).flatMap(Int.init) { config.maxEpochs = e; config.patience = e }
    if m == 0 { config.mlcWeight = 0 }
    do {
        let train = try MLPExamples(x: trainData.x, y: trainData.y, count: n, keywords: trainData.keywords)
        let valid = try MLPExamples(x: validData.x, y: validData.y, count: validData.x.count / d)
        let start = clock.now
        if args.contains("--curriculum") {
            let r = try MLPTrainer.trainWithCurriculum(train, validation: valid, vocabularySize: m, config: config)
            let secs = elapsedSeconds(since: start)
            let steps = r.vanilla.steps + r.curriculum.steps
            print("{\"examples\":\(n),\"inputs\":\(d),\"keywords\":\(m),\"hidden\":\(config.hidden),\"curriculum\":true,\"epochs\":[\(r.vanilla.epochs),\(r.curriculum.epochs)],\"steps\":\(steps),\"seconds\":\(String(format: "%.2f", secs)),\"ms_per_step\":\(String(format: "%.2f", 1000 * secs / Double(steps))),\"validation_cosine\":[\(r.vanilla.validationCosine),\(r.curriculum.validationCosine)],\"threads\":\(Parallel.cores)}")
        } else {
            let r = try MLPTrainer.train(train, validation: valid, vocabularySize: m, config: config)
            let secs = elapsedSeconds(since: start)
            print("{\"examples\":\(n),\"inputs\":\(d),\"keywords\":\(m),\"hidden\":\(config.hidden),\"max_epochs\":\(config.maxEpochs),\"epochs\":\(r.epochs),\"best_epoch\":\(r.bestEpoch),\"steps\":\(r.steps),\"seconds\":\(String(format: "%.2f", secs)),\"ms_per_step\":\(String(format: "%.2f", 1000 * secs / Double(max(r.steps, 1)))),\"validation_cosine\":\(r.validationCosine),\"threads\":\(Parallel.cores)}")
        }
    } catch { die("\(error)") }
}
