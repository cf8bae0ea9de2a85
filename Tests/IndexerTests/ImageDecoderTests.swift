import Foundation
import Inference
import XCTest
@testable import Imaging

/// Decoding against Pillow (golden: tools/make_image_golden.py → Golden/decoded),
/// on images the script draws in every container variant the issue lists.
final class ImageDecoderTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static func fixture(_ name: String) -> String { root.appendingPathComponent("Fixtures/images/\(name)").path }

    func maxDifference(_ a: [UInt8], _ b: [UInt8], channels: Int = 4) -> Int {
        var worst = 0
        for i in 0..<min(a.count, b.count) where channels == 4 || i % 4 != 3 { worst = max(worst, abs(Int(a[i]) - Int(b[i]))) }
        return worst
    }

    func testEveryFixtureDecodesLikePillow() throws {
        // Lossless containers must match exactly; JPEG and lossy WebP within one level
        // (libjpeg-turbo/libwebp versions may round a sample differently).
        let tolerance: [String: Int] = ["jpg": 1, "webp": 1]
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Fixtures/images").path).sorted()
        XCTAssertGreaterThanOrEqual(names.count, 15)
        for name in names {
            let decoded = try ImageDecoder.decode(path: Self.fixture(name))
            let reference = try ImageDecoder.decode(path: Self.root.appendingPathComponent("Golden/decoded/\(name).png").path)
            XCTAssertEqual(decoded.image.width, reference.image.width, name)
            XCTAssertEqual(decoded.image.height, reference.image.height, name)
            let ext = (name as NSString).pathExtension
            let allowed = name == "lossless.webp" || name == "alpha.webp" || name == "animated.webp" ? 0 : (tolerance[ext] ?? 0)
            XCTAssertLessThanOrEqual(maxDifference(decoded.image.pixels, reference.image.pixels), allowed, name)
        }
    }

    func testFormatsAndFlags() throws {
        XCTAssertEqual(try ImageDecoder.decode(path: Self.fixture("orientation6.jpg")).orientation, 6)
        let o = try ImageDecoder.decode(path: Self.fixture("orientation6.jpg"))
        XCTAssertEqual([o.storedWidth, o.storedHeight, o.image.width, o.image.height], [64, 48, 48, 64])
        XCTAssertTrue(try ImageDecoder.decode(path: Self.fixture("animated.webp")).animated)
        XCTAssertTrue(try ImageDecoder.decode(path: Self.fixture("alpha.png")).hasAlpha)
        XCTAssertFalse(try ImageDecoder.decode(path: Self.fixture("scene-320x200.png")).hasAlpha)
        XCTAssertEqual(try ImageDecoder.decode(path: Self.fixture("lossy.webp")).format, .webp)
    }

    func testFormatComesFromContentNotName() throws {
        let dir = TemporaryDirectory()
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("scene-320x200.png")))
        let renamed = dir.write("actually-a-png.jpg", png)
        XCTAssertEqual(try ImageDecoder.decode(path: renamed).format, .png)
    }

    /// Broken files: one clear error naming the file, never a crash, and no
    /// allocation for a header that claims absurd dimensions.
    func testBrokenFilesGiveOneClearError() throws {
        let dir = TemporaryDirectory()
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("scene-320x200.png")))
        let jpg = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("tall-180x260.jpg")))
        let webp = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("lossy.webp")))
        var badCRC = png
        badCRC[33 + 20] ^= 0xFF                       // inside the first IDAT chunk's data
        var bomb = png
        bomb.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])  // 100000 × 100000
        let ihdrCRC = Self.crc(Array(bomb[12..<29]))
        bomb.replaceSubrange(29..<33, with: [UInt8(ihdrCRC >> 24), UInt8((ihdrCRC >> 16) & 0xff), UInt8((ihdrCRC >> 8) & 0xff), UInt8(ihdrCRC & 0xff)])
        var rng = SystemRandomNumberGenerator()
        let cases: [(String, Data, String)] = [
            ("empty.png", Data(), "cannot read: file is empty"),
            ("random.png", Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }), "not a PNG, JPEG or WebP image"),
            ("truncated.png", png.prefix(png.count / 2), "broken PNG"),
            ("crc.png", badCRC, "broken PNG"),
            ("bomb.png", bomb, "100000×100000 pixels exceeds the limit"),
            ("truncated.jpg", jpg.prefix(jpg.count / 2), "broken JPEG: truncated data"),
            ("header-only.jpg", jpg.prefix(20), "broken JPEG"),
            ("truncated.webp", webp.prefix(webp.count / 2), "broken WEBP"),
        ]
        for (name, data, reason) in cases {
            let path = dir.write(name, data)
            XCTAssertThrowsError(try ImageDecoder.decode(path: path), name) { error in
                let message = "\(error)"
                XCTAssert(message.hasPrefix(path + ": "), "\(name): \(message)")
                XCTAssert(message.contains(reason), "\(name): \(message)")
            }
        }
        XCTAssertThrowsError(try ImageDecoder.decode(path: dir.path("absent.png"))) {
            XCTAssertEqual("\($0)", "\(dir.path("absent.png")): cannot read: no such file")
        }
        let small = ImageLimits(maxFileBytes: 100)
        XCTAssertThrowsError(try ImageDecoder.decode(path: Self.fixture("scene-320x200.png"), limits: small)) {
            XCTAssert("\($0)".contains("over the 100-byte limit"), "\($0)")
        }
    }

    /// Random corruption of every fixture never crashes the decoders.
    func testRandomMutationsNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Fixtures/images").path)
        for name in names {
            let original = try Data(contentsOf: URL(fileURLWithPath: Self.fixture(name)))
            for i in 0..<25 {
                var d = original
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if i % 3 == 0 { d = d.prefix(Int.random(in: 0..<d.count, using: &rng)) }
                d.withUnsafeBytes { raw in _ = try? ImageDecoder.decode(raw, path: name) }
            }
        }
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }
}
