import Foundation
import XCTest
@testable import RevsdProtocol

/// Runs the real revsdd binary on temporary folders and talks to it only
/// through its socket (and revsdctl), as a user would.
final class DaemonHarness: @unchecked Sendable {
    let dir = TemporaryDirectory()
    var watch: String { dir.url.appendingPathComponent("watch").path }
    var state: String { dir.url.appendingPathComponent("state").path }
    var socket: String { dir.url.appendingPathComponent("revsdd.sock").path }
    var process: Process?
    var log: String { dir.url.appendingPathComponent("revsdd.log").path }

    init() throws {
        try FileManager.default.createDirectory(atPath: watch, withIntermediateDirectories: true)
    }

    deinit { process.map { if $0.isRunning { Foundation.kill($0.processIdentifier, SIGKILL); $0.waitUntilExit() } } }

    /// The configuration file `start` writes.
    var configFile: String { dir.path("revsdd.toml") }

    /// Starts revsdd and waits (bounded) until it answers. Without
    /// `watchFlag`, the folders come from `config` alone (so SIGHUP re-reads them).
    func start(extraEnvironment: [String: String] = [:], removingEnvironment: [String] = [], arguments extra: [String] = [],
               wrapper: [String] = [], config: String = "", watchFlag: Bool = true) throws {
        let p = Process()
        let revsdd = productsDirectory.appendingPathComponent("revsdd").path
        let args = (watchFlag ? ["--watch", watch] : []) + ["--state-dir", state, "--socket", socket, "--config", dir.write("revsdd.toml", config)] + extra
        if wrapper.isEmpty {
            p.executableURL = URL(fileURLWithPath: revsdd)
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: wrapper[0])
            p.arguments = Array(wrapper.dropFirst()) + [revsdd] + args
        }
        p.environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 }
            .filter { !removingEnvironment.contains($0.key) }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let out = FileHandle(forWritingAtPath: log)!
        out.seekToEndOfFile()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        process = p
        try waitUntil(timeout: 300, "revsdd answers on its socket") { (try? self.call(["op": "status"])) != nil || !p.isRunning }
        guard p.isRunning else { XCTFail("revsdd exited: \(logText)"); throw HarnessError.exited }
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// One request built as a client in another language would (a JSON
    /// object), and the `result` of the answer; an error answer throws.
    func call(_ request: [String: Any]) throws -> [String: Any] {
        let envelope = try exchange(request)
        if envelope["ok"] as? Bool == true { return envelope["result"] as? [String: Any] ?? [:] }
        let e = envelope["error"] as? [String: Any]
        throw ControlClient.Failure.daemon(ControlError(ControlError.Code(rawValue: e?["code"] as? String ?? "") ?? .internalError,
                                                        e?["message"] as? String ?? "revsdd reported an error"))
    }

    /// The whole response object (`v`, `id`, `ok`, `result` or `error`) to a raw request object.
    func exchange(_ request: [String: Any]) throws -> [String: Any] {
        let line = try JSONSerialization.data(withJSONObject: request.merging(["v": 1]) { a, _ in a }) + Data("\n".utf8)
        let reply = try ControlClient(socketPath: socket, timeout: 60).exchange([UInt8](line))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any])
    }

    /// A typed request, as revsdctl sends it.
    func call<R: ControlRequest>(_ request: R) throws -> R.Result {
        try ControlClient(socketPath: socket, timeout: 60).call(request)
    }

    func status() throws -> [String: Any] { try call(["op": "status"]) }

    func kill(_ signal: Int32) {
        guard let p = process else { return }
        Foundation.kill(p.processIdentifier, signal)
        p.waitUntilExit()
    }

    /// Sends `signal` without waiting for anything.
    func send(_ signal: Int32) {
        guard let p = process else { return }
        Foundation.kill(p.processIdentifier, signal)
    }

    /// Waits (bounded) until revsdd exits on its own; its exit status.
    func waitForExit(timeout: TimeInterval) throws -> Int32 {
        let p = try XCTUnwrap(process)
        try waitUntil(timeout: timeout, "revsdd exits") { !p.isRunning }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Waits until indexing settles: nothing queued for either phase, `indexed + failed == expected`.
    func waitForIndex(_ expected: Int, timeout: TimeInterval = 600) throws {
        try waitUntil(timeout: timeout, "\(expected) files indexed") {
            guard let s = try? self.status() else { return false }
            return (s["queued"] as? Int) == 0 && (s["analysis_queued"] as? Int ?? 0) == 0
                && (s["indexed"] as? Int ?? 0) + (s["failed"] as? Int ?? 0) == expected
        }
    }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func waitUntil(timeout: TimeInterval, _ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return }
        Thread.sleep(forTimeInterval: 0.1)
    }
    XCTFail("timed out after \(Int(timeout)) s waiting for: \(what)", file: file, line: line)
    throw HarnessError.timeout(what)
}

enum HarnessError: Error { case exited, timeout(String) }
