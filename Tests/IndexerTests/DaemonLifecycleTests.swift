import Foundation
import XCTest
@testable import Inference
@testable import Store

/// The real revsdd's lifecycle: a loop that dies ends the process with a
/// failure status (so systemd restarts it) instead of leaving it hung;
/// SIGTERM still drains and exits 0; SIGHUP re-reads the watched folders.
final class DaemonLifecycleTests: XCTestCase {
    func copy(_ name: String, to path: String) throws {
        try FileManager.default.copyItem(atPath: DaemonIntegrationTests.images.appendingPathComponent(name).path, toPath: path)
    }

    /// The kernels the daemon's log names ("OpenBLAS kernels: NAME …").
    func loggedKernels(_ h: DaemonHarness) throws -> String {
        let line = try XCTUnwrap(h.logText.split(separator: "\n").first { $0.contains("OpenBLAS kernels: ") }, h.logText)
        let after = line[line.range(of: "OpenBLAS kernels: ")!.upperBound...]
        return String(after.prefix { $0 != " " })
    }

    /// Debian 12's OpenBLAS falls back to its SSE3 kernels on CPUs newer than
    /// it; the daemon restarts itself in place with the kernels the CPU's
    /// flags warrant (on this project's Xeon: SkylakeX, 3× MiniLM's speed).
    /// On a CPU OpenBLAS knows, its own choice is what the log names.
    func testTheDaemonRunsKernelsForItsCPUWhereOpenBLASFellBack() throws {
        let flags = BLASKernelChoice.machineFlags
        XCTAssertFalse(flags.isEmpty, "/proc/cpuinfo lists this CPU's flags")
        let h = try DaemonHarness()
        try h.start(removingEnvironment: ["OPENBLAS_CORETYPE"])
        let kernels = try loggedKernels(h)
        let pid = try XCTUnwrap(h.process?.processIdentifier)
        XCTAssertNotEqual(kernels, "unknown", h.logText)
        if flags.isSuperset(of: ["avx2", "fma"]) {
            XCTAssertFalse(BLASKernelChoice.preAVX2.contains(kernels), "a CPU with AVX2 runs \(kernels): \(h.logText)")
        }
        if h.logText.contains("did not know this CPU") {
            // The restart replaced the process in place: the pid the harness
            // started now runs with the variable set, and answers.
            XCTAssert(h.logText.contains("restarted with OPENBLAS_CORETYPE=\(kernels)"), h.logText)
            let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            XCTAssert(variables.contains("OPENBLAS_CORETYPE=\(kernels)"), "\(variables.filter { $0.contains("OPENBLAS") })")
            XCTAssertNoThrow(try h.status())
        }
        h.kill(SIGTERM)
        XCTAssertEqual(h.process?.terminationStatus, 0, h.logText)
    }

    /// A user's OPENBLAS_CORETYPE is theirs: never overridden.
    func testTheDaemonKeepsTheUsersOPENBLASCORETYPE() throws {
        let h = try DaemonHarness()
        try h.start(extraEnvironment: ["OPENBLAS_CORETYPE": "Sandybridge"])
        XCTAssertEqual(try loggedKernels(h), "Sandybridge", h.logText)
        XCTAssert(h.logText.contains("(OPENBLAS_CORETYPE=Sandybridge)"), h.logText)
        h.kill(SIGTERM)
    }

    func testAWorkerLoopThatDiesEndsTheDaemonWithAFailureStatus() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        // Test-only fault (see TestFaults): a worker's loop throws after its first batch.
        try h.start(extraEnvironment: ["REVSD_TEST_FAIL_WORKER": "1"], arguments: ["--workers", "2"])
        try copy(DaemonIntegrationTests.unique[0], to: h.watch + "/one.png")
        let status = try h.waitForExit(timeout: 120)
        XCTAssertNotEqual(status, 0, "a dead worker loop is a failure: \(h.logText)")
        XCTAssert(h.logText.contains("injected test fault"), h.logText)
        XCTAssert(h.logText.contains("stopped on a failure"), h.logText)
        XCTAssertFalse(h.logText.contains("stopped cleanly"), h.logText)
        // The batch it finished before dying was stored.
        let store = try IndexStore(path: h.state + "/index.sqlite")
        XCTAssertEqual(try store.counts().indexed, 1)
    }

    func testSIGTERMWhileIndexingFinishesTheCurrentFilesAndKeepsTheRestQueued() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        try h.start(arguments: ["--workers", "1"])
        let names = Array(DaemonIntegrationTests.unique[0..<8])
        for (i, name) in names.enumerated() { try copy(name, to: h.watch + "/\(i)-" + name) }
        try waitUntil(timeout: 60, "indexing has started") { ((try? h.status())?["processed_since_start"] as? Int ?? 0) > 0 }
        h.kill(SIGTERM)
        XCTAssertEqual(h.process?.terminationStatus, 0, h.logText)
        XCTAssert(h.logText.contains("stopped cleanly"), h.logText)
        let store = try IndexStore(path: h.state + "/index.sqlite")
        let c = try store.counts()
        XCTAssertEqual(c.failed, 0, h.logText)
        XCTAssertEqual(c.indexed + c.queued, names.count, "every file is indexed or still queued")
        try h.start(arguments: ["--workers", "1"])
        try h.waitForIndex(names.count)
        XCTAssertEqual(try h.status()["failed"] as? Int, 0)
        h.kill(SIGTERM)
        XCTAssertEqual(h.process?.terminationStatus, 0)
    }

    func testSIGHUPReReadsTheWatchedFolders() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let other = h.dir.path("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try copy(DaemonIntegrationTests.unique[0], to: h.watch + "/a.png")
        try copy(DaemonIntegrationTests.unique[1], to: other + "/b.jpg")
        try h.start(config: "watch = [\"\(h.watch)\"]\n", watchFlag: false)
        try h.waitForIndex(1)
        XCTAssertEqual(try h.status()["watches"] as? [String], [h.watch])

        // A folder added to the file is watched and indexed after SIGHUP.
        try "watch = [\"\(h.watch)\", \"\(other)\"]\n".write(toFile: h.configFile, atomically: true, encoding: .utf8)
        h.send(SIGHUP)
        try waitUntil(timeout: 60, "the added folder is watched") {
            (try? h.status())?["watches"] as? [String] == [h.watch, other].sorted()
        }
        try h.waitForIndex(2)
        XCTAssert(h.logText.contains("reloaded the configuration"), h.logText)

        // A folder dropped from the file is no longer watched.
        try "watch = [\"\(other)\"]\n".write(toFile: h.configFile, atomically: true, encoding: .utf8)
        h.send(SIGHUP)
        try waitUntil(timeout: 60, "the dropped folder is no longer watched") {
            (try? h.status())?["watches"] as? [String] == [other]
        }
        try copy(DaemonIntegrationTests.unique[2], to: other + "/c.jpg")
        let store = try IndexStore(path: h.state + "/index.sqlite")
        try waitUntil(timeout: 120, "b.jpg and c.jpg indexed, a.png gone with its folder") {
            (try? store.fileStates().keys.map(\.path).sorted()) == [other + "/b.jpg", other + "/c.jpg"] && (try? store.queuedCount()) == 0
        }

        h.kill(SIGTERM)
        XCTAssertEqual(h.process?.terminationStatus, 0, h.logText)
        XCTAssert(h.logText.contains("stopped cleanly"), h.logText)
    }
}
