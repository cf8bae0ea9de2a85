import Foundation
import GRDB
import XCTest
@testable import RevsdProtocol
@testable import Store

/// The real revsdd against what users, clients and files do to it (issue
/// #11): a second daemon on the same state directory, files written in
/// several steps, watched folders that go away and come back or are missing
/// at start, files named like images that are not, hostile caption clients.
final class DaemonWatchingTests: XCTestCase {
    func copy(_ name: String, to path: String) throws {
        try FileManager.default.copyItem(atPath: DaemonIntegrationTests.images.appendingPathComponent(name).path, toPath: path)
    }

    func fixture(_ name: String) throws -> Data { try Data(contentsOf: DaemonIntegrationTests.images.appendingPathComponent(name)) }

    func record(_ h: DaemonHarness, _ path: String) throws -> ImageRecord? {
        try IndexStore(path: h.state + "/index.sqlite").image(path: path)
    }

    /// Writes `data` to `path` in one open-write-close step (O_APPEND when `append`).
    func writeAndClose(_ path: String, _ data: Data, append: Bool) {
        let fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        data.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func testASecondDaemonOnTheSameStateDirectoryExitsAtOnceNamingTheFirst() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try h.start()
        let firstPID = try XCTUnwrap(h.status()["pid"] as? Int)
        let p = Process()
        p.executableURL = productsDirectory.appendingPathComponent("revsdd")
        p.arguments = ["--watch", h.watch, "--state-dir", h.state, "--socket", h.dir.path("second.sock"), "--config", h.configFile]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        let started = Date()
        try p.run()
        // Bounded: a second daemon that does not refuse would run forever.
        let exited = (try? waitUntil(timeout: 30, "the second revsdd exits") { !p.isRunning }) != nil
        if !exited { Foundation.kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        XCTAssert(exited, "a second daemon on the same state directory kept running")
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "refused before loading any model")
        XCTAssertEqual(message.split(separator: "\n").count, 1, message)
        XCTAssert(message.contains("another revsdd already uses this state directory (pid \(firstPID), socket \(h.socket)"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.dir.path("second.sock")), "the second never listened")
        XCTAssertNotNil(try h.status(), "the first is untouched")
        // Once the first is gone, the directory is free again.
        h.kill(SIGTERM)
        try h.start()
        XCTAssertNotNil(try h.status())
    }

    /// A writer that writes and closes in several steps (a tool rewriting in
    /// place): the close that lands while a worker reads the half-written
    /// file must not be lost, and the final content ends up indexed.
    func testAFileWrittenAndClosedInStepsEndsIndexed() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        // Test-only: each batch is held 1.5 s after its files were read.
        try h.start(extraEnvironment: ["REVSD_TEST_HOLD_BATCH_MS": "1500"], arguments: ["--workers", "1"])
        let data = try fixture(DaemonIntegrationTests.unique[2])
        let path = h.watch + "/steps.jpg"
        writeAndClose(path, data.prefix(data.count / 2), append: false)
        // The worker has the job (it read the first half), and is held.
        let store = try IndexStore(path: h.state + "/index.sqlite")
        try waitUntil(timeout: 60, "the job is started") {
            ((try? store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE startedAt IS NOT NULL") }) ?? 0) == 1
        }
        writeAndClose(path, data.dropFirst(data.count / 2), append: true)
        try waitUntil(timeout: 60, "the whole file is indexed") { (try? self.record(h, path))??.status == .indexed }
        try h.waitForIndex(1)
        let rec = try XCTUnwrap(try record(h, path))
        XCTAssertEqual(rec.size, Int64(data.count), "the record is of the final content")
        XCTAssertNil(rec.error)
    }

    /// A failed record is retried when the file changed while the daemon was down.
    func testAFailedFileThatChangedWhileTheDaemonWasDownIsRetriedAtStart() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let data = try fixture(DaemonIntegrationTests.unique[0])
        let path = h.watch + "/later.png"
        writeAndClose(path, data.prefix(data.count / 3), append: false)
        try h.start()
        try h.waitForIndex(1)
        XCTAssertEqual(try record(h, path)?.status, .failed)
        h.kill(SIGTERM)
        writeAndClose(path, data.dropFirst(data.count / 3), append: true)
        try h.start()
        try waitUntil(timeout: 60, "the completed file is indexed") { (try? self.record(h, path))??.status == .indexed }
    }

    func testWatchedFoldersMissingAtStartOrMovedAwayAreWatchedForTheirReturn() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let disk = h.dir.path("disk")   // not mounted yet
        try copy(DaemonIntegrationTests.unique[0], to: h.watch + "/a.png")
        try h.start(arguments: ["--watch", disk])
        try h.waitForIndex(1)
        var s = try h.status()
        XCTAssertEqual(s["missing_watches"] as? [String], [disk])
        XCTAssertEqual(s["watches"] as? [String], [disk, h.watch].sorted())
        XCTAssert(h.logText.contains("missing"), h.logText)

        // The folder "mounts": picked up without any command.
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try copy(DaemonIntegrationTests.unique[1], to: disk + "/b.jpg")
        try waitUntil(timeout: 30, "the returned folder is indexed") { (try? self.record(h, disk + "/b.jpg"))??.status == .indexed }
        XCTAssertEqual(try h.status()["missing_watches"] as? [String], [])

        // mv away: missing, records kept; a file added meanwhile; mv back: followed again.
        let away = h.dir.path("away")
        try FileManager.default.moveItem(atPath: h.watch, toPath: away)
        try waitUntil(timeout: 30, "the moved folder is missing") { (try? h.status())?["missing_watches"] as? [String] == [h.watch] }
        XCTAssertEqual(try record(h, h.watch + "/a.png")?.status, .indexed, "records of a missing folder are kept")
        try copy(DaemonIntegrationTests.unique[3], to: away + "/while-away.jpg")
        try FileManager.default.moveItem(atPath: away, toPath: h.watch)
        try waitUntil(timeout: 30, "the folder is back") { (try? h.status())?["missing_watches"] as? [String] == [] }
        try h.waitForIndex(3)
        XCTAssertEqual(try record(h, h.watch + "/while-away.jpg")?.status, .indexed)
        try copy(DaemonIntegrationTests.unique[4], to: h.watch + "/after.jpg")
        try h.waitForIndex(4)
        XCTAssertNil(try record(h, away + "/while-away.jpg"), "nothing is recorded under the path it was moved to")

        // watch add of a path that does not exist says so.
        let nowhere = h.dir.path("nowhere")
        XCTAssertThrowsError(try h.call(WatchAddRequest(path: nowhere))) {
            XCTAssert("\($0)".contains("\(nowhere) does not exist"), "\($0)")
        }
        s = try h.status()
        XCTAssertEqual(s["watches"] as? [String], [disk, h.watch].sorted())
    }

    func testTheSocketAnswersBeforeTheWatchedFoldersAreListed() throws {
        // At a million files the listing takes seconds: the index answers meanwhile.
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try copy(DaemonIntegrationTests.unique[0], to: h.watch + "/a.png")
        let hold = h.dir.path("hold-scan")
        FileManager.default.createFile(atPath: hold, contents: nil)
        try h.start(extraEnvironment: ["REVSD_TEST_HOLD_SCAN_WHILE": hold])
        let s = try h.status()
        XCTAssertEqual(s["watches"] as? [String], [h.watch], "the folder is shown as watched")
        XCTAssertEqual(s["indexed"] as? Int, 0)
        XCTAssertEqual(s["queued"] as? Int, 0, "not listed yet")
        // A file written before the listing is found by it.
        try copy(DaemonIntegrationTests.unique[1], to: h.watch + "/b.jpg")
        try FileManager.default.removeItem(atPath: hold)
        try h.waitForIndex(2)
        try waitUntil(timeout: 30, "the listing is logged") { h.logText.contains("watched folders listed") }
    }

    func testFilesGoneWhileStoppedGoAtStartButAnEmptiedFolderKeepsItsImagesUntilReindex() throws {
        // A folder that lost some files while the daemon was down loses their
        // records at start; one that is empty (a disk not mounted on its mount
        // point) keeps them, says so, and `reindex` drops them.
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let names = ["a.png", "b.jpg", "c.jpg"]
        for (i, n) in names.enumerated() { try copy(DaemonIntegrationTests.unique[i], to: h.watch + "/" + n) }
        try h.start()
        try h.waitForIndex(3)
        h.kill(SIGTERM)
        try FileManager.default.removeItem(atPath: h.watch + "/a.png")
        try h.start()
        try waitUntil(timeout: 30, "the deleted file's record goes") { (try? h.status())?["indexed"] as? Int == 2 }
        XCTAssertNil(try record(h, h.watch + "/a.png"))
        XCTAssertEqual(try record(h, h.watch + "/b.jpg")?.status, .indexed)
        h.kill(SIGTERM)

        for n in names.dropFirst() { try FileManager.default.removeItem(atPath: h.watch + "/" + n) }
        try h.start()
        try waitUntil(timeout: 30, "the daemon warns") { h.logText.contains("watched folder is empty but the index holds images from it") }
        XCTAssertEqual(try h.status()["indexed"] as? Int, 2, "an empty folder's records are kept")
        XCTAssertEqual(try record(h, h.watch + "/c.jpg")?.status, .indexed)
        let log = h.logText.split(separator: "\n").filter { $0.contains("watched folder is empty") }
        XCTAssertEqual(log.count, 1, "\(log)")
        XCTAssert(log[0].contains(h.watch) && log[0].contains("images=2"), "\(log[0])")
        _ = try h.call(["op": "reindex", "path": h.watch])
        try waitUntil(timeout: 60, "reindex drops the records of files that are not there") { (try? h.status())?["indexed"] as? Int == 0 }
        XCTAssertNil(try record(h, h.watch + "/c.jpg"))
    }

    func testAFileNamedLikeAnImageThatIsNotOneIsRecordedFailedAndListed() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        var random = SystemRandomNumberGenerator()
        let garbage = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) })
        try garbage.write(to: URL(fileURLWithPath: h.watch + "/broken.png"))
        try "notes".write(toFile: h.watch + "/notes.txt", atomically: false, encoding: .utf8)
        try copy(DaemonIntegrationTests.unique[0], to: h.watch + "/good.png")
        try h.start()
        try h.waitForIndex(2)
        let s = try h.status()
        XCTAssertEqual(s["failed"] as? Int, 1)
        let recent = try XCTUnwrap(s["failed_files"] as? [[String: Any]])
        XCTAssertEqual(recent.first?["path"] as? String, h.watch + "/broken.png")
        XCTAssertEqual(recent.first?["error"] as? String, h.watch + "/broken.png: not a PNG, JPEG or WebP image")
        XCTAssertNil(try record(h, h.watch + "/notes.txt"), "other files stay ignored")

        // Dropped in while watched, upper-case extension: the same.
        writeAndClose(h.watch + "/ALSO.JPEG", garbage, append: false)
        try h.waitForIndex(3)

        // `revsdctl --socket PATH failed` (the option before the subcommand).
        let r = try runProduct("revsdctl", ["--socket", h.socket, "failed", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["total"] as? Int, 2)
        let files = try XCTUnwrap(obj["files"] as? [[String: Any]])
        XCTAssertEqual(Set(files.compactMap { $0["path"] as? String }), [h.watch + "/broken.png", h.watch + "/ALSO.JPEG"])
        XCTAssert(files.allSatisfy { ($0["at"] as? Double ?? 0) > 0 && ($0["error"] as? String ?? "").hasSuffix("not a PNG, JPEG or WebP image") })
        let page = try runProduct("revsdctl", ["failed", "--socket", h.socket, "--limit", "1"])
        XCTAssertEqual(page.status, 0, page.stderr)
        XCTAssert(page.stdout.contains("not a PNG, JPEG or WebP image"), page.stdout)
        XCTAssert(page.stdout.contains("1 more (--offset 1)"), page.stdout)
        let status = try runProduct("revsdctl", ["--socket=\(h.socket)", "status", "--once"])
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssert(status.stdout.contains("failed      2"), status.stdout)
        // Fixed: the failed file becomes a real image.
        try FileManager.default.removeItem(atPath: h.watch + "/broken.png")
        try copy(DaemonIntegrationTests.unique[7], to: h.watch + "/broken.png")
        try waitUntil(timeout: 60, "the fixed file is indexed") { (try? self.record(h, h.watch + "/broken.png"))??.status == .indexed }
    }

    func testRevsdctlTakesTheSocketBeforeTheSubcommand() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("revsd-none-\(UUID()).sock").path
        for args in [["--socket", missing, "status"], ["--socket=\(missing)", "status", "--json"], ["status", "--socket", missing]] {
            let r = try runProduct("revsdctl", args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssert(r.stderr.contains("\(missing): revsdd is not running"), "\(args): \(r.stderr)")
        }
        // The subcommand's own --socket wins over the one before it.
        let r = try runProduct("revsdctl", ["--socket", "/nonexistent/a.sock", "watch", "ls", "--socket", missing])
        XCTAssert(r.stderr.contains(missing), r.stderr)
    }

    /// 200 caption requests whose passed file is truncated, grown and
    /// replaced by another thread while the daemon reads it, and a watched
    /// file truncated while it is indexed: the daemon stays up and answers.
    func testHostileCaptionClientsAndAWatchedFileTruncatedWhileIndexed() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try h.start(arguments: ["--workers", "2"])
        let good = try fixture(DaemonIntegrationTests.unique[0])
        let victim = h.dir.path("victim.png"), replacement = h.dir.path("replacement.png")
        try good.write(to: URL(fileURLWithPath: victim))
        let stop = LockedFlag()
        let mutator = Thread {
            var i = 0
            while !stop.isSet {
                i += 1
                switch i % 4 {
                case 0: truncate(victim, off_t(i % max(1, good.count)))
                case 1: if let f = FileHandle(forWritingAtPath: victim) { f.seekToEndOfFile(); f.write(good); try? f.close() }
                case 2: truncate(victim, 0)
                default:
                    try? good.prefix(good.count / 2).write(to: URL(fileURLWithPath: replacement))
                    rename(replacement, victim)
                }
            }
        }
        mutator.start()
        // The watched file shrinks under the workers too.
        let watched = h.watch + "/shrinking.png"
        let big = try fixture(DaemonIntegrationTests.unique[9])
        for _ in 0..<5 {
            writeAndClose(watched, big, append: false)
            truncate(watched, off_t(big.count / 7))
        }
        let answered = LockedCounter(), failures = LockedCounter()
        let socket = h.socket
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for n in 0..<50 {
                let fd = open(victim, O_RDONLY)
                guard fd >= 0 else { continue }
                defer { close(fd) }
                do {
                    _ = try ControlClient(socketPath: socket, timeout: 60).call(CaptionRequest(name: "hostile-\(worker)-\(n)"), passing: fd)
                    answered.add()
                } catch { failures.add() }
            }
        }
        stop.set()
        while mutator.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(failures.value, 0, "every hostile request got an answer (an error result counts)")
        XCTAssertGreaterThan(answered.value, 150)
        XCTAssertTrue(h.process?.isRunning == true, h.logText)
        XCTAssertNotNil(try h.status())
        writeAndClose(watched, big, append: false)
        try h.waitForIndex(1)
        try waitUntil(timeout: 60, "the watched file ends indexed") { (try? self.record(h, watched))??.status == .indexed }
        let cap = try runProduct("revsdctl", ["caption", "--socket", h.socket, "--json", watched])
        XCTAssertEqual(cap.status, 0, cap.stderr)
        XCTAssertTrue(h.process?.isRunning == true, h.logText)
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock(); private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
