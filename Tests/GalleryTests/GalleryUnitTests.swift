import Foundation
import Hummingbird
import XCTest
@testable import Gallery

/// The pure pieces: escaping, form fields, addresses, settings.
final class GalleryUnitTests: XCTestCase {
    func testInterpolatedTextIsEscapedAndOnlyHTMLIsMarkup() {
        let prompt = "<script>alert(\"x\") & 'y'</script>"
        let html: HTML = "<p title=\"\(prompt)\">\(prompt)</p>"
        XCTAssertEqual(html.markup, "<p title=\"&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;\">"
                       + "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;</p>")
        let inner: HTML = "<b>\(prompt)</b>"
        let outer: HTML = "<div>\(inner)</div>"
        XCTAssertEqual(outer.markup, "<div><b>&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;</b></div>", "escaped once, not twice")
        XCTAssertEqual(HTML.raw("<br>").markup, "<br>")
        let n: Int64 = 42
        let d: HTML = "\(n) \(0.5, digits: 3) \(-0.25, digits: 1) \(2.0, digits: 0)"
        XCTAssertEqual(d.markup, "42 0.500 -0.3 2")
    }

    func testFormFieldsDecodeLikeABrowserSends() {
        let f = FormFields("q=red+circle%21&folder=%2Fa%2Fb&empty=&flag&bad=%zz&caf%C3%A9=%C3%A9t%C3%A9")
        XCTAssertEqual(f["q"], "red circle!")
        XCTAssertEqual(f["folder"], "/a/b")
        XCTAssertEqual(f["empty"], "")
        XCTAssertNil(f.nonEmpty("empty"))
        XCTAssertEqual(f["flag"], "")
        XCTAssertEqual(f["bad"], "%zz")
        XCTAssertEqual(f["café"], "été")
        XCTAssertEqual(FormFields.encode("a b/c&d=é"), "a%20b%2Fc%26d%3D%C3%A9")
        XCTAssertEqual(FormFields(FormFields.query([("q", "a b&c"), ("x", nil), ("y", "")]))["q"], "a b&c")
    }

    func testTokenIsRemovedFromTheRedirect() {
        XCTAssertEqual(SecurityMiddleware<BasicRequestContextStub>.withoutToken(path: "/", query: "token=x"), "/")
        XCTAssertEqual(SecurityMiddleware<BasicRequestContextStub>.withoutToken(path: "/image/3", query: "a=1&token=x&b=%20"), "/image/3?a=1&b=%20")
        XCTAssertEqual(SecurityMiddleware<BasicRequestContextStub>.withoutToken(path: "//evil.example", query: "token=x"), "/", "never off-site")
    }

    func testListenAddresses() throws {
        XCTAssertEqual(try ListenAddress.parse("127.0.0.1:8277"), .tcp(host: "127.0.0.1", port: 8277))
        XCTAssertEqual(try ListenAddress.parse("[::1]:0"), .tcp(host: "::1", port: 0))
        XCTAssertEqual(try ListenAddress.parse("localhost:80"), .tcp(host: "localhost", port: 80))
        XCTAssertEqual(try ListenAddress.parse("unix:/run/revsd/web.sock"), .unix(path: "/run/revsd/web.sock"))
        for bad in ["8277", "127.0.0.1", "127.0.0.1:99999", ":80", "unix:relative", "::1:80", "[::1]80", "host:-1"] {
            XCTAssertThrowsError(try ListenAddress.parse(bad), bad)
        }
        XCTAssertTrue(try ListenAddress.parse("127.0.0.9:1").isLoopback)
        XCTAssertTrue(try ListenAddress.parse("[::1]:1").isLoopback)
        XCTAssertFalse(try ListenAddress.parse("0.0.0.0:1").isLoopback)
        XCTAssertFalse(try ListenAddress.parse("192.168.1.2:1").isLoopback)
        XCTAssertEqual(ListenAddress.tcp(host: "::1", port: 0).url(boundPort: 4321, token: testToken), "http://[::1]:4321/?token=\(testToken.hex)")
        XCTAssertEqual(ListenAddress.unix(path: "/run/x.sock").url(boundPort: nil, token: testToken), "unix:/run/x.sock")
    }

    func testSettingsComeFromTheDaemonsConfigThenTheCommandLine() throws {
        let dir = NSTemporaryDirectory() + "revsd-web-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["HOME": dir, "XDG_RUNTIME_DIR": dir + "/run"]
        try "state_dir = \"\(dir)/state\"\nsocket = \"\(dir)/d.sock\"\n[web]\nlisten = \"127.0.0.1:9000\"\n".write(toFile: dir + "/a.toml", atomically: false, encoding: .utf8)
        let a = try WebSettings.resolve(socket: nil, listen: nil, tokenFile: nil, configFile: dir + "/a.toml", allowRemote: false, environment: env)
        XCTAssertEqual(a.socketPath, dir + "/d.sock")
        XCTAssertEqual(a.listen, .tcp(host: "127.0.0.1", port: 9000))
        XCTAssertEqual(a.tokenFile, dir + "/state/web-token")
        XCTAssertFalse(a.alsoIPv6Loopback)

        try "[web]\ntoken_file = \"\(dir)/t\"\n".write(toFile: dir + "/b.toml", atomically: false, encoding: .utf8)
        let b = try WebSettings.resolve(socket: "/s", listen: "unix:/tmp/w.sock", tokenFile: nil, configFile: dir + "/b.toml", allowRemote: false, environment: env)
        XCTAssertEqual(b.socketPath, "/s")
        XCTAssertEqual(b.listen, .unix(path: "/tmp/w.sock"))
        XCTAssertEqual(b.tokenFile, dir + "/t")
        let c = try WebSettings.resolve(socket: nil, listen: nil, tokenFile: "/tok", configFile: dir + "/b.toml", allowRemote: false, environment: env)
        XCTAssertEqual(c.listen, .tcp(host: "127.0.0.1", port: 8277), "the default")
        XCTAssertTrue(c.alsoIPv6Loopback)
        XCTAssertEqual(c.tokenFile, "/tok")

        XCTAssertThrowsError(try WebSettings.resolve(socket: nil, listen: "0.0.0.0:8277", tokenFile: nil, configFile: dir + "/b.toml",
                                                     allowRemote: false, environment: env)) { e in
            XCTAssertTrue("\(e)".contains("--allow-remote"), "\(e)")
        }
        let remote = try WebSettings.resolve(socket: nil, listen: "192.168.1.5:8277", tokenFile: nil, configFile: dir + "/b.toml", allowRemote: true, environment: env)
        XCTAssertEqual(remote.warnings.count, 1)
        XCTAssertEqual(remote.extraHosts, ["192.168.1.5"])

        try "[web]\nport = 1\n".write(toFile: dir + "/c.toml", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try WebSettings.resolve(socket: nil, listen: nil, tokenFile: nil, configFile: dir + "/c.toml", allowRemote: false, environment: env)) { e in
            XCTAssertTrue("\(e)".contains("unknown setting 'port' in [web]"), "\(e)")
        }
    }
}

/// A context type to name `SecurityMiddleware`'s static helpers.
typealias BasicRequestContextStub = Hummingbird.BasicRequestContext
