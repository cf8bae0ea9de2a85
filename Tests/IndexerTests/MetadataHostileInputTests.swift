import XCTest
@testable import Metadata

/// Broken and hostile files: every one gives a report (nil metadata and/or
/// notes), never a crash, with bounded memory and time.
final class MetadataHostileInputTests: XCTestCase {
    typealias B = MetadataFileBuilder
    let a1111 = "a cat\nSteps: 20, Sampler: Euler, Seed: 1, Size: 8x8"

    func report(_ bytes: [UInt8], _ name: String = "hostile") -> MetadataReport { MetadataFixtures.read(bytes: bytes, path: name) }

    func assertNotes(_ r: MetadataReport, contain fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssert(r.notes.contains { $0.contains(fragment) }, "no note contains '\(fragment)': \(r.notes)", file: file, line: line)
    }

    func testEmptyRandomAndTruncatedFiles() {
        XCTAssertEqual(report([], "zero.png").notes, ["zero.png: the file is empty"])
        var rng = SplitMix64(seed: 1)
        let random = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let r = report(random, "random.png")
        XCTAssertNil(r.metadata)
        XCTAssertEqual(r.notes, ["random.png: not a PNG, JPEG or WebP file"])
        // Random bytes behind each signature.
        for sig in [PNGChunks.signature, [0xFF, 0xD8, 0xFF], Array("RIFF\u{10}\0\0\0WEBP".utf8)] {
            XCTAssertNil(report(sig + random).metadata)
        }
        // A PNG cut at every length: never metadata from a half chunk, always a note.
        let png = B.png([B.tEXt("parameters", a1111)])
        for n in 8..<png.count {
            let t = report(Array(png.prefix(n)))
            XCTAssertFalse(t.notes.isEmpty, "cut at \(n)")
            if n < 41 + a1111.utf8.count + 12 { XCTAssertNil(t.metadata, "cut at \(n)") }
        }
        assertNotes(report(Array(png.prefix(60))), contain: "declares")
        assertNotes(report(Array(png.dropLast(12))), contain: "no IEND")
        // JPEG and WebP whose declared lengths run past the end.
        assertNotes(report([0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0, 0x45, 0x78]), contain: "segment FFE1")
        assertNotes(report(Array("RIFF".utf8) + B.le32(100) + Array("WEBPEXIF".utf8) + B.le32(1 << 30)), contain: "chunk EXIF")
    }

    /// A 30 MB prompt in a PNG text chunk (issue #11, 7): kept up to 64 KiB,
    /// the cut named; a normal prompt is untouched.
    func testAHugePromptIsKeptUpTo64KiBAndMarkedTruncated() throws {
        let huge = String(repeating: "a castle at night, ", count: 30 << 20 / 19)
        let r = report(B.png([B.tEXt("parameters", huge + "\nSteps: 20, Sampler: Euler, Seed: 1, Size: 8x8")]))
        let m = try XCTUnwrap(r.metadata)
        XCTAssertLessThanOrEqual(m.prompt?.utf8.count ?? .max, GenerationMetadata.maxTextBytes)
        XCTAssertGreaterThan(m.prompt?.utf8.count ?? 0, GenerationMetadata.maxTextBytes - 32)
        XCTAssert(m.prompt?.hasPrefix("a castle at night, a castle") == true)
        XCTAssertLessThanOrEqual(m.raw.utf8.count, GenerationMetadata.maxTextBytes)
        XCTAssertEqual(m.truncated, ["prompt", "raw"])
        let normal = try XCTUnwrap(report(B.png([B.tEXt("parameters", a1111)])).metadata)
        XCTAssertNil(normal.truncated)
        XCTAssertEqual(normal.prompt, "a cat")
        // Cut on a character boundary: a 4-byte character straddling the limit is left out whole.
        let emoji = String(repeating: "x", count: GenerationMetadata.maxTextBytes - 2) + "🐎🐎"
        let cut = GenerationMetadata(prompt: emoji, source: "test", raw: "").bounded()
        XCTAssertEqual(cut.prompt?.utf8.count, GenerationMetadata.maxTextBytes - 2)
        XCTAssertEqual(cut.truncated, ["prompt"])
    }

    func testCompressedBombsAreBoundedPerFile() {
        // Each inflates past the per-file budget; together they may not exceed it either.
        let bomb = ZipWriter.zlib([UInt8](repeating: 0x41, count: MetadataLimits.inflatedBytes + 1))
        let r = report(B.png([B.zTXt("parameters", bomb), B.iTXt("prompt", "{}", compressed: true)]))
        XCTAssertNil(r.metadata)
        XCTAssertEqual(r.notes, ["hostile: PNG zTXt 'parameters' inflated exceeds the limit of 67108864 bytes",
                                 "hostile: PNG iTXt 'prompt' inflated, with the file's other compressed data, exceeds the limit of 67108864 bytes"])
        // The budget is shared by all the chunks of a file.
        var inflater = Inflater(budget: 1000)
        let z600 = ZipWriter.zlib([UInt8](repeating: 7, count: 600))
        XCTAssertEqual(try inflater.inflate(z600, what: "a").count, 600)
        XCTAssertThrowsError(try inflater.inflate(z600, what: "b")) {
            XCTAssertEqual($0 as? MetadataError, .tooLarge("b inflated, with the file's other compressed data,", limit: 1000))
        }
        assertNotes(report(B.png([B.zTXt("parameters", Array(bomb.prefix(100)))])), contain: "ends early")
        assertNotes(report(B.png([B.zTXt("parameters", [1, 2, 3, 4])])), contain: "bad compressed data")
    }

    func testIFDLoopsAndBadOffsets() {
        // IFD0's Exif pointer leads back to IFD0.
        let loop = Array("MM\0*".utf8) + B.be32(8) + [0, 1, 0x87, 0x69, 0, 4] + B.be32(1) + B.be32(8) + B.be32(0)
        assertNotes(report(B.jpeg(app1: loop)), contain: "loops back")
        // An IFD that claims 65535 entries, a value offset far outside, a header pointing nowhere.
        let many = Array("II*\0".utf8) + B.le32(8) + [0xFF, 0xFF] + [0x86, 0x92, 7, 0] + B.le32(10) + B.le32(0)
        assertNotes(report(B.webp(exif: many)), contain: "entry 1 of 65535")
        let far = Array(B.tiff(userComment: []).prefix(26)) + [0, 1, 0x92, 0x86, 0, 7] + B.be32(100) + B.be32(0x7FFF_FFF0) + B.be32(0)
        assertNotes(report(B.jpeg(app1: Array(far))), contain: "UserComment value")
        assertNotes(report(B.jpeg(app1: Array("MM\0*".utf8) + B.be32(0xFFFF_FFF0))), contain: "IFD0 at offset")
        assertNotes(report(B.jpeg(app1: Array("XX\0*abcd".utf8))), contain: "no TIFF header")
    }

    func testJSONThatIsNotWhatItClaims() {
        let notGraph = report(B.png([B.tEXt("prompt", #"{"foo": "bar", "n": 1}"#)]))
        XCTAssertNil(notGraph.metadata)
        assertNotes(notGraph, contain: "'prompt' is JSON but not a ComfyUI graph")
        let deep = String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        for key in ["prompt", "parameters", "workflow", "invokeai_metadata"] {
            let r = report(B.png([B.tEXt(key, deep)]))
            XCTAssertNil(r.metadata, key)
            assertNotes(r, contain: "nested deeper than")
        }
        assertNotes(report(B.png([B.tEXt("parameters", "{not json")])), contain: "invalid JSON")
        assertNotes(report(B.png([B.tEXt("invokeai_metadata", "[1, 2]")])), contain: "not a JSON object")
        // A graph whose every link points at itself or nowhere.
        let selfish = #"{"1": {"class_type": "KSampler", "inputs": {"positive": ["1", 0], "negative": [99, 0], "model": ["1", 0]}}}"#
        XCTAssertNil(report(B.png([B.tEXt("prompt", selfish)])).metadata?.prompt)
        // Huge single-line text is prompt text, read quickly.
        let long = String(repeating: "word: other, ", count: 200_000) + "\nSteps: 1, Seed: 2"
        XCTAssertEqual(report(B.png([B.tEXt("parameters", long)])).metadata?.steps, 1)
    }

    /// Random mutations and truncations of the real fixture files, then of the
    /// text entries found in them: the reader must never crash.
    func testFuzzRealFixtures() throws {
        let (dir, rows) = try MetadataFixtures.expected()
        let files = try rows.map { try [UInt8](Data(contentsOf: dir.appendingPathComponent($0.file))) }
        // REVSD_FUZZ_ITERATIONS / REVSD_FUZZ_SEED run it longer or differently.
        let env = ProcessInfo.processInfo.environment
        let iterations = env["REVSD_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 2500
        var rng = SplitMix64(seed: env["REVSD_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED)
        let start = Date()
        var withMetadata = 0
        for iteration in 0..<iterations {
            var b = files[iteration % files.count]
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                guard !b.isEmpty else { break }
                // Mostly near the ends, where the metadata lives.
                let window = min(b.count, 1 << 16)
                let pos = Bool.random(using: &rng) ? Int.random(in: 0..<window, using: &rng)
                                                   : b.count - 1 - Int.random(in: 0..<window, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: b[pos] ^= UInt8.random(in: 1...255, using: &rng)
                case 1: b[pos] = [0x00, 0xFF, 0x7F, 0x80][Int.random(in: 0..<4, using: &rng)]
                case 2: for k in pos..<min(b.count, pos + 4) { b[k] = UInt8.random(in: 0...255, using: &rng) }   // lengths, offsets
                case 3: b.removeSubrange(pos..<min(b.count, pos + Int.random(in: 1...64, using: &rng)))
                default: b = Array(b.prefix(pos))
                }
            }
            let r = MetadataFixtures.read(bytes: b, path: "fuzz-\(iteration)")
            if r.metadata != nil { withMetadata += 1 }
            XCTAssert(r.notes.allSatisfy { $0.hasPrefix("fuzz-\(iteration): ") })
        }
        XCTAssertGreaterThan(withMetadata, 100, "mutations near the ends should leave many files readable")

        // The text entries themselves, mutated: JSON graphs, A1111 text, Dream lines.
        var entries: [[MetadataEntry]] = []
        for f in files.prefix(120) {
            var scan = ContainerScan()
            f.withUnsafeBytes { b in
                switch MetadataReader.container(b) {
                case .png: PNGChunks.read(b, into: &scan)
                case .jpeg: JPEGSegments.read(b, into: &scan)
                case .webp: WebPChunks.read(b, into: &scan)
                case nil: break
                }
            }
            if !scan.entries.isEmpty { entries.append(scan.entries) }
        }
        XCTAssertGreaterThan(entries.count, 100)
        let alphabet = Array(#"{}[]",:0123456789 \n"#)
        for iteration in 0..<(iterations * 3 / 5) {
            var list = entries[iteration % entries.count]
            let k = Int.random(in: 0..<list.count, using: &rng)
            var chars = Array(list[k].text.prefix(200_000))
            for _ in 0..<Int.random(in: 1...6, using: &rng) where !chars.isEmpty {
                let pos = Int.random(in: 0..<chars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: chars[pos] = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
                case 1: chars.remove(at: pos)
                default: chars.insert(contentsOf: chars[pos..<min(chars.count, pos + 16)], at: pos)
                }
            }
            list[k].text = String(chars)
            var problems: [MetadataError] = []
            _ = MetadataInterpreter.interpret(list, problems: &problems)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), Double(iterations) / 20, "fuzzing took too long")
    }
}

/// A small deterministic generator, so a failing mutation can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
