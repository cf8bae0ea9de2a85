import Foundation
import XCTest
@testable import Imaging
@testable import RevsdProtocol
@testable import RevsdSystem
import SyntheticImages

/// The gallery's operations against the real revsdd, through its socket:
/// pages, one image, its file and thumbnail passed back as descriptors, the
/// thumbnail cache following the library, and the web token. Needs the
/// installed models.
final class GalleryDaemonTests: XCTestCase {
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images")

    func setMtime(_ path: String, _ seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)], ofItemAtPath: path)
    }

    /// All the bytes of a received descriptor (which this closes).
    func bytes(of fd: Int32) throws -> [UInt8] {
        defer { Syscalls.close(fd) }
        let st = try Syscalls.status(descriptor: fd, path: "received")
        XCTAssertEqual(st.kind, .regular)
        return try Syscalls.readWhole(descriptor: fd, path: "received", limit: 1 << 26)
    }

    func client(_ h: DaemonHarness) -> ControlClient { ControlClient(socketPath: h.socket, timeout: 60) }

    func notFound<R: ControlRequest>(_ h: DaemonHarness, _ r: R, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do { _ = try h.call(r); XCTFail("\(R.operation) answered", file: file, line: line) } catch {
            guard case .daemon(let e)? = error as? ControlClient.Failure else { XCTFail("\(error)", file: file, line: line); return nil }
            XCTAssertEqual(e.code, .notFound, e.message, file: file, line: line)
            return e.message
        }
        return nil
    }

    func testGalleryPagesImagesFilesThumbnailsAndToken() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let w = h.watch, t0 = 1_700_000_000.0
        let scene = SyntheticLibrary.sample(seed: 11)
        let labelled = try SyntheticLibrary.png(for: scene, metadata: true)
        try Data(labelled).write(to: URL(fileURLWithPath: w + "/a.png"))
        try FileManager.default.createDirectory(atPath: w + "/sub", withIntermediateDirectories: true)
        try Data(labelled).write(to: URL(fileURLWithPath: w + "/sub/a-copy.png"))
        let wide = try SyntheticLibrary.png(for: SyntheticLibrary.sample(seed: 12), width: 640, height: 400, metadata: false)
        try Data(wide).write(to: URL(fileURLWithPath: w + "/b.png"))
        try FileManager.default.copyItem(atPath: Self.images.appendingPathComponent("tall-180x260.jpg").path, toPath: w + "/c.jpg")
        try FileManager.default.copyItem(atPath: Self.images.appendingPathComponent("orientation6.jpg").path, toPath: w + "/d.jpg")
        for (name, dt) in [("a.png", 100.0), ("sub/a-copy.png", 50), ("b.png", 200), ("c.jpg", 300), ("d.jpg", 400)] {
            try setMtime(w + "/" + name, t0 + dt)
        }
        try h.start()
        try h.waitForIndex(5)

        // The web token: made at start, group-readable, 64 hex digits.
        let tokenPath = h.state + "/web-token"
        let token = try WebToken.read(stateDirectory: h.state)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: tokenPath)[.posixPermissions] as? Int, 0o640)

        // Pages: newest first, the copy folded into its newer twin.
        let all = try h.call(ImagesRequest())
        XCTAssertEqual(all.total, 4)
        XCTAssertEqual(all.images.map(\.path), [w + "/d.jpg", w + "/c.jpg", w + "/b.png", w + "/a.png"])
        XCTAssertEqual(all.images.map(\.mtime), [t0 + 400, t0 + 300, t0 + 200, t0 + 100])
        let id = Dictionary(uniqueKeysWithValues: all.images.map { (URL(fileURLWithPath: $0.path).lastPathComponent, $0.imageID) })
        let a = try XCTUnwrap(all.images.last)
        XCTAssertEqual(a.prompt, scene.prompt)
        XCTAssertEqual(a.model, "revsd-synthetic")
        XCTAssertEqual(a.sampler, "Euler a")
        XCTAssertEqual(a.width, 256)
        XCTAssertNotNil(a.caption)
        func page(_ r: ImagesRequest) throws -> [String] { try h.call(r).images.map { URL(fileURLWithPath: $0.path).lastPathComponent } }
        XCTAssertEqual(try page(ImagesRequest(limit: 2, offset: 1)), ["c.jpg", "b.png"])
        XCTAssertEqual(try h.call(ImagesRequest(limit: 2, offset: 1)).total, 4)
        XCTAssertEqual(try page(ImagesRequest(offset: 4)), [])
        XCTAssertEqual(try page(ImagesRequest(hasPrompt: true)), ["a.png"])
        XCTAssertEqual(try page(ImagesRequest(hasPrompt: false)), ["d.jpg", "c.jpg", "b.png"])
        XCTAssertEqual(try page(ImagesRequest(model: "revsd-syn")), ["a.png"])
        XCTAssertEqual(try page(ImagesRequest(sampler: "EULER A")), ["a.png"])
        XCTAssertEqual(try page(ImagesRequest(folder: w + "/sub")), ["a-copy.png"])
        XCTAssertEqual(try page(ImagesRequest(since: t0 + 250)), ["d.jpg", "c.jpg"])
        XCTAssertEqual(try page(ImagesRequest(until: t0 + 250)), ["b.png", "a.png"])

        // One image, from the index.
        let detail = try h.call(ImageRequest(imageID: a.imageID))
        XCTAssertEqual(detail.path, w + "/a.png")
        XCTAssertEqual(detail.paths, [w + "/sub/a-copy.png"])
        XCTAssertEqual(detail.contentHash, sha256Hex(Data(labelled)))
        XCTAssertEqual(detail.size, labelled.count)
        XCTAssertEqual(detail.mtime, t0 + 100)
        XCTAssertEqual(detail.format, "png")
        XCTAssertEqual(detail.width, 256)
        XCTAssertEqual(detail.height, 256)
        XCTAssertEqual(detail.analysis.metadata?.prompt, scene.prompt)
        XCTAssertEqual(detail.analysis.metadata?.negativePrompt, SyntheticLibrary.negativePrompt)
        XCTAssertEqual(detail.analysis.metadata?.steps, 20)
        XCTAssertEqual(detail.analysis.metadata?.sampler, "Euler a")
        XCTAssertEqual(detail.analysis.metadata?.cfgScale, 7)
        XCTAssertEqual(detail.analysis.metadata?.seed, scene.seed)
        XCTAssertEqual(detail.analysis.metadata?.model, "revsd-synthetic")
        XCTAssertEqual(detail.analysis.caption, a.caption)
        XCTAssertNotNil(detail.analysis.knownPromptCosine, "its prediction against its prompt, from the stored vectors")
        XCTAssertEqual(detail.newer, id["b.png"])
        XCTAssertNil(detail.older, "the copy is no card of its own")
        let d = try h.call(ImageRequest(imageID: try XCTUnwrap(id["d.jpg"])))
        XCTAssertNil(d.newer)
        XCTAssertEqual(d.older, id["c.jpg"])
        XCTAssertEqual(notFound(h, ImageRequest(imageID: 999_999)), "image 999999 is not in the index")
        XCTAssertEqual(notFound(h, ImageFileRequest(imageID: 999_999, kind: .thumbnail)), "image 999999 is not in the index")

        // The original, passed back as a descriptor on the indexed file.
        let c = try XCTUnwrap(id["c.jpg"])
        let original = try client(h).callReceiving(ImageFileRequest(imageID: c, kind: .original))
        XCTAssertEqual(try bytes(of: original.descriptor), [UInt8](try Data(contentsOf: URL(fileURLWithPath: w + "/c.jpg"))))
        XCTAssertEqual(original.result.mediaType, "image/jpeg")
        XCTAssertEqual(original.result.kind, .original)
        let cHash = try XCTUnwrap(try h.call(ImageRequest(imageID: c)).contentHash)
        XCTAssertEqual(original.result.etag, "sha256-" + cHash)

        // Thumbnails: made while indexing, WebP, ≤ 320 px, the image's aspect.
        for (name, long) in [("b.png", 320), ("c.jpg", 260), ("d.jpg", nil as Int?)] {
            let image = try h.call(ImageRequest(imageID: try XCTUnwrap(id[name])))
            let hash = try XCTUnwrap(image.contentHash)
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(h.state)/thumbnails/\(hash.prefix(2))/\(hash).webp"), name)
            let thumb = try client(h).callReceiving(ImageFileRequest(imageID: image.imageID, kind: .thumbnail))
            let webp = try bytes(of: thumb.descriptor)
            XCTAssertEqual(thumb.result.mediaType, "image/webp")
            XCTAssertEqual(thumb.result.size, webp.count)
            XCTAssertEqual(Array(webp.prefix(4)), Array("RIFF".utf8))
            XCTAssertEqual(Array(webp[8..<12]), Array("WEBP".utf8))
            let decoded = try webp.withUnsafeBytes { raw in Result { () throws(ImageError) in try ImageDecoder.decode(raw, path: name) } }.get()
            let (iw, ih) = (try XCTUnwrap(image.width), try XCTUnwrap(image.height))
            XCTAssertLessThanOrEqual(max(decoded.image.width, decoded.image.height), 320, name)
            if let long { XCTAssertEqual(max(decoded.image.width, decoded.image.height), long, name) }
            XCTAssertEqual(Double(decoded.image.width) / Double(decoded.image.height), Double(iw) / Double(ih), accuracy: 0.02, name)
        }
        let b = try XCTUnwrap(id["b.png"])
        let bHash = try XCTUnwrap(try h.call(ImageRequest(imageID: b)).contentHash)
        let bThumb = "\(h.state)/thumbnails/\(bHash.prefix(2))/\(bHash).webp"

        // A thumbnail gone from the cache is made again when asked for.
        try FileManager.default.removeItem(atPath: bThumb)
        let again = try client(h).callReceiving(ImageFileRequest(imageID: b, kind: .thumbnail))
        XCTAssertEqual(Array(try bytes(of: again.descriptor).prefix(4)), Array("RIFF".utf8))
        XCTAssertTrue(FileManager.default.fileExists(atPath: bThumb))

        // Deleting the file removes its thumbnail.
        try FileManager.default.removeItem(atPath: w + "/b.png")
        try waitUntil(timeout: 30, "the deleted image's thumbnail goes") { !FileManager.default.fileExists(atPath: bThumb) }
        XCTAssertEqual(try h.call(ImagesRequest()).total, 3)
        XCTAssertEqual(notFound(h, ImageFileRequest(imageID: b, kind: .original)), "image \(b) is not in the index")
        // A copy keeps the thumbnail of its content.
        let aHash = try XCTUnwrap(detail.contentHash)
        try FileManager.default.removeItem(atPath: w + "/a.png")
        try waitUntil(timeout: 30, "a.png leaves the index") { (try? self.h(h, ImagesRequest(hasPrompt: true))) == [w + "/sub/a-copy.png"] }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(h.state)/thumbnails/\(aHash.prefix(2))/\(aHash).webp"))

        // A file changed since it was indexed is not passed; it is indexed again.
        try setMtime(w + "/c.jpg", t0 + 350)   // IN_ATTRIB only: no event queues it
        XCTAssertEqual(notFound(h, ImageFileRequest(imageID: c, kind: .original)),
                       "\(w)/c.jpg changed since it was indexed; it will be indexed again")
        try waitUntil(timeout: 60, "c.jpg is indexed again") { (try? h.call(ImageRequest(imageID: c)))?.mtime == t0 + 350 }
        let fresh = try client(h).callReceiving(ImageFileRequest(imageID: c, kind: .original))
        Syscalls.close(fresh.descriptor)

        // A symbolic link put in place of an indexed file is not followed.
        let dID = try XCTUnwrap(id["d.jpg"])
        let link = h.dir.path("link.jpg")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: w + "/c.jpg")   // an image: its record stays indexed
        XCTAssertEqual(rename(link, w + "/d.jpg"), 0)
        XCTAssertEqual(notFound(h, ImageFileRequest(imageID: dID, kind: .original)),
                       "\(w)/d.jpg is a symbolic link now, not the file that was indexed")

        // The token is kept across restarts.
        h.kill(SIGTERM)
        try h.start()
        XCTAssertEqual(try WebToken.read(stateDirectory: h.state), token)
    }

    func h(_ h: DaemonHarness, _ r: ImagesRequest) throws -> [String] { try h.call(r).images.map(\.path) }
}
