import Foundation
import Inference
import Analysis
import Daemon
import Imaging
import Models
import RevsdSystem
import Search
import Store
import Synchronization

// revsd-bench: throughput drivers for bench/*.sh (not installed, not a test).
//
//   revsd-bench minilm --texts FILE --batch N [--seconds S] [--models DIR]
//   revsd-bench efficientnet --variant lite0 --images FILE [--seconds S] [--models DIR]
//   revsd-bench clip --folder DIR --images FILE [--seconds S] [--batch N]
//   revsd-bench mlp [--examples N] [--inputs D] [--keywords M] [--epochs E] [--curriculum]
//   revsd-bench train [--examples N] [--inputs D] [--max-epochs E]
//   revsd-bench synth --out DIR --count N --seed S [--stripped] [--size PX] [--variations V]
//   revsd-bench search [--n N] [--queries Q] [--centres C] [--exact] (SearchBench.swift)
//   revsd-bench searchstart --n N --db PATH [--way rows|bulk]
//   revsd-bench scalelib --n N --db PATH --root DIR [--files] (ScaleLibrary.swift: an index file for the real revsdd)
//   revsd-bench scalestart --db PATH --root DIR (the daemon's start on it, step by step)
//   revsd-bench galleryindex --n N --state DIR --root FOLDER --prompts TSV (GalleryBench.swift)
//   revsd-bench neardup --fixtures DIR [--synthetic N] [--pixels-only] (NearDuplicateBench.swift)
//   revsd-bench blas (the OpenBLAS kernels this process runs, as the daemon would)
//   revsd-bench scaled --expected TSV [--margins 1,2] [--repeat N] [--jpeg-factors pow2|all] (ScaledDecodeBench.swift)
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

BLASKernels.useTheCPUsOwn()
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
case "zeroshot": benchZeroShot()
case "search": benchSearch()
case "searchstart": benchSearchStart()
case "scalelib": benchScaleLibrary()
case "scalestart": benchScaleStart()
case "galleryindex": benchGalleryIndex()
case "analyze": benchAnalyze()
case "clip": benchCLIP()
case "mlp": benchMLP()
case "train": benchTrain()
case "synth": benchSynth()
case "neardup": benchNearDuplicates()
case "scaled": benchScaledDecode()
case "blas": print("{\"kernels\":\"\(BLASKernelChoice.current)\",\"summary\":\"\(BLASKernels.summary)\"}")
default: die("usage: revsd-bench minilm|efficientnet|zeroshot|search|searchstart|scalelib|scalestart|galleryindex|analyze|clip|mlp|train|synth|neardup|scaled|blas …")
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

/// A CLIP vision tower (a Hugging Face folder, e.g. bench/.clip-b32 made by
/// bench/clip_torch.py): images/s of the model alone (preprocessed tensors
/// in, projected embedding out) and from the file (decode, resize, crop,
/// model), batch 1 unless --batch says otherwise.
func benchCLIP() {
    guard let folder = argument("--folder", args), let listPath = argument("--images", args) else {
        die("--folder DIR (a CLIP vision folder) and --images FILE (one image path per line) are required")
    }
    let batch = max(1, Int(argument("--batch", args) ?? "1") ?? 1)
    let encoder: CLIPEncoder
    do { encoder = try CLIPEncoder(folder: URL(fileURLWithPath: folder)) } catch { die("\(error)") }
    guard let processor = encoder.processor else { die("\(folder): no vision tower") }
    let paths: [String]
    do { paths = try TextInput.lines(of: listPath) } catch { die("\(error)") }
    var tensors: [[Float]] = []
    for p in paths {
        do { tensors.append(processor.pixels(try ImageDecoder.decode(path: p).image)) } catch { die("\(error)") }
    }
    let size = processor.cropSize
    _ = encoder.model.imageEmbeddings([tensors[0]], height: size, width: size)
    func report(_ what: String, _ done: Int, _ secs: Double) {
        print("{\"impl\":\"revsd\",\"what\":\"\(what)\",\"batch\":\(batch),\"precision\":\"\(encoder.model.vision?.encoder.precision.rawValue ?? "fp32")\",\"images\":\(done),\"seconds\":\(String(format: "%.3f", secs)),\"images_per_s\":\(String(format: "%.2f", Double(done) / secs)),\"threads\":\(Parallel.cores)}")
    }
    var done = 0
    var start = clock.now
    repeat {
        var i = 0
        while i < tensors.count {
            let chunk = Array(tensors[i..<min(tensors.count, i + batch)])
            _ = encoder.model.imageEmbeddings(chunk, height: size, width: size, batchSize: batch)
            done += chunk.count
            i += chunk.count
        }
    } while elapsedSeconds(since: start) < seconds
    let modelSeconds = elapsedSeconds(since: start)
    report("model", done, modelSeconds)
    if let v = encoder.model.vision {
        // The work an image is: per token per layer 4·H² + 2·H·I multiply-adds
        // in the linear layers and 2·T·H in attention, over T = 1 + grid²
        // tokens; the patch embedding, grid² · 3·p² · H; the projection, P · H.
        let c = v.config
        let (H, I, L) = (Double(c.hiddenSize), Double(c.intermediateSize), Double(c.numHiddenLayers))
        let grid = Double(c.imageSize / c.patchSize), T = 1 + grid * grid
        let macs = L * (T * (4 * H * H + 2 * H * I) + 2 * T * T * H) + grid * grid * 3 * Double(c.patchSize * c.patchSize) * H
            + Double(v.projectionDim) * H
        // sgemm at the tower's largest product (the batch's tokens × H by H × I).
        let rate = sgemmRate(m: Int(T) * batch, k: c.hiddenSize, n: c.intermediateSize)
        print("{\"impl\":\"revsd\",\"what\":\"flops\",\"batch\":\(batch),\"gflop_per_image\":\(String(format: "%.3f", 2 * macs / 1e9)),"
              + "\"model_gflop_per_s\":\(String(format: "%.1f", Double(done) / modelSeconds * 2 * macs / 1e9)),\"sgemm_gflop_per_s\":\(String(format: "%.1f", rate)),"
              + "\"ceiling_images_per_s\":\(String(format: "%.2f", rate * 1e9 / (2 * macs)))}")
    }
    if batch == 1 {
        done = 0
        start = clock.now
        repeat { for p in paths { _ = try? encoder.embed(path: p); done += 1 } } while elapsedSeconds(since: start) < seconds
        report("file", done, elapsedSeconds(since: start))
    }
}

/// The paper's metric for the zero-shot prediction: mean cosine between the
/// predicted embedding and MiniLM(true prompt), beside the constant baseline
/// (one vector for every image: the normalised mean embedding of a corpus).
///   revsd-bench zeroshot --expected TSV --corpus TSV [--exclude-prefix P,…]
func benchZeroShot() {
    guard let expectedPath = argument("--expected", args), let corpusPath = argument("--corpus", args) else {
        die("--expected TSV (filename, …, prompt with \\n) and --corpus TSV (prompt first column) are required")
    }
    let excluded = (argument("--exclude-prefix", args) ?? "").split(separator: ",").map(String.init)
    let dir = URL(fileURLWithPath: expectedPath).deletingLastPathComponent()
    var rows: [(String, String)] = []
    do {
        for line in try TextInput.lines(of: expectedPath).dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6, !excluded.contains(where: { f[0].hasPrefix($0) }) else { continue }
            rows.append((f[0], f[5].replacingOccurrences(of: "\\n", with: "\n")))
        }
    } catch { die("\(error)") }
    let analyzer: ImageAnalyzer
    do { analyzer = try ImageAnalyzer(store: ModelStore.resolve(explicit: argument("--models", args))) } catch { die("\(error)") }
    let corpus: [String]
    do { corpus = try TextInput.lines(of: corpusPath).dropFirst().map { String($0.split(separator: "\t").first ?? "") } } catch { die("\(error)") }
    var constant = [Float](repeating: 0, count: 384)
    for v in analyzer.promptEncoder.embed(corpus, batchSize: 64) { for i in 0..<384 { constant[i] += v[i] } }
    VectorMath.l2Normalize(&constant)
    let truths = analyzer.promptEncoder.embed(rows.map(\.1))
    func cos(_ a: [Float], _ b: [Float]) -> Double { Double(zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }) }
    var zs = 0.0, base = 0.0, prior = 0.0, n = 0
    let start = clock.now
    for (i, (file, _)) in rows.enumerated() {
        let a = analyzer.analyze(path: dir.appendingPathComponent(file).path, includeEmbedding: true)
        guard let e = a.embedding else { FileHandle.standardError.write(Data("skip \(file): \(a.error ?? "?")\n".utf8)); continue }
        zs += cos(e, truths[i]); base += cos(constant, truths[i]); prior += cos(analyzer.predictor.prior, truths[i]); n += 1
    }
    let secs = elapsedSeconds(since: start)
    print("{\"images\":\(n),\"zero_shot\":\(String(format: "%.4f", zs / Double(n))),\"constant_baseline\":\(String(format: "%.4f", base / Double(n))),\"prior_only\":\(String(format: "%.4f", prior / Double(n))),\"corpus_prompts\":\(corpus.count),\"seconds\":\(String(format: "%.1f", secs))}")
}

/// The bare pipeline, in-process: decode, metadata, encoders, prediction,
/// known-prompt embedding, one file after another (the daemon's peer); with
/// `--threads N`, N threads take the files in turn, as the daemon's workers
/// do in phase 2.
///   revsd-bench analyze --images FILE [--threads N]
func benchAnalyze() {
    guard let listPath = argument("--images", args) else { die("--images FILE is required") }
    let threads = max(1, Int(argument("--threads", args) ?? "1") ?? 1)
    let paths: [String]
    do { paths = try TextInput.lines(of: listPath) } catch { die("\(error)") }
    let analyzer: ImageAnalyzer
    do { analyzer = try ImageAnalyzer(store: ModelStore.resolve(explicit: argument("--models", args))) } catch { die("\(error)") }
    _ = analyzer.analyze(path: paths[0])
    let next = Mutex(0)
    let start = clock.now
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while true {
            let i = next.withLock { n -> Int in defer { n += 1 }; return n }
            guard i < paths.count else { return }
            _ = analyzer.analyze(path: paths[i], includeEmbedding: true, includeFeatures: true)
        }
    }
    let secs = elapsedSeconds(since: start)
    print("{\"images\":\(paths.count),\"threads\":\(threads),\"seconds\":\(String(format: "%.3f", secs)),\"images_per_s\":\(String(format: "%.2f", Double(paths.count) / secs))}")
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
    // The work a pass is: the multiply-adds of MiniLM's matrix products
    // (per token per layer 4·H² + 2·H·I in the linear layers, 2·L·H in
    // attention, over the L real tokens of each text: sequences are packed).
    let config = encoder.model.config.transformer
    let (H, I, layers) = (Double(config.hidden), Double(config.intermediate), Double(config.layers))
    let lengths = texts.map { Double(encoder.tokenize($0).count) }
    let tokensPerText = lengths.reduce(0, +) / Double(texts.count)
    let macsPerText = lengths.reduce(0) { $0 + layers * ($1 * (4 * H * H + 2 * H * I) + 2 * $1 * $1 * H) } / Double(texts.count)
    // What this machine's sgemm gives at the model's largest product shape
    // (a batch of packed tokens × H by H × I), split over the cores as the model's are.
    let gemmRate = sgemmRate(m: min(4096, Int(tokensPerText * Double(batch))), k: config.hidden, n: config.intermediate)
    print("{\"impl\":\"revsd\",\"batch\":\(batch),\"sentences\":\(done),\"seconds\":\(String(format: "%.3f", secs)),\"sentences_per_s\":\(String(format: "%.2f", rate)),\"threads\":\(Parallel.cores),"
          + "\"tokens_per_text\":\(String(format: "%.1f", tokensPerText)),\"gflop_per_text\":\(String(format: "%.3f", 2 * macsPerText / 1e9)),"
          + "\"model_gflop_per_s\":\(String(format: "%.1f", rate * 2 * macsPerText / 1e9)),\"sgemm_gflop_per_s\":\(String(format: "%.1f", gemmRate)),"
          + "\"ceiling_sentences_per_s\":\(String(format: "%.1f", gemmRate * 1e9 / (2 * macsPerText)))}")
}

/// GFLOP/s of C (m × n) = A (m × k) · Bᵀ (n × k) through `BLAS.gemm`, as
/// the model's linear layers call it, repeated for at least 2 s.
func sgemmRate(m: Int, k: Int, n: Int) -> Double {
    let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k), b = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    for i in 0..<(m * k) { a[i] = Float(i % 13) / 13 - 0.5 }
    for i in 0..<(n * k) { b[i] = Float(i % 7) / 7 - 0.5 }
    BLAS.useCallerThreads
    func once() {
        BLAS.gemm(MatrixRef(a, rows: m, cols: k), MatrixRef(b, rows: n, cols: k), transposeB: true, MutableMatrixRef(c, rows: m, cols: n))
    }
    once()
    var calls = 0
    let start = clock.now
    repeat { once(); calls += 1 } while (clock.now - start) < .seconds(2)
    return Double(calls) * 2 * Double(m * k * n) / elapsedSeconds(since: start) / 1e9
}
