import CSocket
import Foundation
import XCTest
@testable import Daemon
@testable import Store
@testable import RevsdSystem

/// The real revsdd, through its socket: watching, indexing, crash recovery,
/// socket abuse, systemd readiness. Needs the installed models.
final class DaemonIntegrationTests: XCTestCase {
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images")
    static let unique = ["scene-320x200.png", "tall-180x260.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg", "orientation6.jpg",
                         "palette.png", "gray.png", "alpha.png", "rgb16.png", "interlaced.png", "lossy.webp", "lossless.webp", "alpha.webp"]

    func copy(_ name: String, to path: String) throws {
        try FileManager.default.copyItem(atPath: Self.images.appendingPathComponent(name).path, toPath: path)
    }

    func indexedPaths(_ h: DaemonHarness) throws -> [String] {
        let store = try IndexStore(path: h.state + "/index.sqlite")
        return try store.fileStates().keys.map(\.path).sorted()
    }

    func testWatchesIndexesFollowsMovesAndSurvivesKill9() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let w = h.watch
        try copy(Self.unique[0], to: w + "/before-1.png")
        try copy(Self.unique[1], to: w + "/before-2.jpg")
        try "not an image".write(toFile: w + "/notes.txt", atomically: false, encoding: .utf8)
        try h.start()
        try h.waitForIndex(2)

        // A slow writer: half a file is not indexed; the whole one is, once.
        let data = try Data(contentsOf: Self.images.appendingPathComponent(Self.unique[2]))
        let fd = open(w + "/slow.jpg", O_WRONLY | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        data.prefix(data.count / 2).withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        Thread.sleep(forTimeInterval: 1.5)
        let during = try h.status()
        XCTAssertEqual(during["indexed"] as? Int, 2, "a half-written file is not indexed")
        XCTAssertEqual(during["failed"] as? Int, 0)
        data.dropFirst(data.count / 2).withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
        try h.waitForIndex(3)
        XCTAssertEqual(try h.status()["failed"] as? Int, 0)

        // A new sub-folder with files in it.
        try FileManager.default.createDirectory(atPath: w + "/sub", withIntermediateDirectories: true)
        try copy(Self.unique[3], to: w + "/sub/a.jpg")
        try copy(Self.unique[4], to: w + "/sub/b.jpg")
        try h.waitForIndex(5)

        // A move between folders keeps the record: nothing is encoded again.
        let processed = try h.status()["processed_since_start"] as? Int
        try FileManager.default.moveItem(atPath: w + "/sub/a.jpg", toPath: w + "/moved-a.jpg")
        try waitUntil(timeout: 30, "the move is recorded") { (try? self.indexedPaths(h))?.contains(w + "/moved-a.jpg") == true }
        XCTAssertFalse(try indexedPaths(h).contains(w + "/sub/a.jpg"))
        XCTAssertEqual(try h.status()["processed_since_start"] as? Int, processed, "a move re-encodes nothing")

        // A delete removes the record.
        try FileManager.default.removeItem(atPath: w + "/moved-a.jpg")
        try h.waitForIndex(4)
        XCTAssertEqual(try indexedPaths(h), [w + "/before-1.png", w + "/before-2.jpg", w + "/slow.jpg", w + "/sub/b.jpg"])

        // Searchable, with the JSON contract.
        let r = try runProduct("revsdctl", ["search", "--socket", h.socket, "--json", "-k", "10", "a picture"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["query"] as? String, "a picture")
        let results = try XCTUnwrap(obj["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 4)
        XCTAssertEqual(Set(results.compactMap { $0["path"] as? String }).count, 4)
        for res in results {
            XCTAssertEqual(Set(res.keys), ["path", "score", "caption", "prompt", "alignment", "tier", "paths", "match", "confidence", "variations",
                                           "image_id"])
            XCTAssertGreaterThanOrEqual(res["image_id"] as? Int ?? 0, 1, "every hit names its image for the gallery")
            // Ranked by the prompt it carries, or (without one) by its prediction.
            XCTAssertEqual(res["match"] as? String, res["prompt"] is String ? "prompt" : "predicted", "\(res)")
        }
        let scores = results.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores, scores.sorted(by: >), "best first")
        let filtered = try h.call(["op": "search", "query": "x", "folder": w + "/sub"])
        XCTAssertEqual((filtered["results"] as? [[String: Any]])?.compactMap { $0["path"] as? String }, [w + "/sub/b.jpg"])

        // caption through the daemon: the open descriptor travels, not the path.
        let cap = try runProduct("revsdctl", ["caption", "--socket", h.socket, "--json", w + "/sub/b.jpg", h.dir.path("nope.png")])
        XCTAssertEqual(cap.status, 1, "one file could not be read")
        let lines = cap.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        guard lines.count == 2 else { return XCTFail("caption printed \(cap.stdout) \(cap.stderr)") }
        XCTAssert(lines[0]["error"] is NSNull)
        XCTAssertFalse((lines[0]["caption"] as? String ?? "").isEmpty)
        XCTAssertEqual(lines[1]["error"] as? String, "\(h.dir.path("nope.png")): cannot read: no such file")
        let noFD = try h.call(["op": "status"])
        XCTAssertNotNil(noFD["indexed"])
        XCTAssertThrowsError(try h.call(["op": "caption"])) { XCTAssert("\($0)".contains("descriptor"), "\($0)") }

        try socketAbuse(h)

        // kill -9 in the middle of indexing: nothing lost, nothing twice.
        for name in Self.unique[5..<11] { try copy(name, to: w + "/burst-" + name) }
        try waitUntil(timeout: 60, "indexing has started") { ((try? h.status())?["queued"] as? Int ?? 0) > 0 || ((try? h.status())?["indexed"] as? Int ?? 0) > 4 }
        h.kill(SIGKILL)
        try h.start()
        try h.waitForIndex(10)
        let paths = try indexedPaths(h)
        XCTAssertEqual(paths.count, 10)
        XCTAssertEqual(Set(paths).count, paths.count)
        let s = try h.status()
        XCTAssertEqual(s["failed"] as? Int, 0, h.logText)
        XCTAssertEqual(s["queued"] as? Int, 0)

        // SIGTERM drains and exits cleanly.
        h.kill(SIGTERM)
        XCTAssertEqual(h.process?.terminationStatus, 0)
        XCTAssert(h.logText.contains("stopped cleanly"), h.logText)
    }

    /// Garbage, a 100 MB line, 200 concurrent clients, a client that never
    /// reads: the daemon answers the next well-formed request each time.
    func socketAbuse(_ h: DaemonHarness) throws {
        func raw() throws -> Int32 { try UnixSocket.connect(path: h.socket, timeout: 30).fd }
        let socketPath = h.socket
        @Sendable func send(_ c: Int32, _ d: Data) -> Bool { (try? UnixSocket(fd: c, path: socketPath).send([UInt8](d))) != nil }
        func readLine(_ c: Int32) -> String {
            var out: [UInt8] = []; var b: UInt8 = 0
            while recv(c, &b, 1, 0) == 1 { if b == 0x0A { break }; out.append(b) }
            return String(decoding: out, as: UTF8.self)
        }
        let g = try raw()
        _ = send(g, Data("this is not json\n".utf8))
        XCTAssert(readLine(g).contains("\"bad_request\""))
        close(g)

        let big = try raw()
        let chunk = Data(repeating: 0x61, count: 1 << 20)
        var sentMB = 0
        for _ in 0..<100 { guard send(big, chunk) else { break }; sentMB += 1 }
        XCTAssert(readLine(big).contains("\"too_large\""), "a 100 MB line gets too_large (sent \(sentMB) MB before the daemon hung up)")
        close(big)
        XCTAssertNotNil(try h.status())

        let errors = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            if (try? h.status()) == nil { errors.add() }
        }
        XCTAssertEqual(errors.value, 0, "200 concurrent clients all answered")

        let silent = try raw()
        let flood = Data(String(repeating: "{\"op\":\"status\"}\n", count: 20000).utf8)
        let flooding = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { _ = send(silent, flood); flooding.signal() }
        Thread.sleep(forTimeInterval: 1)
        let start = Date()
        XCTAssertNotNil(try h.status())
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "a client that never reads costs the others nothing")
        // End the flood before the descriptor goes: its blocked send must not
        // go on with a closed (or reused) descriptor (EBADF is a bug, and traps).
        shutdown(silent, Int32(SHUT_RDWR))
        flooding.wait()
        close(silent)
    }

    func testSocketActivationTellsSystemdReadyStatusAndWatchdog() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try copy(Self.unique[0], to: h.watch + "/one.png")
        let notifyPath = h.dir.path("notify.sock")
        let n = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = try UnixSocket.address(notifyPath)
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(n, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }, 0)
        UnixSocket(fd: n, path: notifyPath).setTimeouts(receive: 1, send: 1)
        defer { close(n) }
        // systemd-socket-activate binds the socket and starts revsdd on the first connection.
        // It hands the child only the variables named with -E.
        let env = ["NOTIFY_SOCKET": notifyPath, "WATCHDOG_USEC": "2000000"]
        var wrapper = ["/usr/bin/systemd-socket-activate", "-l", h.socket]
        for (k, v) in env { wrapper += ["-E", "\(k)=\(v)"] }
        for k in ["REVSD_MODELS", "HOME", "PATH"] where ProcessInfo.processInfo.environment[k] != nil { wrapper += ["-E", k] }
        try h.start(extraEnvironment: env, wrapper: wrapper)
        var messages: [String] = []
        try waitUntil(timeout: 120, "READY, STATUS and WATCHDOG notifications") {
            var buf = [UInt8](repeating: 0, count: 4096)
            let got = recv(n, &buf, buf.count, 0)
            if got > 0 { messages.append(String(decoding: buf[0..<got], as: UTF8.self)) }
            let all = messages.joined(separator: "\n")
            return all.contains("READY=1") && all.contains("STATUS=indexed") && all.contains("WATCHDOG=1")
        }
        XCTAssert(h.logText.contains("using the socket passed by systemd"), h.logText)
        try h.waitForIndex(1)
        h.kill(SIGTERM)
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = recv(n, &buf, buf.count, 0)
            if got <= 0 { break }
            messages.append(String(decoding: buf[0..<got], as: UTF8.self))
        }
        XCTAssert(messages.contains { $0.contains("STOPPING=1") }, "\(messages)")
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock(); private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

final class DaemonOverflowTests: XCTestCase {
    /// 2,000 files at once. As root, the kernel's per-instance event queue is
    /// made tiny for the daemon's inotify instance (the limit is read when the
    /// instance is created, then restored), so the queue overflows and the
    /// daemon must rescan: every file must still be indexed exactly once.
    func testTwoThousandFilesAtOnceAreIndexedExactlyOnce() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let limitFile = "/proc/sys/fs/inotify/max_queued_events"
        let original = try? String(contentsOfFile: limitFile, encoding: .utf8)
        let forced = original != nil && (try? "64\n".write(toFile: limitFile, atomically: false, encoding: .utf8)) != nil
        defer { if forced, let original { try? original.write(toFile: limitFile, atomically: false, encoding: .utf8) } }
        try h.start()
        if forced, let original { try? original.write(toFile: limitFile, atomically: false, encoding: .utf8) }
        if !forced { print("DaemonOverflowTests: not root, the inotify queue could not be shrunk: overflow is not forced, only the 2,000-file burst is checked") }

        let source = try Data(contentsOf: DaemonIntegrationTests.images.appendingPathComponent("palette.png"))
        try FileManager.default.createDirectory(atPath: h.watch + "/burst", withIntermediateDirectories: true)
        try waitUntil(timeout: 30, "the new folder is watched") { (try? h.status())?["watched_directories"] as? Int == 2 }
        // The daemon is stopped while the files land, so the events pile up in the kernel.
        let pid = try XCTUnwrap(h.process?.processIdentifier)
        kill(pid, SIGSTOP)
        for i in 0..<2000 { try source.write(to: URL(fileURLWithPath: h.watch + "/burst/\(i).png")) }
        kill(pid, SIGCONT)
        try h.waitForIndex(2000, timeout: 900)
        let store = try IndexStore(path: h.state + "/index.sqlite")
        let paths = try store.fileStates().keys.map(\.path)
        XCTAssertEqual(paths.count, 2000)
        XCTAssertEqual(Set(paths), Set((0..<2000).map { h.watch + "/burst/\($0).png" }))
        XCTAssertEqual(try h.status()["failed"] as? Int, 0)
        XCTAssertLessThanOrEqual(try h.status()["processed_since_start"] as? Int ?? 0, 2000 + 50, "no file indexed twice (a few retries at most)")
        if forced { XCTAssert(h.logText.contains("inotify queue overflowed"), "the overflow was seen and answered with a rescan") }
    }
}
