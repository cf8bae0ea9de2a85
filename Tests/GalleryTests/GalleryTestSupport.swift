import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RevsdProtocol
import RevsdSystem
import Synchronization
import XCTest
@testable import Gallery

let testToken = SessionToken(hex: String(repeating: "ab12", count: 16))!

/// A backend that answers from memory, records what it was asked, and
/// passes image bytes through a real descriptor (a temporary file, open
/// read-only, unlinked at once).
final class FakeBackend: GalleryBackend {
    struct State {
        var images: [ImageSummary] = []
        var details: [Int64: ImageResult] = [:]
        var files: [String: (bytes: [UInt8], mediaType: String, etag: String)] = [:]
        var searchHits: [SearchHit] = []
        var similarHits: [SearchHit] = []
        var status = FakeBackend.sampleStatus
        var failedFiles: [FailedFile] = []
        /// When set, every call fails with it.
        var failure: ControlClient.Failure?
        var calls: [String] = []
        var lastImages: ImagesRequest?
        var lastSearch: SearchRequest?
    }

    let state = Mutex(State())
    let socketPath = "/run/test/revsdd.sock"

    func with<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
    var calls: [String] { with { $0.calls } }

    func record(_ op: String) throws(ControlClient.Failure) {
        let failure: ControlClient.Failure? = with { $0.calls.append(op); return $0.failure }
        if let failure { throw failure }
    }

    static let notFound = ControlClient.Failure.daemon(ControlError(.notFound, "no image with id"))

    func status() async throws(ControlClient.Failure) -> StatusResult { try record("status"); return with { $0.status } }

    func failed(_ request: FailedRequest) async throws(ControlClient.Failure) -> FailedResult {
        try record("failed")
        return with { FailedResult(total: $0.failedFiles.count, offset: 0, files: $0.failedFiles) }
    }

    func images(_ request: ImagesRequest) async throws(ControlClient.Failure) -> ImagesResult {
        try record("images")
        return with { s in
            s.lastImages = request
            return ImagesResult(total: s.images.count, offset: request.offset, images: Array(s.images.dropFirst(request.offset).prefix(request.limit)))
        }
    }

    func image(_ request: ImageRequest) async throws(ControlClient.Failure) -> ImageResult {
        try record("image \(request.imageID)")
        guard let r = with({ $0.details[request.imageID] }) else { throw Self.notFound }
        return r
    }

    func imageFile(_ request: ImageFileRequest) async throws(ControlClient.Failure) -> PassedFile {
        try record("image_file \(request.imageID) \(request.kind.rawValue)")
        guard let f = with({ $0.files["\(request.imageID)/\(request.kind.rawValue)"] }) else { throw Self.notFound }
        let path = NSTemporaryDirectory() + "revsd-web-fake-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(f.bytes))
        let fd = open(path, O_RDONLY)
        unlink(path)
        guard fd >= 0 else { throw .io("cannot open the fake's file") }
        return PassedFile(result: ImageFileResult(imageID: request.imageID, kind: request.kind, mediaType: f.mediaType, size: f.bytes.count, etag: f.etag),
                          descriptor: fd)
    }

    func search(_ request: SearchRequest) async throws(ControlClient.Failure) -> SearchResult {
        try record("search")
        return with { s in s.lastSearch = request; return SearchResult(query: request.query, results: Array(s.searchHits.prefix(request.k))) }
    }

    func similar(_ request: SimilarRequest) async throws(ControlClient.Failure) -> SimilarResult {
        try record("similar \(request.imageID ?? 0)")
        return with { SimilarResult(path: "/x", results: $0.similarHits) }
    }

    func train(_ request: TrainRequest) async throws(ControlClient.Failure) -> TrainResult {
        try record("train")
        return TrainResult(started: true, learning: LearningStatus(state: .idle, lastRun: nil, promptBank: 0, lastError: nil))
    }

    static let sampleStatus: StatusResult = {
        var s = StatusResult(
        indexed: 12, queued: 3, failed: 1, withPrompt: 7, watches: ["/pics", "/gone"], models: ["all-MiniLM-L6-v2"], watchedDirectories: 4,
        watchLimit: nil, missingWatches: ["/gone"], failedFiles: [FailedFile(path: "/pics/bad.png", error: "/pics/bad.png: truncated PNG", at: 1_700_000_000)],
        processedSinceStart: 15, failedSinceStart: 1, version: "0.9", pid: 42,
        learning: LearningStatus(state: .predicting(done: 5, total: 9),
                                 lastRun: LearningStatus.Run(trainedAt: 1_700_000_000, examples: 321, validationMeanCosine: 0.61,
                                                             constantMeanCosine: 0.42, members: ["efficientnet-lite0"]),
                                 promptBank: 900, lastError: nil))
        s.searchable = 10; s.analysed = 8; s.analysisQueued = 4
        return s
    }()

    /// Image 7: a file with a prompt (hostile markup in it), parameters, a learned caption.
    static func sampleImage(id: Int64 = 7, prompt: String? = "a red <script>alert(1)</script> circle") -> ImageResult {
        let meta = CaptionResult.FileMetadata(prompt: prompt, negativePrompt: "blurry, lowres", source: "automatic1111", steps: 20,
                                              sampler: "Euler a", cfgScale: 7, seed: 1234, width: 256, height: 256, model: "revsd-synthetic",
                                              modelHash: "0000000000")
        var analysis = CaptionResult(path: "/pics/<b>x</b>.png", metadata: meta, caption: "a red circle", keywords: ["red", "circle"],
                                     knownPromptCosine: 0.9, error: nil, includesEmbedding: false, embedding: nil, prediction: .learned,
                                     candidates: [.init(prompt: "a red circle", cosine: 0.93), .init(prompt: "a red disc", cosine: 0.88),
                                                  .init(prompt: "red ball", cosine: 0.8)],
                                     indexedScore: .init(alignment: 0.71, tier: .easy))
        analysis.confidence = 0.66
        return ImageResult(imageID: id, path: "/pics/<b>x</b>.png", paths: ["/pics/<b>x</b>.png"], contentHash: "abc", size: 1000, mtime: 1_700_000_000,
                           format: "png", width: 256, height: 256, analysis: analysis, newer: 8, older: 6)
    }

    static func summary(_ id: Int64, prompt: String?) -> ImageSummary {
        ImageSummary(imageID: id, path: "/pics/\(id).png", mtime: 1_700_000_000 - Double(id), width: 256, height: 256, prompt: prompt,
                     caption: "predicted \(id)", model: "m", sampler: "Euler a", alignment: nil, tier: nil)
    }
}

/// The router of a gallery over `backend`, as the `.router` test framework runs it.
func withGallery<T: Sendable>(_ backend: FakeBackend, _ test: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
    let app = Application(router: Gallery(backend: backend, token: testToken).router())
    return try await app.test(.router, test)
}

/// The session cookie, as a browser sends it after the first visit.
var authenticated: HTTPFields { [.cookie: "\(SessionToken.cookieName)=\(testToken.hex)"] }

extension HTTPFields {
    static func + (a: HTTPFields, b: HTTPFields) -> HTTPFields {
        var out = a
        for f in b { out.append(f) }
        return out
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

let hostField = HTTPField.Name("Host")!
