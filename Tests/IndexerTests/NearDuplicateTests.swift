import Foundation
import SyntheticImages
import XCTest
@testable import Imaging
@testable import Learning

/// `eval`'s near-duplicate rule (`NearDuplicates`): the cosine of pixel
/// signatures (`PixelSignature`) against the measured threshold.
final class NearDuplicateTests: XCTestCase {
    func decode(_ bytes: [UInt8], _ name: String) throws -> RGBAImage {
        try bytes.withUnsafeBytes { try ImageDecoder.decode($0, path: name) }.image
    }

    /// The rule itself on tiny rows: at or above the threshold is a match,
    /// below is not, length does not matter, a zero row matches nothing,
    /// and a match past the first block of library rows is found.
    func testTheRuleIsTheCosineAgainstTheThresholdOverEveryBlock() {
        let t = NearDuplicates.threshold
        let query: [Float] = [1, 0, 0]
        func row(cosine c: Float, scale: Float = 1) -> [Float] { [c * scale, (1 - c * c).squareRoot() * scale, 0] }
        var library = row(cosine: t + 0.001, scale: 7) + row(cosine: t - 0.01) + [0, 0, 0] + row(cosine: -1)
        library += [Float](repeating: 0.5, count: 3 * 2100) + row(cosine: 1, scale: 0.1)   // 2,105 rows in all
        let hit = NearDuplicates.matches(queries: query + [0, 0, 1], library: library, dimension: 3)
        XCTAssertEqual(hit.count, 2105)
        XCTAssertEqual(Array(hit.prefix(5)), [true, false, false, false, false], "(.5, .5, .5) is at 0.58 of both queries")
        XCTAssertEqual(hit.last, true, "a match in the second block of library rows")
        XCTAssertEqual(NearDuplicates.matches(queries: [], library: library, dimension: 3).filter { $0 }.count, 0)
        XCTAssertEqual(PixelSignature.of(RGBAImage(width: 40, height: 40, pixels: [UInt8](repeating: 128, count: 40 * 40 * 4))),
                       [Float](repeating: 0, count: PixelSignature.dimension), "a flat picture has no signature")
    }

    /// On real pictures: a file another program saved again, and every kind of re-saved copy (JPEG 95 and 75, half
    /// size, 512 px WebP, quarter-size JPEG 60, each read back by the
    /// decoder) matches its original and no other picture; seed variations
    /// of one prompt (same prompt, other pixels) and other prompts match
    /// nothing.
    func testResavedCopiesAreCaughtAndOtherPicturesAndSeedVariationsAreNot() throws {
        var pictures: [(name: String, image: RGBAImage)] = []
        let own = EfficientNetTests.root.appendingPathComponent("Fixtures/images")
        for name in ["scene-320x200.png", "tall-180x260.jpg"] {
            pictures.append((name, try ImageDecoder.decode(path: own.appendingPathComponent(name).path).image))
        }
        // Real SD images of several front-ends, when ../shared is there.
        if let shared = EfficientNetTests.sharedFixtures {
            for name in ["comfyex__flux_flux_schnell_example.png", "comfyex__lcm_lcm_basic_example.png", "cdtuner__sample2.jpg",
                         "invokeai__outputs_000018.47.png", "invokeai__outputs_000021.47.png", "enslo__png_comfyui.png", "enslo__png_novelai-curated.png"] {
                let path = shared.appendingPathComponent(name).path
                XCTAssert(FileManager.default.fileExists(atPath: path), path)
                pictures.append((name, try ImageDecoder.decode(path: path).image))
            }
        } else {
            print("NearDuplicateTests: ../shared/fixtures/sd-meta is absent; only the repository's images are used")
        }
        let originals = pictures.map { PixelSignature.of($0.image) }
        // Pillow saved one picture twice (tools/make_image_golden.py): JPEG 92
        // as tall-180x260.jpg, progressive JPEG 85 as progressive.jpg.
        let progressive = PixelSignature.of(try ImageDecoder.decode(path: own.appendingPathComponent("progressive.jpg").path).image)
        let found = NearDuplicates.matches(queries: progressive, library: originals.flatMap { $0 }, dimension: PixelSignature.dimension)
        XCTAssertEqual(found.indices.filter { found[$0] }, [1], "progressive.jpg is tall-180x260.jpg saved again by Pillow")
        for (i, p) in pictures.enumerated() {
            for kind in ResavedCopy.allCases {
                let name = p.name + "." + kind.fileExtension
                let copy = PixelSignature.of(try decode(try kind.bytes(of: p.image, name: name), name))
                let hit = NearDuplicates.matches(queries: copy, library: originals.flatMap { $0 }, dimension: PixelSignature.dimension)
                XCTAssertEqual(hit.indices.filter { hit[$0] }, [i], "the \(kind.rawValue) copy of \(p.name) matches its original only")
            }
        }
        // Seed variations: one prompt, three seeds (other pixels); and other prompts.
        var synthetic: [[Float]] = []
        for scene in SyntheticLibrary.scenes(count: 4, seed: 5) {
            for v in 0..<3 {
                var s = scene
                s.seed = scene.seed &+ UInt64(v) &* 0x9E37_79B9
                let png = try SyntheticLibrary.png(for: s, metadata: false)
                synthetic.append(PixelSignature.of(try decode(png, "variation-\(v).png")))
            }
        }
        for (i, f) in synthetic.enumerated() {
            let others = synthetic.enumerated().filter { $0.offset != i }.flatMap(\.element) + originals.flatMap { $0 }
            XCTAssertFalse(NearDuplicates.matches(queries: f, library: others, dimension: PixelSignature.dimension).contains(true),
                           "synthetic image \(i) is no near-duplicate of its seed variations, the other prompts or the pictures")
        }
    }
}
