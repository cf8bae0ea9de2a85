import Foundation
import Inference
import XCTest
@testable import Imaging
@testable import Models

/// Preprocessing and EfficientNet-Lite0/1/2 against timm + Pillow
/// (golden: tools/make_image_golden.py). Needs the installed models.
final class EfficientNetTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Golden: Decodable {
        struct Entry: Decodable { let image: String; let features: String; let logits: String; let top5: [Int] }
        struct Model: Decodable { let weights: String; let image_size: Int; let resize: Int; let entries: [Entry] }
        let models: [String: Model]
        let shared_preprocess: [String: [String: [[Int]]]]
    }

    static let golden: Golden = try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: root.appendingPathComponent("Golden/efficientnet.json")))

    static func floats(_ b64: String) -> [Float] {
        let d = Data(base64Encoded: b64)!
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// ../shared/fixtures/sd-meta, or nil (tests that need it skip with a reason).
    static var sharedFixtures: URL? {
        let candidates = [root.appendingPathComponent("../../../shared/fixtures/sd-meta").standardizedFileURL] +
            (ProcessInfo.processInfo.environment["REVSD_SHARED"].map { [URL(fileURLWithPath: $0).appendingPathComponent("fixtures/sd-meta")] } ?? [])
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    func imagePath(_ name: String) throws -> String? {
        if name.hasPrefix("shared:") {
            guard let dir = Self.sharedFixtures else { return nil }
            return dir.appendingPathComponent(String(name.dropFirst(7))).path
        }
        return Self.root.appendingPathComponent("Fixtures/images/\(name)").path
    }

    func testPreprocessingMatchesTimmWithinOneLevel() throws {
        for variant in EfficientNetLiteVariant.allCases {
            let pre = ImageEncoderCatalog.preprocessing(variant)
            XCTAssertEqual(pre.resizeShortSide, Self.golden.models[variant.rawValue]!.resize)
            for name in ["scene-320x200.png", "tall-180x260.jpg", "orientation6.jpg"] {
                let image = try ImageDecoder.decode(path: Self.root.appendingPathComponent("Fixtures/images/\(name)").path).image
                let crop = pre.resizedCrop(image)
                let ref = try ImageDecoder.decode(path: Self.root.appendingPathComponent("Golden/preprocess/\(name).\(variant.rawValue).png").path).image
                XCTAssertEqual(ref.width, variant.imageSize)
                var worst = 0, exact = 0
                for p in 0..<(ref.width * ref.height) {
                    for c in 0..<3 {
                        let d = abs(Int(crop[p * 3 + c]) - Int(ref.pixels[p * 4 + c]))
                        worst = max(worst, d); if d == 0 { exact += 1 }
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1, "\(name) \(variant)")
                XCTAssertGreaterThan(Double(exact) / Double(crop.count), 0.99, "\(name) \(variant): nearly every sample identical")
            }
        }
    }

    func testPreprocessingOfSharedFixturesMatchesSampledPixels() throws {
        guard let dir = Self.sharedFixtures else { throw XCTSkip("../shared/fixtures absent: sampled-pixel check of the shared images not run") }
        for (key, perVariant) in Self.golden.shared_preprocess {
            let image = try ImageDecoder.decode(path: dir.appendingPathComponent(String(key.dropFirst(7))).path).image
            for (v, samples) in perVariant {
                let variant = EfficientNetLiteVariant(rawValue: v)!
                let crop = ImageEncoderCatalog.preprocessing(variant).resizedCrop(image)
                let size = variant.imageSize
                var worst = 0
                for s in samples { for c in 0..<3 { worst = max(worst, abs(Int(crop[(s[0] * size + s[1]) * 3 + c]) - s[2 + c])) } }
                XCTAssertLessThanOrEqual(worst, 1, "\(key) \(v)")
            }
        }
    }

    func testFeaturesAndLogitsMatchTimm() throws {
        let store = ModelStore.resolve()
        var skippedShared = false
        for variant in EfficientNetLiteVariant.allCases {
            let folder = store.folder(for: variant.pinned)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path) else {
                XCTFail("\(folder.path): \(variant.id) is not installed; the test command fetches it"); continue
            }
            let encoder = try EfficientNetLiteEncoder(folder: folder, variant: variant)
            for entry in Self.golden.models[variant.rawValue]!.entries {
                guard let path = try imagePath(entry.image) else { skippedShared = true; continue }
                let out = try encoder.encode(path: path)
                let (f, l) = (Self.floats(entry.features), Self.floats(entry.logits))
                let fScale = f.map(abs).max()!, lScale = l.map(abs).max()!
                let fDelta = zip(out.features, f).map { abs($0 - $1) }.max()! / fScale
                let lDelta = zip(out.logits, l).map { abs($0 - $1) }.max()! / lScale
                XCTAssertLessThanOrEqual(fDelta, 1e-4, "\(variant) \(entry.image) features, relative max |Δ|")
                XCTAssertLessThanOrEqual(lDelta, 1e-4, "\(variant) \(entry.image) logits, relative max |Δ|")
                XCTAssertEqual(out.top5, entry.top5, "\(variant) \(entry.image) top-5 classes")
            }
        }
        if skippedShared { print("EfficientNetTests: ../shared/fixtures absent: golden checks ran on the project's own images only") }
    }
}
