import Foundation
import Indexer
import Inference

// revsd-bench: throughput drivers for bench/*.sh (not installed, not a test).
//
//   revsd-bench minilm --texts FILE --batch N [--seconds S] [--models DIR]
//
// Prints one JSON line: {"impl": "revsd", "batch": N, "sentences_per_s": …}.

func argument(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func die(_ message: String) -> Never {
    FileHandle.standardError.write(Data("revsd-bench: \(message)\n".utf8))
    exit(1)
}

let args = Array(CommandLine.arguments.dropFirst())
guard args.first == "minilm" else { die("usage: revsd-bench minilm --texts FILE --batch N [--seconds S] [--models DIR]") }
guard let textsPath = argument("--texts", args) else { die("--texts FILE is required") }
let batch = Int(argument("--batch", args) ?? "32") ?? 32
let seconds = Double(argument("--seconds", args) ?? "10") ?? 10
let texts: [String]
do { texts = try TextInput.lines(of: textsPath) } catch { die("\(error)") }
guard !texts.isEmpty else { die("\(textsPath): no texts") }

let encoder: SentenceEncoder
do {
    encoder = try SentenceEncoder(folder: ModelStore.resolve(explicit: argument("--models", args)).promptEncoderFolder())
} catch { die("\(error)") }

func pass() -> Int {
    var i = 0
    while i < texts.count {
        let chunk = Array(texts[i..<min(texts.count, i + batch)])
        _ = encoder.embed(chunk, batchSize: batch)
        i += chunk.count
    }
    return texts.count
}

_ = pass()  // warm-up: page in the weights, size the buffers
var done = 0
let clock = ContinuousClock()
let start = clock.now
repeat { done += pass() } while (clock.now - start) < .seconds(seconds)
let elapsed = clock.now - start
let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
let rate = Double(done) / secs
print("{\"impl\":\"revsd\",\"batch\":\(batch),\"sentences\":\(done),\"seconds\":\(String(format: "%.3f", secs)),\"sentences_per_s\":\(String(format: "%.2f", rate)),\"threads\":\(Parallel.cores)}")
