import XCTest
@testable import Metadata

/// Metadata kept beside the image: DiffusionDB part files and .txt captions.
final class MetadataSidecarTests: XCTestCase {
    let dir = TemporaryDirectory()

    func testDiffusionDBPartFile() throws {
        dir.write("part-000001/part-000001.json", #"""
        {"f1.webp": {"p": "a castle, by greg rutkowski", "se": 3312523387, "c": 7.0, "st": 50, "sa": "k_lms"},
         "f2.webp": {"p": "other", "se": 1, "c": 9, "st": 20, "sa": 8}}
        """#)
        let image = dir.write("part-000001/f1.webp", "not really an image")
        let m = try XCTUnwrap(MetadataReader.sidecar(forImageAt: image))
        XCTAssertEqual(m, GenerationMetadata(prompt: "a castle, by greg rutkowski", steps: 50, sampler: "k_lms", cfgScale: 7,
                                             seed: 3_312_523_387, source: "diffusiondb", raw: "part-000001.json: f1.webp"))
        XCTAssertEqual(MetadataReader.sidecar(forImageAt: dir.path("part-000001/f2.webp"))?.sampler, "8")
        XCTAssertNil(MetadataReader.sidecar(forImageAt: dir.path("part-000001/f3.webp")))
        // A broken part file is no sidecar.
        dir.write("bad/part-000002.json", "{\"f1.webp\": ")
        XCTAssertNil(MetadataReader.sidecar(forImageAt: dir.path("bad/f1.webp")))
    }

    func testCaptionText() throws {
        dir.write("cap/img.txt", "\u{FEFF}  a watercolor fox, autumn\n")
        XCTAssertEqual(MetadataReader.sidecar(forImageAt: dir.path("cap/img.png")),
                       GenerationMetadata(prompt: "a watercolor fox, autumn", source: "caption-txt", raw: "  a watercolor fox, autumn\n"))
        dir.write("cap/full.txt", "a fox\nNegative prompt: blur\nSteps: 30, Seed: 4, Size: 512x512")
        let full = try XCTUnwrap(MetadataReader.sidecar(forImageAt: dir.path("cap/full.jpeg")))
        XCTAssertEqual([full.prompt, full.negativePrompt, full.source], ["a fox", "blur", "caption-txt"])
        XCTAssertEqual(full.steps, 30)
        dir.write("cap/empty.txt", " \n ")
        XCTAssertNil(MetadataReader.sidecar(forImageAt: dir.path("cap/empty.png")))
        dir.write("cap/huge.txt", String(repeating: "a", count: MetadataLimits.captionBytes + 1))
        XCTAssertNil(MetadataReader.sidecar(forImageAt: dir.path("cap/huge.png")))
        XCTAssertNil(MetadataReader.sidecar(forImageAt: dir.path("nowhere/x.png")))
        XCTAssertNil(MetadataReader.sidecar(forImageAt: "/"))
    }
}
