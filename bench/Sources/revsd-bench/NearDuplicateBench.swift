import Foundation
import Analysis
import Imaging
import Learning
import Metadata
import Models
import SyntheticImages

// revsd-bench neardup --fixtures DIR [--synthetic N] [--pixels-only] [--models DIR]
//
// Measures `eval`'s near-duplicate rule (NearDuplicates): the cosine of
// the pixel signatures ("pixels32", PixelSignature) and of the pooled
// features per encoder between
//  - each fixture and its re-saved copies (ResavedCopy: JPEG 95/75, half
//    size, 512 px WebP, quarter-size JPEG 60): must be caught;
//  - fixtures that hold the same picture in other files (decoded pixels at
//    32×32 within 3/255 on average): duplicates too;
//  - distinct fixtures, and among them those of one prompt (seed
//    variations): must not be;
//  - N synthetic scenes × 3 seed variations (variations of one prompt, and
//    other prompts): must not be.
// Prints one JSON line per category and encoder, then the closest distinct
// pairs and the farthest copies.

func benchNearDuplicates() {
    guard let dir = argument("--fixtures", args) else { die("neardup needs --fixtures DIR") }
    let synthetic = Int(argument("--synthetic", args) ?? "30") ?? 30
    let pixelsOnly = args.contains("--pixels-only")   // the pixel signature alone, without the encoders
    let analyzer: ImageAnalyzer
    do { analyzer = try ImageAnalyzer(store: ModelStore.resolve(explicit: argument("--models", args))) } catch { die("\(error)") }
    func features(_ bytes: [UInt8], _ name: String) -> [String: [Float]]? {
        guard let decoded = try? bytes.withUnsafeBytes({ try ImageDecoder.decode($0, path: name) }) else { return nil }
        var f: [String: [Float]] = [:]
        if !pixelsOnly {
            let a = analyzer.analyze(bytes: bytes, path: name, includeFeatures: true, sidecars: false, embedKnownPrompt: false)
            guard a.error == nil else { return nil }
            f = a.features
        }
        f["pixels32"] = PixelSignature.of(decoded.image)
        return f
    }
    struct Original { var name: String; var prompt: String?; var thumb: [UInt8]; var aspect: Double; var features: [String: [Float]] }
    var originals: [Original] = []
    var copies: [(name: String, kind: String, features: [String: [Float]])] = []
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        .filter { ["png", "jpg", "jpeg", "webp"].contains(($0 as NSString).pathExtension.lowercased()) }
    for name in names {
        let path = (dir as NSString).appendingPathComponent(name)
        guard let bytes = try? ImageDecoder.read(path: path), let decoded = try? ImageDecoder.decode(path: path) else { continue }
        let image = decoded.image
        guard image.width >= 32, image.height >= 32, let f = features(bytes, name) else { continue }
        let prompt = bytes.withUnsafeBytes { MetadataReader.read($0, path: name) }.metadata.flatMap { $0.hasRealPrompt ? $0.prompt : nil }
        originals.append(Original(name: name, prompt: prompt.map(PromptText.groupKey),
                                  thumb: PILResample.bicubic(image, width: 32, height: 32),
                                  aspect: Double(image.width) / Double(image.height), features: f))
        for kind in ResavedCopy.allCases {
            guard let copy = try? kind.bytes(of: image, name: name), let cf = features(copy, name + "." + kind.fileExtension) else { continue }
            copies.append((name, kind.rawValue, cf))
        }
    }
    var scenes: [(scene: Int, features: [String: [Float]])] = []
    for (i, scene) in SyntheticLibrary.scenes(count: synthetic, seed: 7).enumerated() {
        for v in 0..<3 {
            var s = scene
            s.seed = scene.seed &+ UInt64(v) &* 0x9E37_79B9
            guard let png = try? SyntheticLibrary.png(for: s, width: 256, height: 256, metadata: false),
                  let f = features(png, "synthetic-\(i)-\(v).png") else { continue }
            scenes.append((i, f))
        }
    }
    let encoders = Array(originals.first?.features.keys.sorted() ?? [])
    func cosine(_ a: [Float]?, _ b: [Float]?) -> Float? {
        guard let a, let b, a.count == b.count else { return nil }
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<a.count { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : nil
    }
    func samePicture(_ a: Original, _ b: Original) -> Bool {
        guard abs(a.aspect - b.aspect) < 0.01 else { return false }
        let diff = zip(a.thumb, b.thumb).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
        return Double(diff) / Double(a.thumb.count) <= 3
    }
    var byOriginal: [String: Original] = [:]
    for o in originals { byOriginal[o.name] = o }
    for e in encoders {
        var cats: [String: [(Float, String)]] = [:]
        for c in copies {
            if let v = cosine(byOriginal[c.name]?.features[e], c.features[e]) { cats["copy:" + c.kind, default: []].append((v, c.name)) }
        }
        for i in originals.indices {
            for j in (i + 1)..<originals.count {
                let a = originals[i], b = originals[j]
                guard let v = cosine(a.features[e], b.features[e]) else { continue }
                let label = a.name + " ~ " + b.name
                if samePicture(a, b) { cats["same picture, other file", default: []].append((v, label)) }
                else if a.prompt != nil && a.prompt == b.prompt { cats["distinct, same prompt", default: []].append((v, label)) }
                else { cats["distinct, other prompt", default: []].append((v, label)) }
            }
        }
        for i in scenes.indices {
            for j in (i + 1)..<scenes.count {
                guard let v = cosine(scenes[i].features[e], scenes[j].features[e]) else { continue }
                cats[scenes[i].scene == scenes[j].scene ? "synthetic seed variations" : "synthetic, other prompt", default: []].append((v, ""))
            }
        }
        for (cat, values) in cats.sorted(by: { $0.key < $1.key }) {
            let s = values.map(\.0).sorted()
            func q(_ p: Double) -> Float { s[min(s.count - 1, Int(Double(s.count - 1) * p))] }
            let thresholds: [Float] = [0.9, 0.95, 0.97, 0.98, 0.99]
            let atOrAbove = thresholds.map { t in "\"\(t)\":\(s.filter { $0 >= t }.count)" }.joined(separator: ",")
            let fields = ["min": s.first!, "p01": q(0.01), "p05": q(0.05), "median": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": s.last!]
            print("{\"encoder\":\"\(e)\",\"category\":\"\(cat)\",\"pairs\":\(s.count)," +
                  fields.sorted(by: { $0.key < $1.key }).map { "\"\($0.key)\":\(String(format: "%.4f", $0.value))" }.joined(separator: ",") + ",\"at_or_above\":{\(atOrAbove)}}")
        }
        let closest = (cats["distinct, other prompt", default: []] + cats["distinct, same prompt", default: []]).sorted { $0.0 > $1.0 }.prefix(5)
        for (v, label) in closest { print("{\"encoder\":\"\(e)\",\"closest_distinct\":\"\(label)\",\"cosine\":\(String(format: "%.4f", v))}") }
        let farthest = cats.filter { $0.key.hasPrefix("copy:") || $0.key.hasPrefix("same") }.flatMap { k, v in v.map { ($0.0, k + " " + $0.1) } }.sorted { $0.0 < $1.0 }.prefix(12)
        for (v, label) in farthest { print("{\"encoder\":\"\(e)\",\"farthest_duplicate\":\"\(label)\",\"cosine\":\(String(format: "%.4f", v))}") }
    }
}
