import Foundation
import Analysis
import Imaging
import Models
import RevsdSystem

// revsd-bench scaled --expected TSV [--margins 1,2] [--repeat N] [--jpeg-factors pow2|all] [--per-image] [--models DIR]
//
// The reduced decode (`ReducedDecode`) against the exact one on the JPEG and
// WebP files of an expected.tsv (filename first, true prompt sixth, as
// shared/fixtures/sd-meta has it). Per margin (the short side kept at
// margin × the encoders' largest resize short side), over the files the
// reduced decode actually shrank: decode + preprocessing for the three
// EfficientNets in ms per image (the best of --repeat runs), the cosine of
// each encoder's pooled features to the exact path's, the zero-shot
// prediction's cosine to MiniLM(true prompt) on both paths, and the PSNR of
// the 320 px thumbnail's pixels (before WebP) to the exact path's.
// One JSON line per margin (--per-image: a line per file on stderr).
func benchScaledDecode() {
    guard let expectedPath = argument("--expected", args) else { die("--expected TSV (filename, …, prompt sixth) is required") }
    let margins = (argument("--margins", args) ?? "1,2").split(separator: ",").compactMap { Double($0) }
    let perImage = args.contains("--per-image")
    let repeats = max(1, Int(argument("--repeat", args) ?? "3") ?? 3)
    let factors = argument("--jpeg-factors", args) == "all" ? ReducedDecode.allJPEGFactors : ReducedDecode.powersOfTwo
    let dir = URL(fileURLWithPath: expectedPath).deletingLastPathComponent()
    var rows: [(path: String, prompt: String)] = []
    do {
        for line in try TextInput.lines(of: expectedPath).dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6, [".jpg", ".jpeg", ".webp"].contains(where: { f[0].lowercased().hasSuffix($0) }) else { continue }
            rows.append((dir.appendingPathComponent(f[0]).path, f[5].replacingOccurrences(of: "\\n", with: "\n")))
        }
    } catch { die("\(error)") }
    let analyzer: ImageAnalyzer
    do { analyzer = try ImageAnalyzer(store: ModelStore.resolve(explicit: argument("--models", args))) } catch { die("\(error)") }
    let predictor = analyzer.predictor
    let truths = analyzer.promptEncoder.embed(rows.map(\.prompt))
    func cos(_ a: [Float], _ b: [Float]) -> Double {
        let d = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }, nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }
        return d / max((na * nb).squareRoot(), 1e-30)
    }
    /// Best-of-`repeats` ms of decoding `bytes` and preprocessing for every encoder.
    func prepareTime(_ bytes: [UInt8], path: String, reduced: ReducedDecode?) -> Double {
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = clock.now
            guard let image = try? ImageDecoder.decode(path: path, reduced: reduced).image else { return .nan }
            for e in predictor.imageEncoders { _ = e.preprocessing.tensor(image) }
            best = min(best, elapsedSeconds(since: start) * 1000)
        }
        return best
    }
    func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        let mse = zip(a, b).reduce(0.0) { $0 + Double((Int($1.0) - Int($1.1)) * (Int($1.0) - Int($1.1))) } / Double(a.count)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }
    struct Exact { let bytes: [UInt8]; let ms: Double; let features: [String: [Float]]; let zeroShot: Double; let thumb: [UInt8]; let thumbSize: (Int, Int) }
    var exact: [Exact?] = []
    for (i, row) in rows.enumerated() {
        guard let bytes = try? ImageDecoder.read(path: row.path), let decoded = try? ImageDecoder.decode(path: row.path) else {
            FileHandle.standardError.write(Data("skip \(row.path)\n".utf8)); exact.append(nil); continue
        }
        let enc = predictor.encode(decoded.image)
        let z = cos(predictor.predict(posterior: predictor.posterior(enc)).embedding, truths[i])
        let size = Thumbnail.size(width: decoded.image.width, height: decoded.image.height)
        exact.append(Exact(bytes: bytes, ms: prepareTime(bytes, path: row.path, reduced: nil), features: enc.mapValues(\.features), zeroShot: z,
                           thumb: PILResample.bicubic(decoded.image, width: size.width, height: size.height), thumbSize: size))
    }
    for margin in margins {
        let reduced = ReducedDecode(minimumShortSide: Int((margin * Double(analyzer.encoderShortSide)).rounded(.up)), jpegFactors: factors)
        var n = 0, msExact = 0.0, msReduced = 0.0, zExact = 0.0, zReduced = 0.0, psnrMin = Double.infinity, psnrSum = 0.0
        var cosines: [String: [Double]] = [:]
        var sizes: [String: Int] = [:]
        for (i, row) in rows.enumerated() {
            guard let x = exact[i], let decoded = try? ImageDecoder.decode(path: row.path, reduced: reduced), decoded.isReduced else { continue }
            n += 1
            sizes["\(decoded.width)→\(decoded.image.width)", default: 0] += 1
            let enc = predictor.encode(decoded.image)
            for (id, e) in enc { cosines[id, default: []].append(cos(e.features, x.features[id]!)) }
            zExact += x.zeroShot
            zReduced += cos(predictor.predict(posterior: predictor.posterior(enc)).embedding, truths[i])
            msExact += x.ms
            msReduced += prepareTime(x.bytes, path: row.path, reduced: reduced)
            let p = psnr(PILResample.bicubic(decoded.image, width: x.thumbSize.0, height: x.thumbSize.1), x.thumb)
            psnrMin = min(psnrMin, p); psnrSum += p
            if perImage {
                let c = enc.keys.sorted().map { String(format: "%.4f", cos(enc[$0]!.features, x.features[$0]!)) }.joined(separator: " ")
                FileHandle.standardError.write(Data("\(margin)\t\(decoded.format.rawValue)\t\(decoded.width)→\(decoded.image.width)\t\(c)\t\(String(format: "%.1f", p)) dB\t\((row.path as NSString).lastPathComponent)\n".utf8))
            }
        }
        func f(_ v: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", v) }
        let perEncoder = cosines.keys.sorted().map { id in
            "\"\(id)\":{\"min\":\(f(cosines[id]!.min()!)),\"mean\":\(f(cosines[id]!.reduce(0, +) / Double(n)))}"
        }.joined(separator: ",")
        let sizeText = sizes.keys.sorted().map { "\"\($0)\":\(sizes[$0]!)" }.joined(separator: ",")
        let d = Double(max(n, 1))
        print("{\"set\":\"\(expectedPath)\",\"margin\":\(margin),\"min_short_side\":\(reduced.minimumShortSide),\"jpeg_factors\":\"\(argument("--jpeg-factors", args) ?? "pow2")\","
            + "\"files\":\(rows.count),\"reduced\":\(n),\"sizes\":{\(sizeText)},\"exact_ms\":\(f(msExact / d, 1)),\"reduced_ms\":\(f(msReduced / d, 1)),"
            + "\"feature_cosine\":{\(perEncoder)},\"zero_shot_exact\":\(f(zExact / d)),\"zero_shot_reduced\":\(f(zReduced / d)),"
            + "\"thumb_psnr_min\":\(f(n > 0 ? psnrMin : 0, 2)),\"thumb_psnr_mean\":\(f(psnrSum / d, 2))}")
    }
}
