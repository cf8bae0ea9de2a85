import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RevsdProtocol
import XCTest
@testable import Gallery

/// Every page and endpoint over the fake backend: what reaches the daemon,
/// and what the page shows.
final class GalleryPagesTests: XCTestCase {
    func testLibraryIsAGridOfLazyThumbnailsNewestFirstWithPages() async throws {
        let backend = FakeBackend()
        backend.with { s in s.images = (1...130).reversed().map { FakeBackend.summary(Int64($0), prompt: $0 % 2 == 0 ? "prompt \($0)" : nil) } }
        try await withGallery(backend) { client in
            let first = try await client.execute(uri: "/", method: .get, headers: authenticated)
            XCTAssertEqual(first.status, .ok)
            XCTAssertEqual(first.headers[.contentType], "text/html; charset=utf-8")
            XCTAssertTrue(first.text.contains("<a href=\"/image/130\"><img src=\"/thumb/130\" loading=\"lazy\" alt=\"prompt 130\"></a>"))
            XCTAssertTrue(first.text.contains("<span class=\"predicted\">predicted:</span> predicted 129"), "no prompt: its caption, marked")
            XCTAssertTrue(first.text.contains("Images 1–60 of 130"))
            XCTAssertTrue(first.text.contains("href=\"/?page=2\""))
            XCTAssertTrue(first.text.contains("<link rel=\"stylesheet\" href=\"/static/app.css\">"))
            XCTAssertTrue(first.text.contains("<script src=\"/static/app.js\" defer></script>"))
            let third = try await client.execute(uri: "/?page=3", method: .get, headers: authenticated)
            XCTAssertTrue(third.text.contains("Images 121–130 of 130"))
            XCTAssertTrue(third.text.contains("href=\"/?page=2\""))
            XCTAssertFalse(third.text.contains("page=4"))
            let bad = try await client.execute(uri: "/?page=0", method: .get, headers: authenticated)
            XCTAssertEqual(bad.status, .badRequest)
        }
        XCTAssertEqual(backend.with { $0.lastImages }, ImagesRequest(limit: 60, offset: 120))
    }

    func testFiltersTravelAsTypedRequestAndStayInTheForm() async throws {
        let backend = FakeBackend()
        try await withGallery(backend) { client in
            let uri = "/?folder=%2Fpics%2Fa+b&has_prompt=yes&model=sdxl&sampler=Euler+a&since=2026-01-31&until=2026-02-01&tier=hard&page=2"
            let r = try await client.execute(uri: uri, method: .get, headers: authenticated)
            XCTAssertEqual(r.status, .ok)
            XCTAssertTrue(r.text.contains("name=\"folder\" value=\"/pics/a b\""))
            XCTAssertTrue(r.text.contains("<option value=\"hard\" selected>hard</option>"))
            XCTAssertTrue(r.text.contains("<option value=\"yes\" selected>has a prompt</option>"))
            XCTAssertTrue(r.text.contains("name=\"since\" value=\"2026-01-31\""))
            XCTAssertTrue(r.text.contains("<details class=\"filter-box\" open>"), "filters in use are shown")
            for bad in ["/?tier=impossible", "/?has_prompt=maybe", "/?since=2026-02-30", "/?until=yesterday"] {
                let b = try await client.execute(uri: bad, method: .get, headers: authenticated)
                XCTAssertEqual(b.status, .badRequest, bad)
            }
        }
        let req = try XCTUnwrap(backend.with { $0.lastImages })
        XCTAssertEqual(req.folder, "/pics/a b")
        XCTAssertEqual(req.hasPrompt, true)
        XCTAssertEqual(req.model, "sdxl")
        XCTAssertEqual(req.sampler, "Euler a")
        XCTAssertEqual(req.since, 1_769_817_600)            // 2026-01-31T00:00Z
        XCTAssertEqual(req.until ?? 0, 1_769_990_400 - 0.001, accuracy: 1e-6)   // the end of 2026-02-01
        XCTAssertEqual(req.tier, .hard)
        XCTAssertEqual(req.offset, 60)
        try await withGallery(FakeBackend()) { client in
            let plain = try await client.execute(uri: "/", method: .get, headers: authenticated)
            XCTAssertTrue(plain.text.contains("<details class=\"filter-box\"><summary>Filters</summary>"), "folded when none is set")
        }
    }

    func testSearchShowsScoresBadgesAndVariationsAndTheGridFragment() async throws {
        let backend = FakeBackend()
        backend.with { s in
            s.searchHits = [
                SearchHit(path: "/pics/a.png", score: 0.912, caption: nil, prompt: "a red circle", alignment: nil, tier: nil, match: .prompt,
                          confidence: 1, variations: ["/pics/a2.png", "/pics/a3.png"], imageID: 3),
                SearchHit(path: "/pics/b.png", score: 0.5, caption: "a blue <i>square</i>", prompt: nil, alignment: nil, tier: nil,
                          match: .predicted, confidence: 0.61, imageID: 4),
                SearchHit(path: "/pics/old.png", score: 0.4, caption: nil, prompt: nil, alignment: nil, tier: nil),
            ]
        }
        try await withGallery(backend) { client in
            let r = try await client.execute(uri: "/?q=red+%3Ccircle%3E&tier=easy", method: .get, headers: authenticated)
            XCTAssertEqual(r.status, .ok)
            let html = r.text
            XCTAssertTrue(html.contains("<span class=\"score\" title=\"score\">0.912</span>"))
            XCTAssertTrue(html.contains(">prompt</span>"))
            XCTAssertTrue(html.contains(">predicted 0.61</span>"))
            XCTAssertTrue(html.contains("+2 variations"))
            XCTAssertTrue(html.contains("a blue &lt;i&gt;square&lt;/i&gt;"))
            XCTAssertTrue(html.contains("<div class=\"noimage\">old.png</div>"), "a hit without an id has no link")
            XCTAssertTrue(html.contains("id=\"q\" value=\"red &lt;circle&gt;\""), "the query stays in the box, escaped")
            XCTAssertTrue(html.contains("<div id=\"results\">"))

            let fragment = try await client.execute(uri: "/grid?q=red+%3Ccircle%3E&tier=easy", method: .get, headers: authenticated)
            XCTAssertEqual(fragment.status, .ok)
            XCTAssertFalse(fragment.text.contains("<html"), "the fragment alone")
            XCTAssertTrue(fragment.text.contains("<section class=\"grid\" id=\"grid\">"))
            XCTAssertTrue(fragment.text.contains("+2 variations"))
            let library = try await client.execute(uri: "/grid", method: .get, headers: authenticated)
            XCTAssertTrue(library.text.contains("No images here."))
        }
        let search = try XCTUnwrap(backend.with { $0.lastSearch })
        XCTAssertEqual(search.query, "red <circle>")
        XCTAssertEqual(search.tier, .easy)
        XCTAssertEqual(search.k, 60)
    }

    func testImagePageShowsWhatTheFileCarriesAndWhatRevsdPredictsEscaped() async throws {
        let backend = FakeBackend()
        backend.with { s in
            s.details[7] = FakeBackend.sampleImage()
            s.details[9] = FakeBackend.sampleImage(id: 9, prompt: nil)
            s.similarHits = [SearchHit(path: "/pics/s.png", score: 0.8, caption: "similar one", prompt: nil, alignment: nil, tier: nil, imageID: 11),
                             SearchHit(path: "/pics/<b>x</b>.png", score: 1, caption: nil, prompt: nil, alignment: nil, tier: nil, imageID: 7)]
        }
        try await withGallery(backend) { client in
            let r = try await client.execute(uri: "/image/7", method: .get, headers: authenticated)
            XCTAssertEqual(r.status, .ok)
            let html = r.text
            XCTAssertFalse(html.contains("<script>alert(1)</script>"))
            XCTAssertTrue(html.contains("a red &lt;script&gt;alert(1)&lt;/script&gt; circle"))
            XCTAssertTrue(html.contains("data-copy=\"a red &lt;script&gt;alert(1)&lt;/script&gt; circle\""), "the copy button's data, escaped")
            XCTAssertTrue(html.contains("<code>/pics/&lt;b&gt;x&lt;/b&gt;.png</code>"), "paths escaped")
            XCTAssertTrue(html.contains("<img src=\"/file/7\""))
            XCTAssertTrue(html.contains("blurry, lowres"))
            for row in ["<th>Steps</th><td>20</td>", "<th>Sampler</th><td>Euler a</td>", "<th>CFG scale</th><td>7.0</td>", "<th>Seed</th><td>1234</td>",
                        "<th>Size</th><td>256 × 256</td>", "<th>Model</th><td>revsd-synthetic</td>"] {
                XCTAssertTrue(html.contains(row), row)
            }
            XCTAssertTrue(html.contains("<p class=\"caption\">a red circle <span class=\"badge\">learned</span>"))
            XCTAssertTrue(html.contains("<li>a red disc <span class=\"score\">0.880</span></li>"))
            XCTAssertTrue(html.contains("<span class=\"keyword\">red</span> <span class=\"keyword\">circle</span>"))
            XCTAssertTrue(html.contains("Alignment 0.710 <span class=\"badge tier\">easy</span>"))
            XCTAssertTrue(html.contains("<a rel=\"prev\" id=\"newer\" href=\"/image/8\">"))
            XCTAssertTrue(html.contains("<a rel=\"next\" id=\"older\" href=\"/image/6\">"))
            XCTAssertTrue(html.contains("href=\"/image/11\""), "similar images")
            XCTAssertFalse(html.contains("<div class=\"grid\"><figure class=\"card\"><a href=\"/image/7\""), "not itself among the similar")
            XCTAssertTrue(html.contains("data-page=\"image\""))

            let none = try await client.execute(uri: "/image/9", method: .get, headers: authenticated)
            XCTAssertTrue(none.text.contains("no prompt in this file"))
            XCTAssertFalse(none.text.contains("data-copy"))
        }
        XCTAssertTrue(backend.calls.contains("similar 7"))
    }

    func testImagePageStillShowsWhenSimilarIsUnavailable() async throws {
        final class NoSimilar: GalleryBackend, @unchecked Sendable {
            let base = FakeBackend()
            var socketPath: String { base.socketPath }
            func status() async throws(ControlClient.Failure) -> StatusResult { try await base.status() }
            func failed(_ r: FailedRequest) async throws(ControlClient.Failure) -> FailedResult { try await base.failed(r) }
            func images(_ r: ImagesRequest) async throws(ControlClient.Failure) -> ImagesResult { try await base.images(r) }
            func image(_ r: ImageRequest) async throws(ControlClient.Failure) -> ImageResult { try await base.image(r) }
            func imageFile(_ r: ImageFileRequest) async throws(ControlClient.Failure) -> PassedFile { try await base.imageFile(r) }
            func search(_ r: SearchRequest) async throws(ControlClient.Failure) -> SearchResult { try await base.search(r) }
            func similar(_ r: SimilarRequest) async throws(ControlClient.Failure) -> SimilarResult {
                throw .daemon(ControlError(.unavailable, "'similar' by image_id is not implemented yet"))
            }
            func train(_ r: TrainRequest) async throws(ControlClient.Failure) -> TrainResult { try await base.train(r) }
        }
        let backend = NoSimilar()
        backend.base.with { $0.details[7] = FakeBackend.sampleImage() }
        let app = Application(router: Gallery(backend: backend, token: testToken).router())
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/image/7", method: .get, headers: authenticated)
            XCTAssertEqual(r.status, .ok)
            XCTAssertTrue(r.text.contains("&#39;similar&#39; by image_id is not implemented yet"))
        }
    }

    func testStatusShowsProgressFailuresWatchesLearningAndTheTrainButton() async throws {
        let backend = FakeBackend()
        backend.with { $0.failedFiles = [FailedFile(path: "/pics/<bad>.png", error: "/pics/<bad>.png: truncated", at: 1_700_000_000)] }
        try await withGallery(backend) { client in
            let r = try await client.execute(uri: "/status?train=started", method: .get, headers: authenticated)
            XCTAssertEqual(r.status, .ok)
            let html = r.text
            XCTAssertTrue(html.contains("<dt>Indexed</dt><dd>12</dd>"))
            XCTAssertTrue(html.contains("<dt>Queued</dt><dd>3</dd>"))
            XCTAssertTrue(html.contains("<dt>Failed</dt><dd>1</dd>"))
            XCTAssertTrue(html.contains("Predicting prompts: 5 of 9"), "learning's re-prediction")
            XCTAssertTrue(html.contains("<dt>Searchable</dt><dd>10</dd>") && html.contains("<dt>Analysed</dt><dd>8</dd>"), "both phases")
            XCTAssertTrue(html.contains("<dt>To analyse</dt><dd>4</dd>") && html.contains("Analysing pixels: 8 of 12"), "the background phase")
            XCTAssertTrue(html.contains("<code>/gone</code> <span class=\"badge missing\">missing</span>"))
            XCTAssertTrue(html.contains("<li><code>/pics</code></li>"))
            XCTAssertTrue(html.contains("<code>/pics/&lt;bad&gt;.png</code>"))
            XCTAssertTrue(html.contains("1 in all, most recent first."))
            XCTAssertTrue(html.contains("<th>Examples</th><td>321</td>"))
            XCTAssertTrue(html.contains("0.610 (constant prediction: 0.420)"))
            XCTAssertTrue(html.contains("Prompt bank: 900 prompts."))
            XCTAssertTrue(html.contains("Training started."))
            XCTAssertTrue(html.contains("<button type=\"submit\">Train now</button>"))
        }
        XCTAssertEqual(backend.calls, ["status", "failed"])
    }

    func testThumbnailsAndFilesComeFromTheDescriptorWithValidators() async throws {
        let backend = FakeBackend()
        let original = (0..<70_000).map { UInt8($0 % 251) }
        backend.with { s in
            s.files["7/thumbnail"] = ([0x52, 0x49, 0x46, 0x46, 1, 2, 3], "image/webp", "sha256-abc")
            s.files["7/original"] = (original, "image/png", "\"o-1\"")
            s.files["8/original"] = ([1, 2], "text/html", "x")
        }
        try await withGallery(backend) { client in
            let t = try await client.execute(uri: "/thumb/7", method: .get, headers: authenticated)
            XCTAssertEqual(t.status, .ok)
            XCTAssertEqual(Array(buffer: t.body), [0x52, 0x49, 0x46, 0x46, 1, 2, 3])
            XCTAssertEqual(t.headers[.contentType], "image/webp")
            XCTAssertEqual(t.headers[.eTag], "\"sha256-abc\"")
            XCTAssertEqual(t.headers[.cacheControl], "private, max-age=86400")
            XCTAssertEqual(t.headers[.xContentTypeOptions], "nosniff")
            let again = try await client.execute(uri: "/thumb/7", method: .get, headers: authenticated + [.ifNoneMatch: "\"sha256-abc\""])
            XCTAssertEqual(again.status, .notModified)
            XCTAssertEqual(again.body.readableBytes, 0)
            XCTAssertEqual(again.headers[.eTag], "\"sha256-abc\"")
            let listed = try await client.execute(uri: "/thumb/7", method: .get, headers: authenticated + [.ifNoneMatch: "\"zzz\", W/\"sha256-abc\""])
            XCTAssertEqual(listed.status, .notModified)
            let stale = try await client.execute(uri: "/thumb/7", method: .get, headers: authenticated + [.ifNoneMatch: "\"older\""])
            XCTAssertEqual(stale.status, .ok)

            let f = try await client.execute(uri: "/file/7", method: .get, headers: authenticated)
            XCTAssertEqual(f.status, .ok)
            XCTAssertEqual(Array(buffer: f.body), original)
            XCTAssertEqual(f.headers[.contentType], "image/png")
            XCTAssertEqual(f.headers[.eTag], "\"o-1\"", "quoted once")
            XCTAssertEqual(f.headers[.cacheControl], "private, max-age=300")
            let odd = try await client.execute(uri: "/file/8", method: .get, headers: authenticated)
            XCTAssertEqual(odd.headers[.contentType], "application/octet-stream", "only image types are served as such")
        }
        XCTAssertEqual(backend.calls.filter { $0.hasPrefix("image_file 7 thumbnail") }.count, 4)
    }

    func testPassedFileReadsAtMostTheReportedSizeAndClosesItsDescriptor() throws {
        let path = NSTemporaryDirectory() + "revsd-web-passed-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3, 4, 5, 6]))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        do {
            let file = PassedFile(result: ImageFileResult(imageID: 1, kind: .original, mediaType: "image/png", size: 4, etag: "e"), descriptor: fd)
            XCTAssertEqual(try file.readAll(), [1, 2, 3, 4], "bounded by the reported size")
            let longer = PassedFile(result: ImageFileResult(imageID: 1, kind: .original, mediaType: "image/png", size: 100, etag: "e"),
                                    descriptor: dup(fd))
            XCTAssertEqual(try longer.readAll(), [1, 2, 3, 4, 5, 6], "a file shorter than reported ends at its end")
        }
        XCTAssertEqual(fcntl(fd, F_GETFD), -1, "closed when released")
    }

    func testStaticAssets() async throws {
        try await withGallery(FakeBackend()) { client in
            let js = try await client.execute(uri: "/static/app.js", method: .get, headers: authenticated)
            XCTAssertEqual(js.status, .ok)
            XCTAssertEqual(js.headers[.contentType], "text/javascript; charset=utf-8")
            for needle in ["fetch(\"/grid\"", "setTimeout(search, 250)", "history.replaceState", "navigator.clipboard", "ArrowLeft", "ArrowRight",
                           "\"Escape\"", "e.key === \"/\""] {
                XCTAssertTrue(js.text.contains(needle), needle)
            }
            XCTAssertFalse(js.text.contains("http://") || js.text.contains("https://"), "nothing from the internet")
            let css = try await client.execute(uri: "/static/app.css", method: .get, headers: authenticated)
            XCTAssertEqual(css.headers[.contentType], "text/css; charset=utf-8")
            XCTAssertTrue(css.text.contains("grid-template-columns: repeat(auto-fill"))
            XCTAssertFalse(css.text.contains("@import") || css.text.contains("url("), "no web fonts or remote files")
        }
    }

    func testUnknownPathIs404Page() async throws {
        try await withGallery(FakeBackend()) { client in
            let r = try await client.execute(uri: "/nowhere", method: .get, headers: authenticated)
            XCTAssertEqual(r.status, .notFound)
            XCTAssertTrue(r.text.contains("Not found"))
        }
    }
}
