import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RevsdProtocol
import SyntheticImages
import Synchronization
import XCTest
@testable import Gallery

/// The built revsd-web binary, against the real revsdd on temporary
/// folders, reached through the URL it prints first: every page and
/// endpoint, with the token revsdd made, and `revsdctl web`'s address.
final class RevsdWebEndToEndTests: XCTestCase {
    /// What a child wrote to stdout so far.
    final class Output: Sendable { let text = Mutex("") }

    var processes: [Process] = []
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "revsd-web-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/watch", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/none.toml", contents: Data())
    }

    override func tearDown() {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    var products: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }

    /// Starts a product with stdout collected; stderr to a log file.
    func start(_ name: String, _ arguments: [String]) throws -> (Process, Output) {
        let p = Process()
        p.executableURL = products.appendingPathComponent(name)
        p.arguments = arguments
        let out = Pipe()
        let collected = Output()
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { collected.text.withLock { $0 += String(decoding: d, as: UTF8.self) } }
        }
        p.standardOutput = out
        _ = FileManager.default.createFile(atPath: dir + "/\(name).log", contents: nil)
        p.standardError = FileHandle(forWritingAtPath: dir + "/\(name).log")
        try p.run()
        processes.append(p)
        return (p, collected)
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/\(name).log", encoding: .utf8)) ?? "" }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes.
    func waitUntil(_ timeout: TimeInterval, _ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out after \(Int(timeout)) s waiting for: \(what)")
        throw CancellationError()
    }

    func writeToken() throws -> String {
        let path = dir + "/web-token"
        _ = FileManager.default.createFile(atPath: path, contents: Data((testToken.hex + "\n").utf8), attributes: [.posixPermissions: 0o640])
        return path
    }

    func firstLine(_ out: Output, of p: Process, _ name: String) throws -> String {
        try waitUntil(60, "\(name) prints its address") { out.text.withLock { $0.contains("\n") } || !p.isRunning }
        let line = out.text.withLock { $0.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "" }
        XCTAssertTrue(p.isRunning, "\(name) exited: \(log(name))")
        return line
    }

    func testPrintedURLWorksAndShowsStatusAndSearchOfTheRealDaemon() async throws {
        // Two files: one whose PNG carries its prompt, one without metadata.
        let scenes = SyntheticLibrary.scenes(count: 2, seed: 14)
        let labelled = scenes[0]
        try Data(try SyntheticLibrary.png(for: labelled, metadata: true)).write(to: URL(fileURLWithPath: dir + "/watch/labelled.png"))
        try Data(try SyntheticLibrary.png(for: scenes[1], metadata: false)).write(to: URL(fileURLWithPath: dir + "/watch/plain.png"))
        _ = FileManager.default.createFile(atPath: dir + "/revsdd.toml", contents: Data())
        let socket = dir + "/revsdd.sock"
        let (daemon, _) = try start("revsdd", ["--watch", dir + "/watch", "--state-dir", dir + "/state", "--socket", socket, "--config", dir + "/revsdd.toml"])
        let client = ControlClient(socketPath: socket, timeout: 30)
        try waitUntil(600, "revsdd indexes both files") {
            guard daemon.isRunning, let s = try? client.call(StatusRequest()) else { return !daemon.isRunning }
            return s.queued == 0 && s.indexed + s.failed == 2
        }
        XCTAssertTrue(daemon.isRunning, log("revsdd"))

        // The token revsdd made at start (0640), which revsd-web and revsdctl read.
        let tokenFile = dir + "/state/web-token"
        let token = try XCTUnwrap(SessionToken(hex: try String(contentsOfFile: tokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)), "revsdd made its web token")
        let (web, out) = try start("revsd-web", ["--socket", socket, "--listen", "127.0.0.1:0", "--token-file", tokenFile,
                                                 "--config", dir + "/revsdd.toml"])
        let line = try firstLine(out, of: web, "revsd-web")
        let prefix = "http://127.0.0.1:"
        XCTAssertTrue(line.hasPrefix(prefix) && line.hasSuffix("/?token=\(token.hex)"), line)
        let port = try XCTUnwrap(Int(line.dropFirst(prefix.count).prefix { $0.isNumber }), line)
        XCTAssertNotEqual(port, 0, "the real bound port")

        // `revsdctl web` prints the same address, from the configuration.
        let config = dir + "/web.toml"
        try "[web]\nlisten = \"127.0.0.1:\(port)\"\ntoken_file = \"\(tokenFile)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let ctl = Process()
        ctl.executableURL = products.appendingPathComponent("revsdctl")
        ctl.arguments = ["--socket", socket, "web", "--config", config, "--json"]
        let ctlOut = Pipe()
        ctl.standardOutput = ctlOut
        try ctl.run()
        let printed = try XCTUnwrap(JSONSerialization.jsonObject(with: ctlOut.fileHandleForReading.readDataToEndOfFile()) as? [String: Any])
        ctl.waitUntilExit()
        XCTAssertEqual(ctl.terminationStatus, 0)
        XCTAssertEqual(printed["url"] as? String, line)
        XCTAssertEqual(printed["listening"] as? Bool, true)

        let page = try client.call(ImagesRequest())
        XCTAssertEqual(page.total, 2)
        let labelledID = try XCTUnwrap(page.images.first { $0.prompt != nil }?.imageID)
        let plainID = try XCTUnwrap(page.images.first { $0.prompt == nil }?.imageID)
        let labelledBytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/watch/labelled.png"))

        let prompt = labelled.prompt
        let watched = dir + "/watch"
        try await TestClient.withClient(host: "127.0.0.1", port: port) { http in
            let authority = "127.0.0.1:\(port)"
            let first = try await http.execute(.init("/?token=\(token.hex)", method: .get, authority: authority))
            XCTAssertEqual(first.head.status, .seeOther)
            XCTAssertEqual(first.head.headerFields[.location], "/")
            let cookie = try XCTUnwrap(first.head.headerFields[.setCookie]?.split(separator: ";").first.map(String.init))
            let headers: HTTPFields = [.cookie: cookie]

            let status = try await http.execute(.init("/status", method: .get, authority: authority, headers: headers))
            let statusHTML = String(buffer: status.body ?? ByteBuffer())
            XCTAssertEqual(status.head.status, .ok, statusHTML)
            XCTAssertTrue(statusHTML.contains("<dt>Indexed</dt><dd>2</dd>"), statusHTML)
            XCTAssertTrue(statusHTML.contains("<code>\(watched)</code>"), statusHTML)

            let query = FormFields.encode(prompt)
            let search = try await http.execute(.init("/?q=\(query)", method: .get, authority: authority, headers: headers))
            let html = String(buffer: search.body ?? ByteBuffer())
            XCTAssertEqual(search.head.status, .ok, html)
            XCTAssertTrue(html.contains(HTML.escape(prompt)), html)
            XCTAssertTrue(html.contains("<span class=\"badge prompt\""), "the file's own prompt matched: \(html)")
            XCTAssertTrue(html.contains("<img src=\"/thumb/"), "hits carry their image id: \(html)")

            let fragment = try await http.execute(.init("/grid?q=\(query)", method: .get, authority: authority, headers: headers))
            XCTAssertEqual(fragment.head.status, .ok)

            func get(_ uri: String, _ extra: HTTPFields = [:]) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
                var h = headers
                h.append(contentsOf: extra)
                let r = try await http.execute(.init(uri, method: .get, authority: authority, headers: h))
                return (r.head.status, r.head.headerFields, r.body ?? ByteBuffer())
            }
            // The library: both images as cards, newest first.
            let library = try await get("/")
            XCTAssertEqual(library.status, .ok)
            for id in [labelledID, plainID] { XCTAssertTrue(String(buffer: library.body).contains("src=\"/thumb/\(id)\""), "card \(id)") }
            // An image page: its prompt and parameters; the other says it has none.
            let labelledPage = String(buffer: try await get("/image/\(labelledID)").body)
            XCTAssertTrue(labelledPage.contains(HTML.escape(prompt)) && labelledPage.contains("Steps"), labelledPage)
            XCTAssertTrue(labelledPage.contains("Similar images"), labelledPage)
            let plainPage = String(buffer: try await get("/image/\(plainID)").body)
            XCTAssertTrue(plainPage.contains("no prompt in this file"), plainPage)
            // The thumbnail: WebP from the daemon's cache, cached by ETag.
            let thumb = try await get("/thumb/\(labelledID)")
            XCTAssertEqual(thumb.status, .ok)
            XCTAssertEqual(thumb.headers[.contentType], "image/webp")
            let webp = Array(buffer: thumb.body)
            XCTAssertEqual(Array(webp.prefix(4)), Array("RIFF".utf8))
            XCTAssertEqual(Array(webp.dropFirst(8).prefix(4)), Array("WEBP".utf8))
            let etag = try XCTUnwrap(thumb.headers[.eTag])
            let again = try await get("/thumb/\(labelledID)", [.ifNoneMatch: etag])
            XCTAssertEqual(again.status, .notModified)
            // The file itself: the bytes on disk, passed as a descriptor by the daemon.
            let file = try await get("/file/\(labelledID)")
            XCTAssertEqual(file.headers[.contentType], "image/png")
            XCTAssertEqual(Data(buffer: file.body), labelledBytes)
            // Unknown and path-like ids.
            for uri in ["/image/999999", "/thumb/999999", "/file/..%2f..%2fetc%2fpasswd", "/image/%2e%2e%2f"] {
                let missing = try await get(uri)
                XCTAssertEqual(missing.status, .notFound, uri)
            }
            // Train: a POST with the form's CSRF token; a GET is refused.
            let getTrain = try await get("/train")
            XCTAssertEqual(getTrain.status, .methodNotAllowed)
            var form = headers
            form[.contentType] = "application/x-www-form-urlencoded"
            let trained = try await http.execute(.init("/train", method: .post, authority: authority, headers: form,
                                                       body: ByteBuffer(string: "csrf=\(token.csrf)")))
            XCTAssertEqual(trained.head.status, .seeOther, String(buffer: trained.body ?? ByteBuffer()))

            let none = try await http.execute(.init("/status", method: .get, authority: authority))
            XCTAssertEqual(none.head.status, .unauthorized)
            let foreign = try await http.execute(.init("/status", method: .get, authority: "evil.example:\(port)", headers: headers))
            XCTAssertEqual(foreign.head.status, .forbidden)
        }

        kill(web.processIdentifier, SIGTERM)
        try waitUntil(30, "revsd-web stops on SIGTERM") { !web.isRunning }
        XCTAssertEqual(web.terminationStatus, 0, log("revsd-web"))
    }

    func testUnixSocketListeningPrintsItsPath() throws {
        let path = dir + "/web.sock"
        let (web, out) = try start("revsd-web", ["--socket", dir + "/absent.sock", "--listen", "unix:" + path, "--token-file", try writeToken(),
                                                 "--config", dir + "/none.toml"])
        XCTAssertEqual(try firstLine(out, of: web, "revsd-web"), "unix:" + path)
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        kill(web.processIdentifier, SIGTERM)
        try waitUntil(30, "revsd-web stops on SIGTERM") { !web.isRunning }
        XCTAssertEqual(web.terminationStatus, 0, log("revsd-web"))
    }

    func testMissingTokenFileIsExplained() throws {
        let (web, _) = try start("revsd-web", ["--socket", dir + "/absent.sock", "--listen", "127.0.0.1:0", "--token-file", dir + "/state/web-token",
                                               "--config", dir + "/none.toml"])
        web.waitUntilExit()
        XCTAssertEqual(web.terminationStatus, 2)
        XCTAssertTrue(log("revsd-web").contains("\(dir)/state/web-token: no such file; start revsdd once to create it"), log("revsd-web"))
    }
}
