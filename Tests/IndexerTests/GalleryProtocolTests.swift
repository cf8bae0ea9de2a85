import Foundation
import XCTest
@testable import RevsdProtocol

/// The gallery's requests and results (docs/PROTOCOL.md, `images`, `image`,
/// `image_file`, `similar` by `image_id`): round trips, and strict decoding
/// that names the field. An image is named by its id only: a path in its
/// place is a bad request, never a file name.
final class GalleryProtocolTests: XCTestCase {
    func testGalleryRequestsRoundTrip() throws {
        try assertRoundTrip(ImagesRequest())
        try assertRoundTrip(ImagesRequest(limit: 500, offset: 120, folder: "/lib/sub", hasPrompt: true, model: "sd_xl", sampler: "Euler a",
                                          since: 1_700_000_000.5, until: 1_800_000_000, tier: .medium))
        try assertRoundTrip(ImageRequest(imageID: 1))
        try assertRoundTrip(ImageRequest(imageID: Int64(Int32.max) + 5))
        try assertRoundTrip(ImageFileRequest(imageID: 3, kind: .original))
        try assertRoundTrip(ImageFileRequest(imageID: 3, kind: .thumbnail))
        try assertRoundTrip(SimilarRequest(imageID: 9, k: 4))
        XCTAssertEqual(try decode(["op": "image_file", "image_id": 2]).request, .success(.imageFile(ImageFileRequest(imageID: 2, kind: .original))),
                       "the original by default")
        XCTAssertEqual(try decode(["op": "images"]).request, .success(.images(ImagesRequest(limit: 60, offset: 0))))
    }

    func testGalleryResultsRoundTrip() throws {
        let card = ImageSummary(imageID: 4, path: "/lib/a.png", mtime: 1_736_899_200.25, width: 512, height: 768, prompt: "a cat",
                                caption: "a cat on a mat", model: "sd_xl", sampler: "Euler a", alignment: 0.5, tier: .easy)
        try assertRoundTrip(ImagesResult(total: 1, offset: 0, images: [card]))
        try assertRoundTrip(ImagesResult(total: 0, offset: 60, images: []))
        let analysis = CaptionResult(path: "/lib/a.png", metadata: nil, caption: "a cat", keywords: ["cat"], knownPromptCosine: nil,
                                     error: nil, includesEmbedding: false, embedding: nil)
        try assertRoundTrip(ImageResult(imageID: 4, path: "/lib/a.png", paths: ["/lib/copy.png"], contentHash: String(repeating: "ab", count: 32),
                                        size: 1234, mtime: 1_736_899_200, format: "png", width: 512, height: 768, analysis: analysis,
                                        newer: nil, older: 3))
        try assertRoundTrip(ImageFileResult(imageID: 4, kind: .thumbnail, mediaType: "image/webp", size: 9000, etag: "sha256-ab-webp320"))
        // Every key is there, null when unknown.
        let line = ControlFraming.responseLine(id: nil, result: ImagesResult(total: 1, offset: 0, images: [
            ImageSummary(imageID: 4, path: "/a.png", mtime: 1, width: nil, height: nil, prompt: nil, caption: nil, model: nil, sampler: nil,
                         alignment: nil, tier: nil)]))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let images = try XCTUnwrap((object["result"] as? [String: Any])?["images"] as? [[String: Any]])
        XCTAssertEqual(Set(images[0].keys), ["image_id", "path", "mtime", "width", "height", "prompt", "caption", "model", "sampler", "alignment", "tier"])
    }

    func testImageIDsAreIntegersOfAtLeastOneNeverPaths() throws {
        for op in ["image", "image_file"] {
            for bad: Any in ["../../etc/passwd", "/etc/passwd", "5", 2.5, true, ["id": 1]] {
                let e = try rejection(["op": op, "image_id": bad])
                XCTAssertEqual(e.code, .badRequest, "\(op) \(bad)")
                XCTAssertEqual(e.message, #""image_id" must be an integer of at least 1 (an image id)"#, "\(op) \(bad)")
            }
            for bad in [0, -3] {
                XCTAssertEqual(try rejection(["op": op, "image_id": bad]),
                               ControlError(.badRequest, #""image_id" must be an integer of at least 1 (got \#(bad))"#))
            }
            XCTAssertEqual(try rejection(["op": op]), ControlError(.badRequest, #"'\#(op)' needs an "image_id" integer"#))
            XCTAssertEqual(try rejection(["op": op, "path": "/etc/passwd"]).code, .badRequest, "a path is no image")
        }
        XCTAssertEqual(try rejection(["op": "image_file", "image_id": 1, "kind": "exif"]).code, .badRequest)
        XCTAssertEqual(try rejection(["op": "image_file", "image_id": 1, "kind": "exif"]).message, #""kind" must be "original" or "thumbnail""#)
        XCTAssertEqual(try rejection(["op": "similar", "image_id": "../a.png"]).code, .badRequest)
        guard case let .success(.similar(both)) = try decode(["op": "similar", "image_id": 3, "path": "/ignored.png"]).request else {
            return XCTFail("similar with both decodes")
        }
        XCTAssertEqual(both.imageID, 3, "image_id wins over path (the handler looks the id up)")
    }

    func testPageFieldsAreCheckedAndNamed() throws {
        let cases: [([String: Any], String)] = [
            (["limit": 0], #""limit" must be an integer from 1 to 500 (got 0)"#),
            (["limit": 501], #""limit" must be an integer from 1 to 500 (got 501)"#),
            (["limit": "60"], #""limit" must be an integer from 1 to 500"#),
            (["offset": -1], #""offset" must be an integer of at least 0 (got -1)"#),
            (["offset": 1.5], #""offset" must be an integer of at least 0"#),
            (["has_prompt": "yes"], #""has_prompt" must be true or false"#),
            (["since": "yesterday"], #""since" must be a number (seconds since the epoch)"#),
            (["until": false], #""until" must be a number (seconds since the epoch)"#),
            (["tier": "extreme"], #""tier" must be easy, medium or hard"#),
            (["sampler": 3], #""sampler" must be a string"#),
            (["model": ["sd"]], #""model" must be a string"#),
            (["folder": 1], #""folder" must be a string"#),
        ]
        for (fields, message) in cases {
            let e = try rejection(fields.merging(["op": "images"]) { a, _ in a })
            XCTAssertEqual(e.code, .badRequest, "\(fields)")
            XCTAssertEqual(e.message, message, "\(fields)")
        }
    }
}
