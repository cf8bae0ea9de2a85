import Foundation
import XCTest
@testable import Daemon
@testable import Learning
import RevsdSystem

/// One line splitter (`TextInput.split`) for configuration, corpora and
/// lists: "\n", "\r\n" and a lone "\r" each end a line.
final class LineSplittingTests: XCTestCase {
    let dir = TemporaryDirectory()

    func testTheSplitterTakesEveryLineEnd() {
        XCTAssertEqual(TextInput.split("a\r\nb\rc\nd"), ["a", "b", "c", "d"])
        XCTAssertEqual(TextInput.split("a\r\n"), ["a"])
        XCTAssertEqual(TextInput.split("a\r"), ["a"])
        XCTAssertEqual(TextInput.split("\r\n\r\n"), ["", ""])
        XCTAssertEqual(TextInput.split("a\n\rb"), ["a", "", "b"], "LF then CR is two line ends")
        XCTAssertEqual(TextInput.split("a\r\r\nb"), ["a", "", "b"])
        XCTAssertEqual(TextInput.split("\r"), [""])
        XCTAssertEqual(TextInput.split("café\r\n名前\r\u{301}x"), ["café", "名前", "\u{301}x"])
    }

    static let config = [
        "# revsd", "watch = [\"/srv/a\", \"/srv/b/../c\"]   # two folders", "state_dir = \"/var/lib/x\"",
        "socket = '/run/x.sock'", "workers = 2", "batch_size = 4", "", "[models]", "image_encoders = [",
        "    \"efficientnet-lite0\",", "    \"efficientnet-lite2\",", "]", "clip = []",
    ]

    func parsed(_ text: String, _ name: String) throws -> DaemonConfig {
        var c = DaemonConfig.defaults(environment: ["HOME": "/home/u"], isRoot: false)
        try c.apply(file: dir.write(name, text), required: true)
        return c
    }

    func testACRLFOrCRConfigReadsAsItsLines() throws {
        let lf = try parsed(Self.config.joined(separator: "\n") + "\n", "lf.toml")
        XCTAssertEqual(lf.workers, 2)
        XCTAssertEqual(lf.imageEncoders, ["efficientnet-lite0", "efficientnet-lite2"])
        XCTAssertEqual(try parsed(Self.config.joined(separator: "\r\n") + "\r\n", "crlf.toml"), lf)
        XCTAssertEqual(try parsed(Self.config.joined(separator: "\r"), "cr.toml"), lf)
        // Errors still name the right line.
        let bad = dir.write("bad.toml", "workers = 2\r\nworkers = 3\r\n")
        var c = DaemonConfig.defaults()
        XCTAssertThrowsError(try c.apply(file: bad, required: true)) { XCTAssert("\($0)".hasPrefix(bad + ":2: key 'workers' is defined twice"), "\($0)") }
    }

    func testTOMLTrimsOnlyItsOwnWhitespace() throws {
        // TOML whitespace is space and tab; metadata text trims every
        // whitespace and NUL. Each module has its own, differently named helper.
        XCTAssertEqual(try TOMLSubset.parse(" \tworkers\t = 2 \t")[""]?["workers"]?.value, .integer(2))
        XCTAssertThrowsError(try TOMLSubset.parse("workers\u{A0} = 2")) {
            XCTAssertEqual($0 as? TOMLError, TOMLError(line: 1, reason: "invalid key 'workers\u{A0}'"))
        }
    }

    func testCRLFAndCRCorporaReadAsTheirLines() throws {
        for end in ["\r\n", "\r"] {
            XCTAssertEqual(try PromptCorpus.parse(["a cat", "", "  a dog  ", "a cat"].joined(separator: end) + end, format: .text), ["a cat", "a dog"])
            XCTAssertEqual(try PromptCorpus.parse(["prompt\tsource", "red horse\tx", "blue sky\ty"].joined(separator: end) + end, format: .tsv),
                           ["red horse", "blue sky"])
            XCTAssertEqual(try PromptCorpus.parse(["{\"prompt\": \"a\"}", "\"b\""].joined(separator: end), format: .jsonl), ["a", "b"])
            XCTAssertThrowsError(try PromptCorpus.parse(["\"a\"", "not json"].joined(separator: end), format: .jsonl, path: "c.jsonl")) {
                XCTAssertEqual("\($0)", "c.jsonl:2: not a JSON value")
            }
            let txt = dir.write("corpus.txt", ["first prompt", "second prompt"].joined(separator: end) + end)
            XCTAssertEqual(try PromptCorpus.read(path: txt), ["first prompt", "second prompt"])
            let tsv = dir.write("corpus.tsv", ["id\tprompt", "1\tfirst prompt", "2\tsecond prompt"].joined(separator: end))
            XCTAssertEqual(try PromptCorpus.read(path: tsv), ["first prompt", "second prompt"])
        }
    }

    func testACRLFPromptsTSVReadsAsItsLines() throws {
        let lines = ["file\tprompt", "a.png\ta red horse", "b.png\tline\\nbreak, tab\\there"]
        let want = ["a.png": "a red horse", "b.png": "line\nbreak, tab\there"]
        XCTAssertEqual(try PromptsTSV.read(path: dir.write("lf.tsv", lines.joined(separator: "\n") + "\n")), want)
        XCTAssertEqual(try PromptsTSV.read(path: dir.write("crlf.tsv", lines.joined(separator: "\r\n") + "\r\n")), want)
        XCTAssertEqual(try PromptsTSV.read(path: dir.write("cr.tsv", lines.joined(separator: "\r"))), want)
    }
}
