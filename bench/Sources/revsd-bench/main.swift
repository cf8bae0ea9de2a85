import Foundation
import Indexer
import Inference

// revsd-bench: throughput drivers for bench/*.sh (not installed, not a test).
//
//   revsd-bench minilm --texts FILE --batch N [--seconds S] [--models DIR]
//   revsd-bench efficientnet --variant lite0 --images FILE [--seconds S] [--models DIR]
//
// Prints one JSON line per measurement.

func argument(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func die(_ message: String) -> Never {
    FileHandle.standardError.write(Data("revsd-bench: \(message)\n".utf8))
    exit(1)
}

let args = Array(CommandLine.arguments.dropFirst())
let seconds = Double(argument("--seconds", args) ?? "10") ?? 10
let clock = ContinuousClock()

func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
    let e = clock.now - start
    return Double(e.components.seconds) + Double(e.components.attoseconds) * 1e-18
}

switch args.first {
case "minilm": benchMiniLM()
case "efficientnet": benchEfficientNet()
default: die("usage: revsd-bench minilm|efficientnet …")
}

func benchEfficientNet() {
    guard let listPath = argument("--images", args) else { die("--images FILE (one image path per line) is required") }
    guard let variant = EfficientNetLiteVariant(rawValue: argument("--variant", args) ?? "lite0") else { die("unknown --variant") }
    let paths: [String]
    do { paths = try TextInput.lines(of: listPath) } catch { die("\(error)") }
    let store = ModelStore.resolve(explicit: argument("--models", args))
    let encoder: EfficientNetLiteEncoder
    do { encoder = try EfficientNetLiteEncoder(folder: store.folder(for: variant.pinned), variant: variant) } catch { die("\(error)") }
    var images: [RGBAImage] = []
    for p in paths {
        do { images.append(try ImageDecoder.decode(path: p).image) } catch { die("\(error)") }
    }
    let tensors = images.map(encoder.preprocessing.tensor)
    _ = encoder.encode(images[0])
    // Model only: preprocessed tensors in, features and logits out.
    var done = 0
    var start = clock.now
    repeat { for t in tensors { _ = encoder.model.forward(t); done += 1 } } while elapsedSeconds(since: start) < seconds
    var secs = elapsedSeconds(since: start)
    print("{\"impl\":\"revsd\",\"what\":\"model\",\"variant\":\"\(variant.rawValue)\",\"images\":\(done),\"seconds\":\(String(format: "%.3f", secs)),\"images_per_s\":\(String(format: "%.2f", Double(done) / secs)),\"threads\":\(Parallel.cores)}")
    // End to end: file → decode → preprocess → model.
    done = 0
    start = clock.now
    repeat { for p in paths { _ = try? encoder.encode(path: p); done += 1 } } while elapsedSeconds(since: start) < seconds
    secs = elapsedSeconds(since: start)
    print("{\"impl\":\"revsd\",\"what\":\"file\",\"variant\":\"\(variant.rawValue)\",\"images\":\(done),\"seconds\":\(String(format: "%.3f", secs)),\"images_per_s\":\(String(format: "%.2f", Double(done) / secs)),\"threads\":\(Parallel.cores)}")
}

func benchMiniLM() {
    guard let textsPath = argument("--texts", args) else { die("--texts FILE is required") }
    let batch = Int(argument("--batch", args) ?? "32") ?? 32
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
    let start = clock.now
    repeat { done += pass() } while (clock.now - start) < .seconds(seconds)
    let elapsed = clock.now - start
    let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    let rate = Double(done) / secs
    print("{\"impl\":\"revsd\",\"batch\":\(batch),\"sentences\":\(done),\"seconds\":\(String(format: "%.3f", secs)),\"sentences_per_s\":\(String(format: "%.2f", rate)),\"threads\":\(Parallel.cores)}")
}
