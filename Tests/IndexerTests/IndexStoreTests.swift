import Foundation
import Synchronization
import XCTest
@testable import Daemon
@testable import Metadata
@testable import Store

final class IndexStoreTests: XCTestCase {
    let dir = TemporaryDirectory()

    func store() throws -> IndexStore { try IndexStore(path: dir.path("index.sqlite")) }

    func file(_ path: String, prompt: String? = nil, hash: String = "h", vector: [Float] = [1, 0, 0]) -> IndexedFile {
        IndexedFile(path: path, contentHash: hash, size: 10, mtimeNs: 1, width: 4, height: 3, format: "png",
                    metadata: prompt.map { GenerationMetadata(prompt: $0, source: "automatic1111", raw: $0) },
                    caption: "a picture", keywords: ["k"], embeddings: [EmbeddingKind.predicted: vector])
    }

    func testWALMigrationsAndRoundTrip() throws {
        let s = try store()
        try s.store(file("/a/x.png", prompt: "a horse in a field"))
        let r = try XCTUnwrap(try s.image(path: "/a/x.png"))
        XCTAssertEqual(r.status, .indexed)
        XCTAssertEqual(r.metadata?.prompt, "a horse in a field")
        XCTAssertEqual(r.keywords, ["k"])
        XCTAssertEqual(try s.embeddings(imageID: r.id)[EmbeddingKind.predicted], [1, 0, 0])
        XCTAssertEqual(try s.promptMatches("horse"), [r.id])
        XCTAssertEqual(try s.promptMatches("hors"), [r.id], "prefix match")
        XCTAssertEqual(try s.promptMatches("zebra"), [])
        // Re-opening runs no migration twice and keeps the data.
        let again = try store()
        XCTAssertEqual(try again.counts(), IndexCounts(indexed: 1, failed: 0, queued: 0, withPrompt: 1))
    }

    /// The search index's bulk read: the same vectors as `vectors(kind:)`,
    /// in one matrix, other lengths skipped.
    func testVectorMatrixHoldsEveryVectorOfAKind() throws {
        let s = try store()
        try s.store(file("/a/1.png", vector: [1, 2, 3]))
        try s.store(file("/a/2.png", vector: [4, 5, 6]))
        try s.store(file("/a/3.png", vector: [7, 8]))
        let (ids, vectors) = try s.vectorMatrix(kind: .predicted, dimension: 3)
        let rows = try s.vectors(kind: .predicted).filter { $0.1.count == 3 }
        XCTAssertEqual(ids, rows.map(\.0))
        XCTAssertEqual(vectors, rows.flatMap(\.1))
        XCTAssertEqual(Set(vectors), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try s.vectorMatrix(kind: .knownPrompt, dimension: 3).ids, [])
    }

    func testJobsSurviveACrashAndAreNeverDoneTwice() throws {
        let s = try store()
        try s.enqueue(["/a/1.png", "/a/2.png", "/a/1.png"], reason: "new")
        XCTAssertEqual(try s.queuedCount(), 2)
        let jobs = try s.claimJobs(limit: 10)
        XCTAssertEqual(jobs.map(\.path), ["/a/1.png", "/a/2.png"])
        XCTAssertEqual(try s.claimJobs(limit: 10), [], "claimed jobs are not handed out twice")
        try s.store(file("/a/1.png"), completing: jobs[0])
        // "kill -9" here: job 2 was started but never completed.
        let reopened = try store()
        XCTAssertEqual(try reopened.recoverInterruptedJobs(), [])
        let retry = try reopened.claimJobs(limit: 10)
        XCTAssertEqual(retry.map(\.path), ["/a/2.png"])
        XCTAssertEqual(retry[0].attempts, 2)
        XCTAssertEqual(try reopened.counts().indexed, 1)
    }

    /// A writer that writes and closes in several steps: the change that
    /// arrives while a worker reads the half-written file is not dropped.
    func testAFileQueuedAgainWhileItsJobRunsIsRunAgainAfterIt() throws {
        let s = try store()
        try s.enqueue(["/a/1.png"], reason: "changed")
        let first = try s.claimJobs(limit: 10)
        XCTAssertEqual(first.map(\.path), ["/a/1.png"])
        try s.enqueue(["/a/1.png"], reason: "changed")   // IN_CLOSE_WRITE while the worker reads
        try s.store(IndexedFile(path: "/a/1.png", contentHash: nil, size: 5, mtimeNs: 1, error: "/a/1.png: truncated data"), completing: first[0])
        XCTAssertEqual(try s.queuedCount(), 1, "the later change is still queued")
        let again = try s.claimJobs(limit: 10)
        XCTAssertEqual(again.map(\.path), ["/a/1.png"])
        XCTAssertEqual(again.first?.attempts, 1, "a fresh job, not a crash retry")
        try s.store(file("/a/1.png"), completing: again[0])
        XCTAssertEqual(try s.queuedCount(), 0)
        XCTAssertEqual(try s.image(path: "/a/1.png")?.status, .indexed)
        // Queued twice before any worker took it: one job.
        try s.enqueue(["/a/2.png"], reason: "new"); try s.enqueue(["/a/2.png"], reason: "changed")
        let one = try s.claimJobs(limit: 10)
        try s.finish(one[0])
        XCTAssertEqual(try s.queuedCount(), 0)
    }

    func testFailedFilesAreListedMostRecentFirstInPages() throws {
        let s = try store()
        for i in 0..<5 {
            try s.store(IndexedFile(path: "/a/\(i).png", contentHash: nil, size: 1, mtimeNs: 1, error: "/a/\(i).png: not a PNG, JPEG or WebP image"))
            Thread.sleep(forTimeInterval: 0.002)
        }
        try s.store(file("/a/ok.png"))
        XCTAssertEqual(try s.failedImages(limit: 2).map(\.path), ["/a/4.png", "/a/3.png"])
        XCTAssertEqual(try s.failedImages(limit: 10, offset: 3).map(\.path), ["/a/1.png", "/a/0.png"])
        XCTAssertEqual(try s.failedImages(limit: 1).first?.error, "/a/4.png: not a PNG, JPEG or WebP image")
    }

    func testAfterACrashMidBatchTheBatchIsRetriedOneFileAtATime() throws {
        let s = try store()
        let paths = (1...5).map { "/b/\($0).png" }
        try s.enqueue(paths, reason: "new")
        XCTAssertEqual(try s.claimJobs(limit: 4).map(\.path), Array(paths.prefix(4)))
        // "kill -9" mid-batch: nothing of it was stored.
        let reopened = try store()
        XCTAssertEqual(try reopened.recoverInterruptedJobs(), [])
        for p in paths.prefix(4) {
            let one = try reopened.claimJobs(limit: 4)
            XCTAssertEqual(one.map(\.path), [p], "a job interrupted before is retried alone")
            XCTAssertEqual(one[0].attempts, 2)
            try reopened.store(file(p), completing: one[0])
        }
        XCTAssertEqual(try reopened.claimJobs(limit: 4).map(\.path), ["/b/5.png"], "fresh jobs come in batches again")
        // A short queue is shared between workers.
        try reopened.enqueue((6...9).map { "/b/\($0).png" }, reason: "new")
        XCTAssertEqual(try reopened.claimJobs(limit: 8, sharedBy: 2).count, 2)
    }

    func testFeatureRowsWalkPastImagesWithoutFeatures() throws {
        let s = try store()
        var withFeatures = file("/c/2.png", hash: "h2")
        withFeatures.embeddings[EmbeddingKind.features("enc")] = [1, 2]
        try s.store(file("/c/1.png", hash: "h1"))          // no features (as a failed file)
        try s.store(withFeatures)
        let first = try s.featureRows(encoders: ["enc"], afterID: 0, limit: 1)
        XCTAssertEqual(first.ids, [])
        XCTAssertEqual(first.lastScannedID, 1, "a chunk without features still moves the cursor")
        let second = try s.featureRows(encoders: ["enc"], afterID: 1, limit: 1)
        XCTAssertEqual(second.ids, [2])
        XCTAssertEqual(second.features["enc"], [1, 2])
        XCTAssertNil(try s.featureRows(encoders: ["enc"], afterID: 2, limit: 1).lastScannedID)
    }

    func testAFileThatKeepsCrashingTheDaemonIsRecordedAsFailed() throws {
        let s = try store()
        try s.enqueue(["/a/poison.png"], reason: "new")
        for _ in 0..<IndexStore.maxAttempts {
            XCTAssertEqual(try s.recoverInterruptedJobs(), [])
            XCTAssertEqual(try s.claimJobs(limit: 1).count, 1)
        }
        XCTAssertEqual(try s.recoverInterruptedJobs(), ["/a/poison.png"])
        let r = try XCTUnwrap(try s.image(path: "/a/poison.png"))
        XCTAssertEqual(r.status, .failed)
        XCTAssert(r.error?.contains("stopped the daemon 3 times") == true, r.error ?? "")
        XCTAssertEqual(try s.queuedCount(), 0)
    }

    func testMovesKeepRecordsAndDeletesRemoveThem() throws {
        let s = try store()
        try s.store(file("/a/one.png", hash: "h1"))
        try s.store(file("/a/sub/two.png", hash: "h2"))
        try s.store(file("/a/sub/deeper/three.png", hash: "h3"))
        let id = try XCTUnwrap(try s.image(path: "/a/one.png")).id
        XCTAssertEqual(try s.move(from: "/a/one.png", to: "/b/uno.png"), 1)
        XCTAssertEqual(try s.image(path: "/b/uno.png")?.id, id, "same record, new path")
        XCTAssertEqual(try s.move(from: "/a/sub", to: "/c/moved"), 2)
        XCTAssertNotNil(try s.image(path: "/c/moved/deeper/three.png"))
        XCTAssertNil(try s.image(path: "/a/sub/two.png"))
        XCTAssertEqual(try s.remove(path: "/c/moved"), 2)
        XCTAssertEqual(try s.counts().indexed, 1)
        // A prefix that is not a folder boundary is not touched.
        try s.store(file("/b/uno.png.bak", hash: "h4"))
        XCTAssertEqual(try s.remove(path: "/b/uno.png"), 1)
        XCTAssertNotNil(try s.image(path: "/b/uno.png.bak"))
    }

    func testGoneFilesAreRemovedExactlyInBatchesWithTheirJobs() throws {
        let s = try store()
        for i in 0..<7 { try s.store(file("/a/\(i).png", hash: "h\(i)")) }
        try s.store(file("/a/1.png.bak", hash: "hb"))
        try s.store(file("/a/1.png/inside.png", hash: "hi"))   // a folder named like the file is not the file
        try s.enqueue(["/a/2.png", "/a/6.png"], reason: "changed")
        let changes = Mutex<[Int64]>([])
        s.observeSearchRows { change in changes.withLock { $0 += change.ids } }
        // Batches of 2: four transactions, and a path not indexed counts nothing.
        XCTAssertEqual(try s.remove(files: ["/a/1.png", "/a/2.png", "/a/3.png", "/a/9.png", "/a/4.png", "/a/5.png"], batch: 2), 5)
        for i in 1...5 { XCTAssertNil(try s.image(path: "/a/\(i).png")) }
        for p in ["/a/0.png", "/a/6.png", "/a/1.png.bak", "/a/1.png/inside.png"] { XCTAssertNotNil(try s.image(path: p), p) }
        XCTAssertEqual(try s.counts().indexed, 4)
        XCTAssertEqual(try s.queuedCount(), 1, "the removed file's job went, the other stays")
        XCTAssertEqual(Set(changes.withLock { $0 }).count, 5, "every removal reached the search matrix")
        XCTAssertEqual(try s.remove(files: []), 0)
    }

    func testFailuresAreRecordedWithTheirError() throws {
        let s = try store()
        try s.store(IndexedFile(path: "/a/bad.png", contentHash: nil, size: 3, mtimeNs: 2, error: "/a/bad.png: broken PNG: truncated data"))
        let r = try XCTUnwrap(try s.image(path: "/a/bad.png"))
        XCTAssertEqual(r.status, .failed)
        XCTAssertEqual(r.error, "/a/bad.png: broken PNG: truncated data")
        XCTAssertEqual(try s.counts(), IndexCounts(indexed: 0, failed: 1, queued: 0, withPrompt: 0))
    }

    func testAnUnusableDatabaseFileIsAClearError() throws {
        let bad = dir.write("garbage.sqlite", Data(repeating: 0x41, count: 4096))
        XCTAssertThrowsError(try IndexStore(path: bad)) { XCTAssert("\($0)".hasPrefix("\(bad): database error:"), "\($0)") }
    }
}

final class DaemonConfigTests: XCTestCase {
    let dir = TemporaryDirectory()

    func testFileOverridesDefaults() throws {
        let path = dir.write("revsdd.toml", """
            # revsd
            watch = ["/srv/a", "/srv/b/../c"]   # two folders
            state_dir = "/var/lib/x"
            socket = '/run/x.sock'
            workers = 3

            [models]
            image_encoders = [
                "efficientnet-lite0",
                "efficientnet-lite2",
            ]
            clip = []
            """)
        var c = DaemonConfig.defaults(environment: ["HOME": "/home/u"], isRoot: false)
        XCTAssertEqual(c.socketPath, "/home/u/.local/state/revsd/revsdd.sock")
        try c.apply(file: path, required: true)
        XCTAssertEqual(c.watch, ["/srv/a", "/srv/c"])
        XCTAssertEqual(c.stateDirectory, "/var/lib/x")
        XCTAssertEqual(c.socketPath, "/run/x.sock")
        XCTAssertEqual(c.workers, 3)
        XCTAssertEqual(c.imageEncoders, ["efficientnet-lite0", "efficientnet-lite2"])
    }

    func testTheLearningSection() throws {
        let path = dir.write("learning.toml", """
            [learning]
            retrain_after = 0
            vocabulary_size = 500
            dakl_gamma = 0.1
            dakl_alpha = 5
            curriculum = [0.25, 0.5, 0.75, 1]
            ensemble_weights = "equal"
            """)
        var c = DaemonConfig.defaults()
        XCTAssertEqual(c.retrainAfter, 200)
        XCTAssertTrue(c.training.fitEnsembleWeights)
        try c.apply(file: path, required: true)
        XCTAssertEqual(c.retrainAfter, 0)
        XCTAssertEqual(c.training.vocabularySize, 500)
        XCTAssertEqual(c.training.daklGammas, [0.1])
        XCTAssertEqual(c.training.daklAlpha, 5)
        XCTAssertEqual(c.training.curriculumFractions, [0.25, 0.5, 0.75, 1])
        XCTAssertFalse(c.training.fitEnsembleWeights)
        XCTAssertEqual(c.lexicalWeight, DaemonConfig.defaultLexicalWeight)
        try c.apply(file: dir.write("search.toml", "[search]\nlexical_weight = 0.35"), required: true)
        XCTAssertEqual(c.lexicalWeight, 0.35)
        try c.apply(file: dir.write("search0.toml", "[search]\nlexical_weight = 0"), required: true)
        XCTAssertEqual(c.lexicalWeight, 0)
        for (text, expected) in [
            ("[learning]\ncurriculum = [0.5, 0.2]", ":2: 'curriculum' fractions must grow and lie in (0, 1]"),
            ("[learning]\nensemble_weights = \"best\"", ":2: 'ensemble_weights' must be \"fitted\" or \"equal\""),
            ("[learning]\nretrain_after = -1", ":2: 'retrain_after' must be a non-negative integer"),
            ("[search]\nlexical_weight = 2", ":2: 'lexical_weight' must be a number from 0 to 1"),
            ("[search]\nlexical_weight = \"high\"", ":2: 'lexical_weight' must be a number from 0 to 1"),
        ] {
            let bad = dir.write("bad-learning.toml", text)
            var d = DaemonConfig.defaults()
            XCTAssertThrowsError(try d.apply(file: bad, required: true)) { XCTAssert("\($0)".hasPrefix(bad + expected), "\($0)") }
        }
    }

    func testInvalidFilesAreRefusedWithTheLineAndReason() {
        let cases: [(String, String)] = [
            ("watch = \"/a\"", ":1: 'watch' must be an array of strings"),
            ("\n\nworkers = 0", ":3: 'workers' must be an integer from 1 to 1024"),
            ("colour = \"red\"", ":1: unknown setting 'colour'"),
            ("[models]\nimage_encoders = [\"resnet\"]", ":2: unknown image encoder 'resnet'"),
            ("socket = /run/x", ":1: invalid value '/run/x' (strings need quotes)"),
            ("watch = [\"/a\",\n", ":1: unterminated array"),
            ("workers = 2\nworkers = 3", ":2: key 'workers' is defined twice"),
            ("[models\n", ":1: unterminated table header"),
            ("x = { a = 1 }", ":1: inline tables are not supported"),
            ("socket = \"abc", ":1: unterminated string"),
        ]
        for (text, expected) in cases {
            let path = dir.write("bad.toml", text)
            var c = DaemonConfig.defaults()
            XCTAssertThrowsError(try c.apply(file: path, required: true), text) {
                XCTAssert("\($0)".hasPrefix(path + expected), "\(text): \($0)")
            }
        }
        var c = DaemonConfig.defaults()
        XCTAssertNoThrow(try c.apply(file: dir.path("absent.toml"), required: false))
        XCTAssertThrowsError(try c.apply(file: dir.path("absent.toml"), required: true))
    }

    func testSystemAndUserDefaults() {
        let sys = DaemonConfig.defaults(environment: ["STATE_DIRECTORY": "/var/lib/revsd", "RUNTIME_DIRECTORY": "/run/revsd"], isRoot: false)
        XCTAssertEqual(sys.stateDirectory, "/var/lib/revsd")
        XCTAssertEqual(sys.socketPath, "/run/revsd/revsdd.sock")
        let user = DaemonConfig.defaults(environment: ["HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000"], isRoot: false)
        XCTAssertEqual(user.stateDirectory, "/home/u/.local/state/revsd")
        XCTAssertEqual(user.socketPath, "/run/user/1000/revsd/revsdd.sock")
        XCTAssertEqual(DaemonConfig.defaultFile(environment: ["HOME": "/home/u"], isRoot: false), "/home/u/.config/revsd/revsdd.toml")
        XCTAssertEqual(DaemonConfig.defaultFile(environment: [:], isRoot: true), "/etc/revsd/revsdd.toml")
    }
}
