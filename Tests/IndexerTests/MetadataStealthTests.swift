import XCTest
@testable import Metadata

/// The stealth copy hidden in pixel LSBs, on RGBA buffers built here with the
/// encoding the A1111 extension and NovelAI use. (Fixtures that carry metadata
/// only there, such as sdparsers__AUTOMATIC1111_automatic1111_stealth.png, are
/// covered by the pixel decoder's stealth test.)
final class MetadataStealthTests: XCTestCase {
    let parameters = "a circle\nNegative prompt: square\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64"

    /// RGBA pixels whose alpha (or RGB) LSBs spell `signature`, the bit length, then `payload`; column-major.
    static func encode(_ signature: String, _ payload: [UInt8], width: Int, height: Int, rgb: Bool = false,
                       declaredBits: Int? = nil) -> [UInt8] {
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        for i in 0..<(width * height) {   // a noisy image, opaque-ish
            rgba[4 * i] = UInt8(truncatingIfNeeded: i * 7); rgba[4 * i + 1] = UInt8(truncatingIfNeeded: i * 13)
            rgba[4 * i + 2] = UInt8(truncatingIfNeeded: i * 29); rgba[4 * i + 3] = 255
        }
        let bytes = Array(signature.utf8) + MetadataFileBuilder.be32(declaredBits ?? payload.count * 8) + payload
        let bits = bytes.flatMap { b in (0..<8).map { (b >> (7 - $0)) & 1 } }
        let channels = rgb ? [0, 1, 2] : [3]
        precondition(bits.count <= width * height * channels.count, "image too small")
        for (k, bit) in bits.enumerated() {
            let pixel = k / channels.count
            let x = pixel / height, y = pixel % height
            let i = (y * width + x) * 4 + channels[k % channels.count]
            rgba[i] = (rgba[i] & 0xFE) | bit
        }
        return rgba
    }

    func stealth(_ rgba: [UInt8], _ w: Int, _ h: Int) -> MetadataReport {
        rgba.withUnsafeBytes { MetadataReader.stealthReport(width: w, height: h, rgba: $0, path: "s.png") }
    }

    func testAlphaAndRGBPlainAndCompressed() throws {
        let text = Array(parameters.utf8)
        for (signature, payload, rgb) in [("stealth_pnginfo", text, false), ("stealth_pngcomp", ZipWriter.gzip(text), false),
                                          ("stealth_rgbinfo", text, true), ("stealth_rgbcomp", ZipWriter.gzip(text), true)] {
            let (w, h) = (37, 53)   // not square: catches x/y mix-ups
            let rgba = Self.encode(signature, payload, width: w, height: h, rgb: rgb)
            let m = try XCTUnwrap(rgba.withUnsafeBytes { MetadataReader.stealth(width: w, height: h, rgba: $0) }, signature)
            XCTAssertEqual([m.prompt, m.negativePrompt, m.source], ["a circle", "square", "automatic1111"], signature)
            XCTAssertEqual(m.steps, 20)
        }
    }

    func testNovelAIPayloadIsAChunkDictionary() throws {
        let json = #"{"Title": "NovelAI generated image", "Description": "1girl, sky", "Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 4BDE2A90", "Comment": "{\"prompt\": \"1girl, sky\", \"uc\": \"lowres\", \"steps\": 28, \"seed\": 5, \"scale\": 5.0}"}"#
        let rgba = Self.encode("stealth_pngcomp", ZipWriter.gzip(Array(json.utf8)), width: 64, height: 64)
        let m = try XCTUnwrap(stealth(rgba, 64, 64).metadata)
        XCTAssertEqual([m.source, m.prompt, m.negativePrompt], ["novelai", "1girl, sky", "lowres"])
        XCTAssertEqual(m.steps, 28)
    }

    func testAbsentDamagedOrMismatchedGivesNil() {
        let plain = [UInt8](repeating: 255, count: 16 * 16 * 4)
        XCTAssertEqual(stealth(plain, 16, 16).metadata, nil)
        XCTAssertEqual(stealth(plain, 16, 16).notes, [])
        let noise = (0..<(32 * 32 * 4)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        XCTAssertNil(stealth(noise, 32, 32).metadata)
        // Size mismatches and empty images.
        XCTAssertNil(stealth(plain, 16, 15).metadata)
        XCTAssertEqual(stealth(plain, 16, 15).notes.count, 1)
        XCTAssertNil(stealth([], 0, 0).metadata)
        XCTAssertNil(stealth(plain, Int.max, 2).metadata)
        // A length larger than the image, a corrupt gzip stream, a payload that is not UTF-8.
        let long = Self.encode("stealth_pnginfo", Array("x".utf8), width: 16, height: 16, declaredBits: 1 << 30)
        XCTAssert(stealth(long, 16, 16).notes.first?.contains("payload of 1073741824 bits") == true)
        var gz = ZipWriter.gzip(Array(parameters.utf8)); gz[12] ^= 0xFF
        XCTAssertNil(stealth(Self.encode("stealth_pngcomp", gz, width: 40, height: 40), 40, 40).metadata)
        XCTAssertNil(stealth(Self.encode("stealth_pnginfo", [0xFF, 0xFE, 0x80], width: 16, height: 16), 16, 16).metadata)
    }

    func testCompressedBombIsBounded() {
        let bomb = ZipWriter.gzip([UInt8](repeating: 0x20, count: MetadataLimits.inflatedBytes + (1 << 20)))
        let side = Int(Double(bomb.count * 8 + 200).squareRoot()) + 1
        let r = stealth(Self.encode("stealth_pngcomp", bomb, width: side, height: side), side, side)
        XCTAssertNil(r.metadata)
        XCTAssert(r.notes.first?.contains("exceeds the limit") == true, "\(r.notes)")
    }
}
