import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RevsdProtocol
import XCTest
@testable import Gallery

/// The page's defences, each through the router as a browser would meet it.
final class GallerySecurityTests: XCTestCase {
    static let csp = "default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func testEveryPageNeedsTheTokenAndSaysWhereToGetIt() async throws {
        let backend = FakeBackend()
        try await withGallery(backend) { client in
            for uri in ["/", "/grid", "/status", "/image/7", "/thumb/7", "/file/7", "/static/app.js", "/no/such/page"] {
                let r = try await client.execute(uri: uri, method: .get)
                XCTAssertEqual(r.status, .unauthorized, uri)
                XCTAssertTrue(r.text.contains("revsdctl web"), uri)
                let wrong = try await client.execute(uri: uri, method: .get, headers: [.cookie: "\(SessionToken.cookieName)=\(String(repeating: "0", count: 64))"])
                XCTAssertEqual(wrong.status, .unauthorized, uri)
            }
            let post = try await client.execute(uri: "/train", method: .post, body: ByteBuffer(string: "csrf=\(testToken.csrf)"))
            XCTAssertEqual(post.status, .unauthorized)
        }
        XCTAssertEqual(backend.calls, [], "nothing reached the daemon")
    }

    func testTheTokenInTheAddressSetsTheCookieAndRedirectsWithoutIt() async throws {
        try await withGallery(FakeBackend()) { client in
            let r = try await client.execute(uri: "/?q=red+circle&token=\(testToken.hex)&page=2", method: .get)
            XCTAssertEqual(r.status, .seeOther)
            XCTAssertEqual(r.headers[.location], "/?q=red+circle&page=2")
            XCTAssertEqual(r.headers[.setCookie], "revsd_token=\(testToken.hex); HttpOnly; SameSite=Strict; Path=/")
            let bare = try await client.execute(uri: "/status?token=\(testToken.hex)", method: .get)
            XCTAssertEqual(bare.headers[.location], "/status")
            // The cookie then opens the page.
            let cookie = try XCTUnwrap(r.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            let page = try await client.execute(uri: "/?q=red+circle&page=2", method: .get, headers: [.cookie: cookie])
            XCTAssertEqual(page.status, .ok)
            // A wrong token in the address is refused, and sets nothing.
            let wrong = try await client.execute(uri: "/?token=\(String(repeating: "f", count: 64))", method: .get)
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertNil(wrong.headers[.setCookie])
        }
    }

    func testAForeignHostIsRefusedBeforeAnythingElse() async throws {
        let backend = FakeBackend()
        try await withGallery(backend) { client in
            for host in ["evil.example", "evil.example:8277", "127.0.0.1.evil.example", "localhost.evil.example:80", "[::2]:8277", "10.0.0.1"] {
                let r = try await client.execute(uri: "/?token=\(testToken.hex)", method: .get, headers: [hostField: host])
                XCTAssertEqual(r.status, .forbidden, host)
                XCTAssertNil(r.headers[.setCookie], host)
                let withCookie = try await client.execute(uri: "/", method: .get, headers: authenticated + [hostField: host])
                XCTAssertEqual(withCookie.status, .forbidden, host)
                XCTAssertEqual(withCookie.headers[.contentSecurityPolicy], Self.csp)
            }
            for host in ["127.0.0.1", "127.0.0.1:8277", "localhost:1", "[::1]:8277", "LOCALHOST"] {
                let r = try await client.execute(uri: "/status", method: .get, headers: authenticated + [hostField: host])
                XCTAssertEqual(r.status, .ok, host)
            }
        }
        XCTAssertEqual(backend.calls.filter { $0 != "status" && $0 != "failed" }, [])
    }

    func testHostCheckNamesOnlyLoopback() {
        let check = HostCheck()
        for ok in ["127.0.0.1", "127.0.0.1:0", "[::1]", "[::1]:65535", "localhost", "Localhost:8277"] { XCTAssertTrue(check.allows(ok), ok) }
        for bad in ["", "evil", "127.0.0.2", "::1", "[::1]x", "localhost:", "localhost:abc", "localhost:8277:1", "127.0.0.1 evil"] {
            XCTAssertFalse(check.allows(bad), bad)
        }
        XCTAssertTrue(HostCheck(extraHosts: ["photos.lan"]).allows("photos.lan:8277"))
    }

    func testTrainIsAPostWithTheCSRFToken() async throws {
        let backend = FakeBackend()
        try await withGallery(backend) { client in
            let get = try await client.execute(uri: "/train", method: .get, headers: authenticated)
            XCTAssertEqual(get.status, .methodNotAllowed)
            XCTAssertEqual(get.headers[.allow], "POST")
            let form: HTTPFields = authenticated + [.contentType: "application/x-www-form-urlencoded"]
            let none = try await client.execute(uri: "/train", method: .post, headers: form, body: ByteBuffer(string: ""))
            XCTAssertEqual(none.status, .forbidden)
            let wrong = try await client.execute(uri: "/train", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(String(repeating: "0", count: 64))"))
            XCTAssertEqual(wrong.status, .forbidden)
            let token = try await client.execute(uri: "/train", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(testToken.hex)"))
            XCTAssertEqual(token.status, .forbidden, "the session token itself is not the CSRF token")
            XCTAssertEqual(backend.calls, [], "no train before a valid CSRF token")

            // The status page's form carries the right one.
            let status = try await client.execute(uri: "/status", method: .get, headers: authenticated)
            XCTAssertTrue(status.text.contains("<form class=\"train\" action=\"/train\" method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"\(testToken.csrf)\">"))
            let ok = try await client.execute(uri: "/train", method: .post, headers: form, body: ByteBuffer(string: "csrf=\(testToken.csrf)"))
            XCTAssertEqual(ok.status, .seeOther)
            XCTAssertEqual(ok.headers[.location], "/status?train=started")
        }
        XCTAssertEqual(backend.calls.filter { $0 == "train" }.count, 1)
    }

    func testPathLikeIDsAre404AndNeverReachTheDaemon() async throws {
        let backend = FakeBackend()
        try await withGallery(backend) { client in
            for prefix in ["/image/", "/thumb/", "/file/"] {
                for id in ["../../etc/passwd", "%2e%2e%2f", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "%2Fetc%2Fpasswd", "0", "-1", "1e3", "01", "1.0", "+1",
                           " 1", "%31", "99999999999999999999", "9223372036854775808", "abc"] {
                    let r = try await client.execute(uri: prefix + id, method: .get, headers: authenticated)
                    XCTAssertEqual(r.status, .notFound, prefix + id)
                    XCTAssertEqual(r.headers[.contentSecurityPolicy], Self.csp, prefix + id)
                }
            }
        }
        XCTAssertEqual(backend.calls, [], "no id that is not [1-9][0-9]{0,18} was passed on")
    }

    func testImageIDParsing() {
        XCTAssertEqual(ImageID.parse("1"), 1)
        XCTAssertEqual(ImageID.parse("9223372036854775807"), Int64.max)
        for bad in ["", "0", "00", "01", "-1", "1e3", "9223372036854775808", "12345678901234567890", "١", "1 "] { XCTAssertNil(ImageID.parse(bad), bad) }
    }

    func testUnknownIDsAre404() async throws {
        let backend = FakeBackend()
        try await withGallery(backend) { client in
            for uri in ["/image/12345", "/thumb/12345", "/file/12345"] {
                let r = try await client.execute(uri: uri, method: .get, headers: authenticated)
                XCTAssertEqual(r.status, .notFound, uri)
            }
        }
        XCTAssertEqual(backend.calls, ["image 12345", "image_file 12345 thumbnail", "image_file 12345 original"])
    }

    func testSecurityHeadersOnEveryResponse() async throws {
        let backend = FakeBackend()
        backend.with { $0.details[7] = FakeBackend.sampleImage(); $0.files["7/thumbnail"] = ([1, 2, 3], "image/webp", "t1") }
        try await withGallery(backend) { client in
            let requests: [(String, HTTPRequest.Method, HTTPFields)] = [
                ("/", .get, authenticated), ("/grid?q=x", .get, authenticated), ("/image/7", .get, authenticated), ("/status", .get, authenticated),
                ("/thumb/7", .get, authenticated), ("/static/app.js", .get, authenticated), ("/static/app.css", .get, authenticated),
                ("/train", .get, authenticated), ("/train", .post, authenticated), ("/nowhere", .get, authenticated), ("/", .get, [:]),
                ("/?token=\(testToken.hex)", .get, [:]), ("/", .get, [hostField: "evil.example"]),
            ]
            for (uri, method, headers) in requests {
                let r = try await client.execute(uri: uri, method: method, headers: headers)
                XCTAssertEqual(r.headers[.contentSecurityPolicy], Self.csp, uri)
                XCTAssertEqual(r.headers[HTTPField.Name("Referrer-Policy")!], "no-referrer", uri)
                XCTAssertEqual(r.headers[HTTPField.Name("X-Frame-Options")!], "DENY", uri)
                XCTAssertEqual(r.headers[.xContentTypeOptions], "nosniff", uri)
                if r.headers[.contentType]?.hasPrefix("text/html") == true {
                    XCTAssertFalse(r.text.contains("<script>"), "no inline script: \(uri)")
                    XCTAssertFalse(r.text.contains("style="), "no inline style: \(uri)")
                    XCTAssertFalse(r.text.contains("<style"), "no inline style: \(uri)")
                    XCTAssertFalse(r.text.contains("onclick") || r.text.contains("onload"), "no inline handlers: \(uri)")
                }
            }
        }
    }

    func testDaemonUnreachableIs503NamingTheSocketAndTheFix() async throws {
        let backend = FakeBackend()
        let failure = ControlClient.Failure.notRunning("/run/test/revsdd.sock", "No such file or directory")
        backend.with { $0.failure = failure }
        try await withGallery(backend) { client in
            for uri in ["/", "/status", "/image/7", "/thumb/7"] {
                let r = try await client.execute(uri: uri, method: .get, headers: authenticated)
                XCTAssertEqual(r.status, .serviceUnavailable, uri)
                XCTAssertTrue(r.text.contains(HTML.escape(failure.description)), uri)
                XCTAssertTrue(r.text.contains("systemctl start revsdd"), uri)
                XCTAssertTrue(r.text.contains("<code>/run/test/revsdd.sock</code>"), uri)
            }
        }
    }

    func testSessionTokenFileIsReadAndMissingOneIsExplained() throws {
        let dir = NSTemporaryDirectory() + "revsd-web-token-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SessionToken.load(path: dir + "/web-token")) { e in
            XCTAssertEqual((e as? GalleryConfigError)?.message, "\(dir)/web-token: no such file; start revsdd once to create it")
        }
        try (testToken.hex + "\n").write(toFile: dir + "/web-token", atomically: false, encoding: .utf8)
        XCTAssertEqual(try SessionToken.load(path: dir + "/web-token"), testToken)
        try "short".write(toFile: dir + "/bad", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try SessionToken.load(path: dir + "/bad")) { e in
            XCTAssertTrue((e as? GalleryConfigError)?.message.contains("not a web token (64 hex digits expected)") == true)
        }
        XCTAssertTrue(testToken.matches(testToken.hex))
        XCTAssertFalse(testToken.matches(String(testToken.hex.dropLast())))
        XCTAssertFalse(testToken.matches(testToken.hex + "0"))
        XCTAssertNotEqual(testToken.csrf, testToken.hex)
        XCTAssertEqual(testToken.csrf.count, 64)
    }
}
