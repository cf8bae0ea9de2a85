import Foundation
import XCTest
@testable import RevsdProtocol
import RevsdSystem

/// The control protocol's types (docs/PROTOCOL.md): every request and
/// result survives the wire, decoding is strict and names the field that is
/// wrong, and the JSON is the shape version 1 sent.
final class ControlProtocolTests: XCTestCase {
    // MARK: Round trips

    func testEveryOperationsRequestRoundTrips() throws {
        try assertRoundTrip(StatusRequest())
        try assertRoundTrip(SearchRequest(query: "a red circle"))
        try assertRoundTrip(SearchRequest(query: "a red circle", k: 1000, folder: "/lib/sub", hasPrompt: false, since: 1_700_000_000.5,
                                          until: 1_800_000_000, model: "sd_xl", text: "circle", maxAlignment: 0.25, tier: .hard))
        try assertRoundTrip(SearchRequest(query: nil, k: 5, tier: .easy))
        try assertRoundTrip(SearchRequest(query: "", maxAlignment: -0.5))
        try assertRoundTrip(SimilarRequest(path: "/lib/a.png"))
        try assertRoundTrip(SimilarRequest(path: "/lib/a.png", k: 1))
        try assertRoundTrip(CaptionRequest(name: "/home/me/a.png", embedding: true))
        try assertRoundTrip(CaptionRequest(name: nil))
        try assertRoundTrip(WatchAddRequest(path: "/lib"))
        try assertRoundTrip(WatchRemoveRequest(path: "/lib"))
        try assertRoundTrip(WatchListRequest())
        try assertRoundTrip(ReindexRequest())
        try assertRoundTrip(ReindexRequest(path: "/lib/sub"))
        try assertRoundTrip(TrainRequest())
        try assertRoundTrip(TrainRequest(cancel: true))
        try assertRoundTrip(PromptsImportRequest(prompts: ["a cat", "a \"dog\"\n", "ü/ß"], source: "corpus.txt"))
        try assertRoundTrip(PromptsImportRequest(prompts: []))
        try assertRoundTrip(EvalAddRequest(session: "S1", name: "/eval/a.png", prompt: "a red circle"))
        try assertRoundTrip(EvalAddRequest(session: "S1", name: nil))
        try assertRoundTrip(EvalRunRequest(session: "S1", captions: true))
        try assertRoundTrip(EvalRunRequest(session: "S1"))
    }

    static let learning = LearningStatus(
        state: .idle, lastRun: .init(trainedAt: 1_736_899_200.125, examples: 300, validationMeanCosine: Double(Float(0.734)),
                                     constantMeanCosine: 0.5, members: ["efficientnet-lite0/ridge", "dakl"]),
        promptBank: 301, lastError: nil)

    static let hit = SearchHit(path: "/lib/a.png", score: Double(Float(0.61)), caption: "a picture of a circle", prompt: nil,
                               alignment: nil, tier: nil)

    static let caption = CaptionResult(
        path: "/lib/a.png",
        metadata: .init(prompt: "a circle", negativePrompt: nil, source: "automatic1111", steps: 20, sampler: "Euler a", cfgScale: 7.5,
                        seed: 18_446_744_073_709_551_615, width: 512, height: nil, model: "sd15", modelHash: nil),
        caption: "a red circle", keywords: ["circle", "red"], knownPromptCosine: Double(Float(0.42)), error: nil,
        includesEmbedding: true, embedding: [0.6, -0.8], prediction: .learned,
        candidates: [.init(prompt: "a red circle", cosine: 0.9), .init(prompt: "a circle", cosine: 0.8)],
        indexedScore: .init(alignment: 0.3, tier: .hard))

    static let eval = EvalRunResult(
        images: 60, rows: [.init(encoder: "efficientnet-lite0", head: "mlp", technique: "+MLC", meanCosine: Double(Float(0.7)))],
        ensemble: .init(0.75), constant: .init(0.5), zeroShot: nil, caption: .init(exactMatchRate: 0.25, meanCosine: 0.6),
        refCLIPScore: .init(clipScore: 0.3, referenceScore: 0.8, refCLIPScore: 0.43), retrainedExcluding: 4,
        retrainedExcludingNearDuplicates: 2, table: "encoder  head\n",
        captions: [.init(name: "/eval/a.png", caption: nil, prompt: "a red circle")])

    func testFailedListsAndStatusReportMissingWatchesAndRecentFailures() throws {
        try assertRoundTrip(FailedRequest(limit: 5, offset: 10))
        XCTAssertEqual(try decode(["op": "failed"]).request, .success(.failed(FailedRequest(limit: 100, offset: 0))))
        XCTAssertEqual(try rejection(["op": "failed", "limit": 0]).message, "\"limit\" must be an integer from 1 to 1000 (got 0)")
        XCTAssertEqual(try rejection(["op": "failed", "offset": "3"]).code, .badRequest)
        let file = FailedFile(path: "/lib/broken.png", error: "/lib/broken.png: not a PNG, JPEG or WebP image", at: 1_736_899_200.5)
        try assertRoundTrip(FailedResult(total: 3, offset: 0, files: [file]))
        XCTAssertEqual(try wire(FailedResult(total: 1, offset: 0, files: [file])), try version1([
            "total": 1, "offset": 0, "files": [["path": "/lib/broken.png", "error": "/lib/broken.png: not a PNG, JPEG or WebP image", "at": 1_736_899_200.5]],
        ]))
        try assertRoundTrip(StatusResult(indexed: 1, queued: 0, failed: 1, withPrompt: 0, watches: ["/lib", "/mnt/disk"], models: [],
                                         watchedDirectories: 1, watchLimit: nil, missingWatches: ["/mnt/disk"], failedFiles: [file],
                                         processedSinceStart: 1, failedSinceStart: 1, version: "0.1.0", pid: 2, learning: nil))
        // A daemon from before these keys: read as empty.
        let old = #"{"v":1,"id":1,"ok":true,"result":{"indexed":0,"queued":0,"failed":0,"with_prompt":0,"watches":[],"models":[],"# +
            #""watched_directories":0,"watch_limit":null,"processed_since_start":0,"failed_since_start":0,"version":"0.0.9","pid":1}}"#
        let decoded = try ControlFraming.decodeResponse(Array(old.utf8), as: StatusResult.self)
        guard case let .success(s) = decoded.outcome else { return XCTFail("\(decoded)") }
        XCTAssertEqual(s.missingWatches, [])
        XCTAssertEqual(s.failedFiles, [])
    }

    /// Tests run as root, where connect(2) on a socket file never fails with
    /// EACCES: the translation of the error is checked here instead.
    func testASocketTheUserMayNotOpenIsAPermissionToAskForNotADaemonToStart() {
        let denied = ControlClient.Failure.connecting(to: "/run/revsd/revsdd.sock", SystemError("connect", path: "/run/revsd/revsdd.sock", errno: EACCES))
        XCTAssertEqual("\(denied)", "permission denied on the socket /run/revsd/revsdd.sock: join group revsd (sudo usermod -aG revsd $USER, then log in again) or run revsdctl as root or as the daemon's user")
        let absent = ControlClient.Failure.connecting(to: "/x.sock", SystemError("connect", path: "/x.sock", errno: ENOENT))
        XCTAssert("\(absent)".hasPrefix("/x.sock: revsdd is not running (No such file or directory)"), "\(absent)")
        let refused = ControlClient.Failure.connecting(to: "/x.sock", SystemError("connect", path: "/x.sock", errno: ECONNREFUSED))
        XCTAssert("\(refused)".contains("revsdd is not running"), "\(refused)")
    }

    func testEveryOperationsResultRoundTrips() throws {
        try assertRoundTrip(StatusResult(indexed: 10, queued: 2, failed: 1, withPrompt: 7, watches: ["/lib"], models: ["all-MiniLM-L6-v2"],
                                         watchedDirectories: 3, watchLimit: nil, processedSinceStart: 13, failedSinceStart: 1,
                                         version: "0.1.0", pid: 4242, learning: Self.learning))
        try assertRoundTrip(StatusResult(indexed: 0, queued: 0, failed: 0, withPrompt: 0, watches: [], models: [], watchedDirectories: 0,
                                         watchLimit: "inotify watch limit reached", processedSinceStart: 0, failedSinceStart: 0,
                                         version: "0.1.0", pid: 1, learning: nil))
        for state: LearningStatus.State in [.idle, .training(phase: "ridge", fraction: 0.5, reason: "asked"), .predicting(done: 3, total: 9)] {
            var l = Self.learning
            l.state = state
            l.lastRun = nil
            l.lastError = "cancelled"
            try assertRoundTrip(TrainResult(started: true, learning: l))
        }
        try assertRoundTrip(TrainResult(cancelled: Self.learning))
        try assertRoundTrip(SearchResult(query: "a circle", results: [Self.hit, SearchHit(path: "/b.jpg", score: 0.1, caption: nil,
                                                                                          prompt: "a square", alignment: 0.2, tier: .medium)]))
        try assertRoundTrip(SearchResult(query: nil, results: []))
        try assertRoundTrip(SimilarResult(path: "/lib/a.png", results: [Self.hit]))
        try assertRoundTrip(Self.caption)
        try assertRoundTrip(CaptionResult(path: "x", metadata: nil, caption: nil, keywords: [], knownPromptCosine: nil, error: "x: broken",
                                          includesEmbedding: false, embedding: nil))
        try assertRoundTrip(CaptionResult.failure(path: "x", error: "x: cannot read", includesEmbedding: true))
        var noScore = Self.caption
        noScore.indexedScore = .init(alignment: nil, tier: nil)
        try assertRoundTrip(noScore)
        try assertRoundTrip(WatchesResult(watches: ["/a", "/b"]))
        try assertRoundTrip(ReindexResult(queued: 12))
        try assertRoundTrip(PromptsImportResult(read: 3, added: 2, promptBank: 302))
        try assertRoundTrip(EvalAddResult(name: "/eval/a.png"))
        try assertRoundTrip(EvalAddResult(name: "/eval/b.png", error: "/eval/b.png: no true prompt"))
        try assertRoundTrip(Self.eval)
        var plain = Self.eval
        plain.refCLIPScore = nil; plain.table = nil; plain.captions = nil; plain.zeroShot = .init(0.3)
        try assertRoundTrip(plain)
    }

    func testErrorsRoundTripWithTheirCode() throws {
        for code in ControlError.Code.allCases {
            let line = ControlFraming.errorLine(id: .integer(7), ControlError(code, "why"))
            let back = try ControlFraming.decodeResponse(Array(line.dropLast()), as: StatusResult.self)
            XCTAssertEqual(back.outcome, .failure(ControlError(code, "why")))
            XCTAssertEqual(back.id, .integer(7))
        }
        // A code from a newer daemon still reaches the user.
        let newer = Array(#"{"error":{"code":"shiny_new","message":"m"},"ok":false,"v":1}"#.utf8)
        XCTAssertEqual(try ControlFraming.decodeResponse(newer, as: StatusResult.self).outcome, .failure(ControlError(.internalError, "m")))
    }

    // MARK: Strict decoding

    func testWrongTypedFiltersAreBadRequestsThatNameTheField() throws {
        let cases: [(String, Any, String)] = [
            ("since", "2024-01-01", #""since" must be a number (seconds since the epoch)"#),
            ("until", true, #""until" must be a number (seconds since the epoch)"#),
            ("has_prompt", "yes", #""has_prompt" must be true or false"#),
            ("has_prompt", 1, #""has_prompt" must be true or false"#),
            ("max_alignment", "low", #""max_alignment" must be a number"#),
            ("tier", "extreme", #""tier" must be easy, medium or hard"#),
            ("tier", 2, #""tier" must be easy, medium or hard"#),
            ("folder", ["/a"], #""folder" must be a string"#),
            ("model", 15, #""model" must be a string"#),
            ("text", ["a": 1], #""text" must be a string"#),
            ("k", "10", #""k" must be an integer from 1 to 1000"#),
            ("k", 2.5, #""k" must be an integer from 1 to 1000"#),
        ]
        for (key, value, message) in cases {
            let e = try rejection(["op": "search", "query": "a cat", key: value])
            XCTAssertEqual(e.code, .badRequest, "\(key): \(value)")
            XCTAssertEqual(e.message, message)
        }
        XCTAssertEqual(try rejection(["op": "caption", "embedding": "yes"]).message, #""embedding" must be true or false"#)
        XCTAssertEqual(try rejection(["op": "train", "cancel": "now"]).message, #""cancel" must be true or false"#)
        XCTAssertEqual(try rejection(["op": "eval_run", "session": "S", "captions": 1]).message, #""captions" must be true or false"#)
        XCTAssertEqual(try rejection(["op": "prompts_import", "prompts": ["a", 2]]).message, #""prompts" must be an array of strings"#)
        XCTAssertEqual(try rejection(["op": "reindex", "path": 3]).message, #""path" must be a string"#)
    }

    func testMissingRequiredFieldsAreBadRequestsThatNameTheField() throws {
        let cases: [([String: Any], String)] = [
            (["op": "search"], #"'search' needs a "query" string (or "max_alignment" / "tier")"#),
            (["op": "search", "query": ""], #"'search' needs a "query" string (or "max_alignment" / "tier")"#),
            (["op": "search", "k": 5, "folder": "/lib"], #"'search' needs a "query" string (or "max_alignment" / "tier")"#),
            (["op": "similar"], #"'similar' needs a "path" string"#),
            (["op": "similar", "path": ""], #"'similar' needs a "path" string"#),
            (["op": "watch_add"], #"'watch_add' needs a "path" string"#),
            (["op": "watch_remove", "path": NSNull()], #"'watch_remove' needs a "path" string"#),
            (["op": "prompts_import"], #"'prompts_import' needs a "prompts" array of strings"#),
            (["op": "eval_add", "name": "a.png"], #"'eval_add' needs a "session" string"#),
            (["op": "eval_run"], #"'eval_run' needs a "session" string"#),
        ]
        for (object, message) in cases {
            let e = try rejection(object)
            XCTAssertEqual(e.code, .badRequest, "\(object)")
            XCTAssertEqual(e.message, message)
        }
        // An alignment filter stands in for the query: the least aligned first.
        let drift = try decode(["op": "search", "tier": "hard"]).request
        XCTAssertEqual(drift, .success(.search(SearchRequest(query: nil, tier: .hard))))
        if case let .success(.search(r)) = drift { XCTAssert(r.listsLeastAligned) }
        XCTAssertEqual(try decode(["op": "search", "query": "", "max_alignment": 0]).request,
                       .success(.search(SearchRequest(query: "", maxAlignment: 0))))
    }

    func testKOutsideOneToAThousandIsABadRequest() throws {
        for k in [0, 1001, -1] {
            let requests: [[String: Any]] = [["op": "search", "query": "a cat", "k": k], ["op": "similar", "path": "/a.png", "k": k]]
            for r in requests {
                let e = try rejection(r)
                XCTAssertEqual(e.code, .badRequest)
                XCTAssertEqual(e.message, #""k" must be an integer from 1 to 1000 (got \#(k))"#)
            }
        }
        XCTAssertEqual(try decode(["op": "search", "query": "a", "k": 1]).request, .success(.search(SearchRequest(query: "a", k: 1))))
        XCTAssertEqual(try decode(["op": "search", "query": "a", "k": 1000]).request, .success(.search(SearchRequest(query: "a", k: 1000))))
        XCTAssertEqual(try decode(["op": "similar", "path": "/a"]).request, .success(.similar(SimilarRequest(path: "/a", k: 10))), "10 by default")
    }

    func testTooManyPromptsAndTooLongSessionsAreBadRequests() throws {
        let many = try rejection(["op": "prompts_import", "prompts": [String](repeating: "a cat", count: 10_001)])
        XCTAssertEqual(many, ControlError(.badRequest, #""prompts" holds at most 10000 strings per request (got 10001)"#))
        XCTAssertEqual(try decode(["op": "prompts_import", "prompts": [String](repeating: "a", count: 10_000)]).request,
                       .success(.promptsImport(PromptsImportRequest(prompts: [String](repeating: "a", count: 10_000)))))
        let long = try rejection(["op": "eval_add", "session": String(repeating: "s", count: 129)])
        XCTAssertEqual(long, ControlError(.badRequest, #""session" must be at most 128 characters"#))
    }

    func testUnknownOperationsAndBadEnvelopes() throws {
        let unknown = try rejection(["op": "frobnicate", "id": 3])
        XCTAssertEqual(unknown.code, .unknownOperation)
        XCTAssert(unknown.message.hasPrefix("unknown operation 'frobnicate' (status, search, similar, caption, watch_add"), unknown.message)
        XCTAssertEqual(try rejection(["query": "a"]), ControlError(.badRequest, #"missing "op""#))
        XCTAssertEqual(try rejection(["op": 3]), ControlError(.badRequest, #""op" must be a string"#))
        XCTAssertEqual(try rejection(["op": "status", "v": 2]).code, .unsupportedVersion)
        XCTAssertEqual(try rejection(["op": "status", "v": "1"]), ControlError(.badRequest, #""v" must be an integer"#))
        XCTAssertEqual(try decode(["op": "status", "v": 1]).request, .success(.status(StatusRequest())))
        for line in ["this is not json", "[1, 2]", "\"status\"", "{\"op\": \"status\"} trailing"] {
            let incoming = ControlFraming.decodeRequest(Array(line.utf8))
            XCTAssertEqual(incoming, IncomingRequest(id: nil, request: .failure(ControlError(.badRequest, "not a JSON object on one line"))))
        }
    }

    func testTheIDOfAnyJSONTypeIsEchoedEvenWithAnError() throws {
        let ids: [(Any, JSONValue)] = [(7, .integer(7)), ("req-1", .string("req-1")), (NSNull(), .null), (2.5, .number(2.5)),
                                       (true, .bool(true)), ([1, "a"], .array([.integer(1), .string("a")])),
                                       (["n": [NSNull()]], .object(["n": .array([.null])]))]
        for (raw, value) in ids {
            XCTAssertEqual(try decode(["op": "status", "id": raw]).id, value)
            let failed = try decode(["op": "search", "id": raw, "since": "2024-01-01"])
            XCTAssertEqual(failed.id, value)
            let line = ControlFraming.errorLine(id: failed.id, ControlError(.badRequest, "x"))
            let echoed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed]) as? [String: Any])
            XCTAssertEqual(try JSONSerialization.data(withJSONObject: ["id": echoed["id"]!], options: [.sortedKeys]),
                           try JSONSerialization.data(withJSONObject: ["id": raw], options: [.sortedKeys]))
        }
        XCTAssertNil(try decode(["op": "status"]).id)
        XCTAssertFalse(String(decoding: ControlFraming.errorLine(id: nil, ControlError(.busy, "b")), as: UTF8.self).contains("\"id\""))
    }

    func testUnknownFieldsAreIgnored() throws {
        XCTAssertEqual(try decode(["op": "search", "query": "a cat", "colour": "red", "future": ["nested": [1, 2]], "id": 1]).request,
                       .success(.search(SearchRequest(query: "a cat"))))
        XCTAssertEqual(try decode(["op": "status", "verbose": true]).request, .success(.status(StatusRequest())))
        XCTAssertEqual(try decode(["op": "eval_run", "session": "S", "format": "csv"]).request,
                       .success(.evalRun(EvalRunRequest(session: "S"))))
        // A null optional field is the same as a missing one.
        XCTAssertEqual(try decode(["op": "search", "query": "a", "since": NSNull(), "tier": NSNull()]).request,
                       .success(.search(SearchRequest(query: "a"))))
        // And a newer daemon's extra result fields do not break this client.
        let extra = Array(#"{"ok":true,"result":{"queued":3,"eta_s":12},"v":1}"#.utf8)
        XCTAssertEqual(try ControlFraming.decodeResponse(extra, as: ReindexResult.self).outcome, .success(ReindexResult(queued: 3)))
    }

    // MARK: The wire format of version 1

    /// `value` as the daemon and revsdctl print it.
    func wire(_ value: some Encodable) throws -> String {
        String(decoding: try ControlFraming.line(value).dropLast(), as: UTF8.self)
    }

    /// `object` as version 1 printed it (JSONSerialization, sorted keys).
    func version1(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    func testResultsAreEncodedAsVersion1EncodedThem() throws {
        XCTAssertEqual(try wire(SearchResult(query: nil, results: [Self.hit])), try version1([
            "query": NSNull(), "results": [["path": "/lib/a.png", "score": Double(Float(0.61)), "caption": "a picture of a circle",
                                            "prompt": NSNull(), "alignment": NSNull(), "tier": NSNull(),
                                            // Additions to version 1: identical copies are one hit;
                                            // what ranked it (null when listing the least aligned);
                                            // the image's id for a gallery (null here: none given).
                                            "paths": [] as [String], "match": NSNull(), "confidence": NSNull(),
                                            "variations": [] as [String], "image_id": NSNull()]],
        ]))
        XCTAssertEqual(try wire(Self.caption), try version1([
            "path": "/lib/a.png",
            "metadata": ["prompt": "a circle", "negative_prompt": NSNull(), "source": "automatic1111", "steps": 20, "sampler": "Euler a",
                         "cfg_scale": 7.5, "seed": NSNumber(value: UInt64.max), "width": 512, "height": NSNull(), "model": "sd15",
                         "model_hash": NSNull()],
            "caption": "a red circle", "keywords": ["circle", "red"], "known_prompt_cosine": Double(Float(0.42)), "error": NSNull(),
            // An addition to version 1: the keywords as a tag-style caption.
            "tags": "circle, red",
            "embedding": [0.6, -0.8], "prediction": "learned",
            "candidates": [["prompt": "a red circle", "cosine": 0.9], ["prompt": "a circle", "cosine": 0.8]],
            "alignment": 0.3, "tier": "hard",
        ]))
        // Local or learning-less: the seven base keys, nulls included, and embedding only when asked for.
        let bare = CaptionResult.failure(path: "/x.png", error: "/x.png: cannot read: no such file", includesEmbedding: false)
        XCTAssertEqual(try wire(bare), try version1(["path": "/x.png", "metadata": NSNull(), "caption": NSNull(), "keywords": [String](),
                                                      "tags": "", "known_prompt_cosine": NSNull(),
                                                      "error": "/x.png: cannot read: no such file"]))
        XCTAssert(try wire(CaptionResult.failure(path: "/x", error: "e", includesEmbedding: true)).contains(#""embedding":null"#))
        XCTAssertEqual(try wire(StatusResult(indexed: 1, queued: 0, failed: 0, withPrompt: 1, watches: ["/lib"], models: ["m"],
                                             watchedDirectories: 1, watchLimit: nil, processedSinceStart: 1, failedSinceStart: 0,
                                             version: "0.1.0", pid: 9, learning: Self.learning)), try version1([
            "indexed": 1, "queued": 0, "failed": 0, "with_prompt": 1, "watches": ["/lib"], "models": ["m"], "watched_directories": 1,
            "watch_limit": NSNull(), "missing_watches": [String](), "failed_files": [[String: Any]](),
            "processed_since_start": 1, "failed_since_start": 0, "version": "0.1.0", "pid": 9,
            "learning": ["state": "idle", "trained_at": 1_736_899_200.125, "examples": 300, "validation_mean_cosine": Double(Float(0.734)),
                         "constant_mean_cosine": 0.5, "members": ["efficientnet-lite0/ridge", "dakl"], "prompt_bank": 301,
                         "last_error": NSNull()],
        ]))
        XCTAssertEqual(try wire(LearningStatus(state: .training(phase: "mlp", fraction: 0.25, reason: "asked by revsdctl"), lastRun: nil,
                                               promptBank: 0, lastError: "cancelled")),
                       try version1(["state": "training", "phase": "mlp", "fraction": 0.25, "reason": "asked by revsdctl",
                                     "prompt_bank": 0, "last_error": "cancelled"]))
        // DAKL's domain (issue #12 item 5): where its k-means ran and on how many unlabelled images.
        let dakl = LearningStatus.Run(trainedAt: 1, examples: 300, validationMeanCosine: 0.5, constantMeanCosine: 0.25, members: ["dakl"],
                                      daklCentroids: 75, daklDomain: "unlabelled", daklUnlabelledImages: 1500)
        XCTAssertEqual(try wire(LearningStatus(state: .idle, lastRun: dakl, promptBank: 0, lastError: nil)),
                       try version1(["state": "idle", "trained_at": 1, "examples": 300, "validation_mean_cosine": 0.5,
                                     "constant_mean_cosine": 0.25, "members": ["dakl"], "dakl_centroids": 75, "dakl_domain": "unlabelled",
                                     "dakl_unlabelled_images": 1500, "prompt_bank": 0, "last_error": NSNull()]))
        var eval = Self.eval
        eval.table = nil
        XCTAssertEqual(try wire(eval), try version1([
            "images": 60, "rows": [["encoder": "efficientnet-lite0", "head": "mlp", "technique": "+MLC", "mean_cosine": Double(Float(0.7))]],
            "ensemble": ["mean_cosine": 0.75], "constant": ["mean_cosine": 0.5], "zero_shot": NSNull(),
            "caption": ["exact_match_rate": 0.25, "mean_cosine": 0.6],
            "refclipscore": ["clip_s": 0.3, "reference_s": 0.8, "refclip_s": 0.43], "retrained_excluding": 4,
            "retrained_excluding_near_duplicates": 2,
            "captions": [["name": "/eval/a.png", "caption": NSNull(), "prompt": "a red circle"]],
        ]))
        XCTAssertEqual(try wire(EvalAddResult(name: "/e/a.png")), #"{"added":true,"name":"/e/a.png"}"#)
        XCTAssertEqual(try wire(TrainResult(cancelled: LearningStatus(state: .idle, lastRun: nil, promptBank: 2, lastError: nil))),
                       #"{"cancelled":true,"learning":{"last_error":null,"prompt_bank":2,"state":"idle"}}"#)
        XCTAssertEqual(try wire(PromptsImportResult(read: 2, added: 1, promptBank: 3)), #"{"added":1,"prompt_bank":3,"read":2}"#)
        XCTAssertEqual(String(decoding: ControlFraming.responseLine(id: .integer(7), result: ReindexResult(queued: 2)), as: UTF8.self),
                       "{\"id\":7,\"ok\":true,\"result\":{\"queued\":2},\"v\":1}\n")
        XCTAssertEqual(String(decoding: ControlFraming.errorLine(id: nil, ControlError(.notFound, "/x.png is not in the index")), as: UTF8.self),
                       "{\"error\":{\"code\":\"not_found\",\"message\":\"/x.png is not in the index\"},\"ok\":false,\"v\":1}\n")
    }

    /// The request lines revsdctl sends: `v`, `op` and the fields, nothing else.
    func testRequestsAreEncodedWithTheirOperation() throws {
        func sent(_ r: some ControlRequest) throws -> String { String(decoding: try ControlFraming.requestLine(r).dropLast(), as: UTF8.self) }
        XCTAssertEqual(try sent(StatusRequest()), #"{"op":"status","v":1}"#)
        XCTAssertEqual(try sent(SearchRequest(query: "a cat", since: 1_700_000_000, tier: .medium)),
                       #"{"k":10,"op":"search","query":"a cat","since":1700000000,"tier":"medium","v":1}"#)
        XCTAssertEqual(try sent(CaptionRequest(name: "/a/b.png", embedding: false)), #"{"embedding":false,"name":"/a/b.png","op":"caption","v":1}"#)
        XCTAssertEqual(try sent(PromptsImportRequest(prompts: ["a"], source: "c.txt")), #"{"op":"prompts_import","prompts":["a"],"source":"c.txt","v":1}"#)
    }

    /// A result that cannot be encoded (a NaN cosine) is an internal error, not a broken line.
    func testAnUnencodableResultIsAnInternalError() throws {
        let line = ControlFraming.responseLine(id: .integer(1), result: SearchResult(query: "q", results: [
            SearchHit(path: "/a", score: .nan, caption: nil, prompt: nil, alignment: nil, tier: nil)]))
        let back = try ControlFraming.decodeResponse(Array(line.dropLast()), as: SearchResult.self)
        XCTAssertEqual(back.id, .integer(1))
        guard case let .failure(e) = back.outcome else { return XCTFail("\(back)") }
        XCTAssertEqual(e.code, .internalError)
    }
}

/// The real revsdd: a wrong-typed filter is refused, not answered unfiltered.
final class DaemonProtocolTests: XCTestCase {
    func testTheDaemonRefusesWrongTypedFiltersWithBadRequest() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try FileManager.default.copyItem(atPath: DaemonIntegrationTests.images.appendingPathComponent("scene-320x200.png").path,
                                         toPath: h.watch + "/one.png")
        try h.start()
        try h.waitForIndex(1)
        XCTAssertEqual(try h.call(SearchRequest(query: "a picture")).results.map(\.path), [h.watch + "/one.png"])

        for (key, value, field) in [("since", "2024-01-01" as Any, "\"since\""), ("has_prompt", "yes", "\"has_prompt\""),
                                    ("k", 0, "\"k\""), ("tier", "extreme", "\"tier\"")] {
            let answer = try h.exchange(["op": "search", "query": "a picture", key: value, "id": "q-\(key)"])
            XCTAssertEqual(answer["ok"] as? Bool, false, "\(key): \(value) → \(answer)")
            XCTAssertNil(answer["result"], "no unfiltered results")
            XCTAssertEqual(answer["id"] as? String, "q-\(key)")
            let error = try XCTUnwrap(answer["error"] as? [String: Any])
            XCTAssertEqual(error["code"] as? String, "bad_request")
            XCTAssert((error["message"] as? String ?? "").contains(field), "\(error)")
        }
        let missing = try h.exchange(["op": "similar", "id": 5])
        XCTAssertEqual((missing["error"] as? [String: Any])?["code"] as? String, "bad_request")
        XCTAssertEqual(missing["id"] as? Int, 5)
        let unknown = try h.exchange(["op": "frobnicate"])
        XCTAssertEqual((unknown["error"] as? [String: Any])?["code"] as? String, "unknown_operation")
        // Fields the daemon does not know are ignored, and the right types still filter.
        let ok = try h.exchange(["op": "search", "query": "a picture", "has_prompt": true, "since": 0, "colour": "red"])
        XCTAssertEqual(ok["ok"] as? Bool, true, "\(ok)")
        let results = (ok["result"] as? [String: Any])?["results"] as? [[String: Any]]
        XCTAssertEqual(results?.count, 0, "the file carries no prompt")
        do {
            _ = try h.call(SimilarRequest(path: h.watch + "/nope.png"))
            XCTFail("a file not in the index")
        } catch let ControlClient.Failure.daemon(e) {
            XCTAssertEqual(e, ControlError(.notFound, "\(h.watch)/nope.png is not in the index"))
        }
        h.kill(SIGTERM)
    }
}
