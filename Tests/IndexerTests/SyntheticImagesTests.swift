import CZlib
import Foundation
import Inference
import SyntheticImages
import XCTest
@testable import Imaging
@testable import Metadata

/// The synthetic library's files: valid PNG that libpng decodes to exactly
/// the rendered pixels, A1111 parameters the metadata reader reads back, and
/// stripped copies with no metadata at all.
final class SyntheticImagesTests: XCTestCase {
    func decode(_ png: [UInt8], path: String = "synthetic.png") throws -> DecodedImage {
        try png.withUnsafeBytes { b throws(ImageError) in try ImageDecoder.decode(b, path: path) }
    }

    func metadata(_ png: [UInt8], path: String = "synthetic.png") -> MetadataReport {
        png.withUnsafeBytes { MetadataReader.read($0, path: path) }
    }

    /// RGB → RGBA with opaque alpha, as the decoder returns it.
    func rgba(_ rgb: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rgb.count / 3 * 4)
        for i in stride(from: 0, to: rgb.count, by: 3) { out += [rgb[i], rgb[i + 1], rgb[i + 2], 255] }
        return out
    }

    /// The chunk types of a PNG file, each chunk's CRC checked with zlib.
    func chunkTypes(_ png: [UInt8]) -> [String] {
        var types: [String] = [], at = 8
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        while at + 12 <= png.count {
            let length = png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            let body = Array(png[(at + 4)..<(at + 8 + length)])
            let stored = png[(at + 8 + length)..<(at + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let crc = UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
            let type = String(decoding: body.prefix(4), as: UTF8.self)
            XCTAssertEqual(stored, crc, "CRC of \(type)")
            types.append(type)
            at += 12 + length
        }
        XCTAssertEqual(at, png.count, "chunks end at the end of the file")
        return types
    }

    func testWrittenPNGDecodesToTheRenderedPixelsWithItsPrompt() throws {
        for (seed, width, height) in [(UInt64(1), 256, 256), (7, 200, 120), (99, 64, 96)] {
            let scene = SyntheticLibrary.sample(seed: seed)
            let png = try SyntheticLibrary.png(for: scene, width: width, height: height, metadata: true)
            XCTAssertEqual(chunkTypes(png), ["IHDR", "tEXt", "IDAT", "IEND"])
            let decoded = try decode(png)
            XCTAssertEqual(decoded.format, .png)
            XCTAssertFalse(decoded.hasAlpha)
            XCTAssertEqual([decoded.image.width, decoded.image.height], [width, height])
            XCTAssertEqual(decoded.image.pixels, rgba(scene.render(width: width, height: height)), "seed \(seed)")

            let report = metadata(png)
            XCTAssertEqual(report.notes, [])
            let m = try XCTUnwrap(report.metadata)
            XCTAssertEqual(m.prompt, scene.prompt)
            XCTAssertEqual(m.source, "automatic1111")
            XCTAssertEqual(m.negativePrompt, "blurry, lowres")
            XCTAssertEqual(m.steps, 20)
            XCTAssertEqual(m.sampler, "Euler a")
            XCTAssertEqual(m.cfgScale, 7)
            XCTAssertEqual(m.seed, seed)
            XCTAssertEqual([m.width, m.height], [width, height])
            XCTAssertEqual(m.model, "revsd-synthetic")
            XCTAssertEqual(m.modelHash, "0000000000")

            let stripped = try SyntheticLibrary.png(for: scene, width: width, height: height, metadata: false)
            XCTAssertEqual(chunkTypes(stripped), ["IHDR", "IDAT", "IEND"])
            XCTAssertNil(metadata(stripped).metadata)
            XCTAssertEqual(try decode(stripped).image.pixels, decoded.image.pixels)
        }
    }

    func testWriteLibraryWritesLabelledAndStrippedCopiesAndPromptsTSV() throws {
        let dir = TemporaryDirectory()
        let labelled = try SyntheticLibrary.writeLibrary(to: dir.url.appendingPathComponent("labelled"), count: 12, seed: 5, metadata: true)
        let stripped = try SyntheticLibrary.writeLibrary(to: dir.url.appendingPathComponent("stripped"), count: 12, seed: 5, metadata: false)
        XCTAssertEqual(labelled, stripped)
        XCTAssertEqual(labelled.map(\.file), (0..<12).map { String(format: "synthetic-%06d.png", $0) })
        XCTAssertEqual(Set(labelled.map(\.scene.seed)).count, 12)
        for entry in labelled {
            XCTAssertEqual(entry.prompt, entry.scene.prompt)
            let a = try MappedFile(path: dir.path("labelled/\(entry.file)"))
            let b = try MappedFile(path: dir.path("stripped/\(entry.file)"))
            let aBytes = UnsafeRawBufferPointer(start: a.base, count: a.count)
            let bBytes = UnsafeRawBufferPointer(start: b.base, count: b.count)
            XCTAssertEqual(MetadataReader.read(aBytes, path: a.path).metadata?.prompt, entry.prompt)
            XCTAssertNil(MetadataReader.read(bBytes, path: b.path).metadata)
            let pa = try ImageDecoder.decode(aBytes, path: a.path).image.pixels
            XCTAssertEqual(pa, try ImageDecoder.decode(bBytes, path: b.path).image.pixels)
            XCTAssertEqual(pa, rgba(entry.scene.render()))
        }

        let tsv = dir.url.appendingPathComponent("prompts.tsv")
        try SyntheticLibrary.writePromptsTSV(labelled, to: tsv)
        let lines = try String(contentsOf: tsv, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.first, "file\tprompt")
        XCTAssertEqual(lines.last, "")
        XCTAssertEqual(lines.dropFirst().dropLast().map(String.init), labelled.map { "\($0.file)\t\($0.prompt)" })

        var odd = labelled[0]
        odd.prompt = "a\tb\nc\\d"
        try SyntheticLibrary.writePromptsTSV([odd], to: tsv)
        XCTAssertEqual(try String(contentsOf: tsv, encoding: .utf8), "file\tprompt\n\(odd.file)\ta\\tb\\nc\\\\d\n")
    }

    func testPNGWriterRGBATextEncodingsAndBadInput() throws {
        // RGBA with every alpha level survives exactly.
        var pixels: [UInt8] = []
        for i in 0..<256 { pixels += [UInt8(i), UInt8(255 - i), UInt8(i * 7 % 256), UInt8(i)] }
        let png = try PNGWriter.encode(width: 16, height: 16, pixels: pixels, colorType: .rgba)
        let decoded = try decode(png)
        XCTAssertTrue(decoded.hasAlpha)
        XCTAssertEqual(decoded.image.pixels, pixels)

        // Latin-1 text goes in tEXt, anything else in UTF-8 iTXt; both read back.
        let settings = "\nSteps: 20, Sampler: Euler a, Seed: 1"
        for (prompt, chunk) in [("café crème", "tEXt"), ("a cat ☕ 猫", "iTXt")] {
            let file = try PNGWriter.encode(width: 1, height: 1, pixels: [1, 2, 3], text: [("parameters", prompt + settings)])
            XCTAssertEqual(chunkTypes(file), ["IHDR", chunk, "IDAT", "IEND"])
            XCTAssertEqual(metadata(file).metadata?.prompt, prompt)
        }

        XCTAssertThrowsError(try PNGWriter.encode(width: 2, height: 2, pixels: [0, 0, 0])) {
            XCTAssertEqual($0 as? SyntheticImageError, .pixelCountMismatch(expected: 12, actual: 3))
        }
        XCTAssertThrowsError(try PNGWriter.encode(width: 0, height: 2, pixels: [])) {
            XCTAssertEqual($0 as? SyntheticImageError, .invalidSize(width: 0, height: 2))
        }
        for bad in ["", " lead", "trail ", "two  spaces", String(repeating: "k", count: 80), "tab\there", "猫"] {
            XCTAssertThrowsError(try PNGWriter.encode(width: 1, height: 1, pixels: [0, 0, 0], text: [(bad, "x")]), bad) {
                XCTAssertEqual($0 as? SyntheticImageError, .invalidKeyword(bad))
            }
        }
    }

    func testSameSeedSameBytesAndDifferentSeedsDifferentScenes() throws {
        XCTAssertEqual(SyntheticLibrary.sample(seed: 42), SyntheticLibrary.sample(seed: 42))
        XCTAssertEqual(try SyntheticLibrary.png(for: .sample42, metadata: true), try SyntheticLibrary.png(for: .sample42, metadata: true))
        XCTAssertEqual(SyntheticLibrary.scenes(count: 30, seed: 3), SyntheticLibrary.scenes(count: 30, seed: 3))
        XCTAssertNotEqual(SyntheticLibrary.scenes(count: 30, seed: 3), SyntheticLibrary.scenes(count: 30, seed: 4))
        // A longer library starts with the shorter one.
        XCTAssertEqual(Array(SyntheticLibrary.scenes(count: 40, seed: 3).prefix(30)), SyntheticLibrary.scenes(count: 30, seed: 3))

        let samples = (0..<500).map { SyntheticLibrary.sample(seed: UInt64($0)) }
        // 6·8·3·5·5·7·3·3 = 453600 prompts: a few of 500 may coincide, not more.
        XCTAssertGreaterThan(Set(samples.map(\.prompt)).count, 490)
        // Two scenes with the same factors but different seeds differ in detail.
        var twin = samples[0]
        twin.seed = 12345
        XCTAssertEqual(twin.prompt, samples[0].prompt)
        XCTAssertNotEqual(twin.render(width: 64, height: 64), samples[0].render(width: 64, height: 64))
    }
}

extension SyntheticScene {
    static let sample42 = SyntheticLibrary.sample(seed: 42)
}
