import Foundation
import XCTest
@testable import Imaging

/// `ImageDecoder.dimensions` reads from the header alone what a full decode
/// gives: every test image (each container variant, an EXIF-rotated JPEG,
/// an animation) and the real front-end outputs in ../shared.
final class ImageDimensionsTests: XCTestCase {
    func check(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let bytes = try ImageDecoder.read(path: path)
        let decoded = try ImageDecoder.decode(path: path)
        let header = bytes.withUnsafeBytes { ImageDecoder.dimensions($0) }
        XCTAssertEqual(header?.width, decoded.image.width, path, file: file, line: line)
        XCTAssertEqual(header?.height, decoded.image.height, path, file: file, line: line)
    }

    func testHeaderDimensionsEqualTheDecodedOnesOnEveryTestImage() throws {
        let folder = ImageDecoderTests.root.appendingPathComponent("Fixtures/images").path
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        XCTAssert(names.contains("orientation6.jpg") && names.contains("animated.webp"))
        for name in names { try check(folder + "/" + name) }
        let rotated = try ImageDecoder.read(path: folder + "/orientation6.jpg")
        XCTAssertEqual(rotated.withUnsafeBytes { ImageDecoder.dimensions($0) }.map { [$0.width, $0.height] }, [48, 64], "stored 64×48, shown turned")
    }

    func testHeaderDimensionsEqualTheDecodedOnesOnRealFrontEndOutputs() throws {
        guard let folder = EfficientNetTests.sharedFixtures?.path else { throw XCTSkip("../shared/fixtures/sd-meta is absent: real front-end outputs not checked") }
        var checked = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        where ["png", "jpg", "jpeg", "webp"].contains((name as NSString).pathExtension.lowercased()) {
            guard (try? ImageDecoder.decode(path: folder + "/" + name)) != nil else { continue }   // the broken ones are other tests' business
            try check(folder + "/" + name); checked += 1
        }
        XCTAssertGreaterThan(checked, 50)
    }

    func testNoDimensionsFromAHeaderThatIsNotThere() {
        for bytes: [UInt8] in [[], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], [0xFF, 0xD8, 0xFF, 0xD9], Array("RIFF\0\0\0\0WEBP".utf8)] {
            XCTAssertNil(bytes.withUnsafeBytes { ImageDecoder.dimensions($0) }, "\(bytes)")
        }
    }
}
