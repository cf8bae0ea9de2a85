import XCTest
@testable import Metadata

/// The text formats on their own: A1111 parameters, InvokeAI Dream, JSON.
final class MetadataParserTests: XCTestCase {
    typealias S = A1111Parameters.Setting

    func testSettingsLine() {
        let line = #"Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3237291527, Size: 512x768, Model hash: 099e07547a, Lora hashes: "a: 1f2e, b: 3c4d", Hashes: {"model": "45a21ea00a", "x": [1, 2]}, Note: say \"hi\", Version: v1.10.1"#
        XCTAssertEqual(A1111Parameters.settings(in: Substring(line)), [
            S(key: "Steps", value: "20"), S(key: "Sampler", value: "DPM++ 2M Karras"), S(key: "CFG scale", value: "7"),
            S(key: "Seed", value: "3237291527"), S(key: "Size", value: "512x768"), S(key: "Model hash", value: "099e07547a"),
            S(key: "Lora hashes", value: "a: 1f2e, b: 3c4d"), S(key: "Hashes", value: #"{"model": "45a21ea00a", "x": [1, 2]}"#),
            S(key: "Note", value: #"say \"hi\""#), S(key: "Version", value: "v1.10.1"),
        ])
        XCTAssertEqual(A1111Parameters.settings(in: "Template: a {b|c}, Steps: 4"),
                       [S(key: "Template", value: "a {b|c}"), S(key: "Steps", value: "4")])
        XCTAssertEqual(A1111Parameters.settings(in: ""), [])
        XCTAssertEqual(A1111Parameters.settings(in: ", , :,x: 1"), [])   // keys need two characters
        XCTAssertTrue(A1111Parameters.isSettingsLine("Steps: 20, Seed: 1"))
        XCTAssertFalse(A1111Parameters.isSettingsLine("a photo, style: anime, mood: calm, light: soft"))
    }

    func testParametersWithMultilinePromptColonsAndTrailingLines() throws {
        let text = """
        masterpiece, (cat:1.2), style: anime
        second line, with, commas
        Negative prompt: lowres,
        bad hands
        Steps: 30, Sampler: Euler a, CFG scale: 6.5, Seed: 18446744073709551615, Size: 832x1216, Model: sdxl, Model hash: abc123
        Template: masterpiece, {cat|dog}
        """
        let p = try XCTUnwrap(A1111Parameters.parse(text))
        XCTAssertEqual(p.prompt, "masterpiece, (cat:1.2), style: anime\nsecond line, with, commas")
        XCTAssertEqual(p.negativePrompt, "lowres,\nbad hands")
        XCTAssertEqual(p.trailingLines, ["Template: masterpiece, {cat|dog}"])
        let m = p.metadata(raw: text)
        XCTAssertEqual(m, GenerationMetadata(prompt: p.prompt, negativePrompt: "lowres,\nbad hands", steps: 30, sampler: "Euler a",
                                             cfgScale: 6.5, seed: UInt64.max, width: 832, height: 1216, model: "sdxl",
                                             modelHash: "abc123", source: "automatic1111", raw: text))
    }

    func testParametersEdgeCases() throws {
        // No prompt at all, CRLF line ends, only a negative prompt, no settings.
        XCTAssertEqual(try XCTUnwrap(A1111Parameters.parse("Steps: 20, Seed: 5, Size: 64x64")).prompt, "")
        let crlf = try XCTUnwrap(A1111Parameters.parse("a\r\nb\r\nNegative prompt: c\r\nSteps: 1, Seed: 2"))
        XCTAssertEqual(crlf.prompt, "a\nb")
        XCTAssertEqual(crlf.negativePrompt, "c")
        XCTAssertEqual(try XCTUnwrap(A1111Parameters.parse("a cat\nNegative prompt: dog")).negativePrompt, "dog")
        XCTAssertNil(A1111Parameters.parse("just a comment written by GIMP"))
        // Bad numbers are absent values, not failures.
        let m = try XCTUnwrap(A1111Parameters.parse("x\nSteps: many, Seed: -1, Size: big, CFG scale: 7")).metadata(raw: "")
        XCTAssertNil(m.steps); XCTAssertNil(m.seed); XCTAssertNil(m.width); XCTAssertEqual(m.cfgScale, 7)
    }

    func testDream() throws {
        let q = try XCTUnwrap(DreamParser.parse(#""a \"red\" car [blurry, text]" -s 50 -S 2980747362 -W 512 -H 768 -C 5 -A k_lms -G 0.9"#))
        XCTAssertEqual(q.prompt, #"a "red" car [blurry, text]"#)
        XCTAssertEqual(q.negativePrompt, "blurry, text")
        XCTAssertEqual([q.steps, q.width, q.height], [50, 512, 768])
        XCTAssertEqual(q.seed, 2_980_747_362); XCTAssertEqual(q.cfgScale, 5); XCTAssertEqual(q.sampler, "k_lms")
        XCTAssertEqual(q.source, "invokeai")

        let u = try XCTUnwrap(DreamParser.parse("banana sushi -s50 -W512 -H512 -C7.5 -Ak_lms -S1863159593 -Idata:image/png;base64,AAAA"))
        XCTAssertEqual(u.prompt, "banana sushi")
        XCTAssertEqual([u.steps, u.width, u.height], [50, 512, 512])
        XCTAssertEqual(u.seed, 1_863_159_593); XCTAssertEqual(u.sampler, "k_lms")
        XCTAssertNil(u.negativePrompt)

        XCTAssertEqual(DreamParser.parse("just words")?.prompt, "just words")
        XCTAssertNil(DreamParser.parse(#""unterminated -s 5"#))
        XCTAssertNil(DreamParser.parse("   "))
        XCTAssertEqual(DreamParser.bracketed("a [b [c]] d [e]"), ["b [c]", "e"])
    }

    func testJSONParserKeepsOrderNumbersAndIsLenientWhereFilesAre() throws {
        let v = try JSONParser.parse(#"{"b": 1, "a": [18446744073709551615, -2.5e3, NaN, -Infinity], "s": "\u00e9\ud83d\ude00\n\"", "b": true}"# + "\0\n")
        let o = try XCTUnwrap(v.object)
        XCTAssertEqual(o.keys, ["b", "a", "s"])
        XCTAssertEqual(o["b"], .bool(true))
        XCTAssertEqual(o["a"]?.array?.first?.uint64, UInt64.max)
        XCTAssertEqual(o["a"]?.array?[1].double, -2500)
        XCTAssertEqual(o["s"]?.string, "é😀\n\"")
        XCTAssertEqual(try JSONParser.parse(#""\ud800x""#).string, "\u{FFFD}x")   // lone surrogate
        XCTAssertEqual(o.loose(["A"]), o["a"])
    }

    func testJSONParserRefusesBrokenAndDeepInput() {
        for bad in ["", "{", #"{"a" 1}"#, "[1,]x", #"{"a": tru}"#, #""abc"#, "{} {}", "01x", #"{"a": "\u12"}"#] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad)
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) { XCTAssertEqual($0 as? MetadataError, .nestingTooDeep(limit: MetadataLimits.jsonDepth)) }
        XCTAssertNoThrow(try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
        let many = "[" + String(repeating: "0,", count: MetadataLimits.jsonValues) + "0]"
        XCTAssertThrowsError(try JSONParser.parse(many)) { XCTAssertEqual($0 as? MetadataError, .invalidJSON("more than 1048576 values")) }
        let huge = "\"" + String(repeating: "a", count: MetadataLimits.jsonBytes) + "\""
        XCTAssertThrowsError(try JSONParser.parse(huge)) { XCTAssertEqual($0 as? MetadataError, .tooLarge("JSON text", limit: MetadataLimits.jsonBytes)) }
    }

    func testJSONParameterMapping() throws {
        let o = try XCTUnwrap(JSONParser.object(#"{"Prompt": "p", "Negative": "n", "num_inference_steps": 28, "guidance_scale": "5.5", "seed": "6952411511246973023", "resolution": "(768, 1280)", "sampler_name": "euler", "base_model": "m", "base_model_hash": "h", "software": "RuinedFooocus"}"#))
        XCTAssertEqual(JSONParameters.interpret(o, raw: "r"),
                       GenerationMetadata(prompt: "p", negativePrompt: "n", steps: 28, sampler: "euler", cfgScale: 5.5,
                                          seed: 6_952_411_511_246_973_023, width: 768, height: 1280, model: "m",
                                          modelHash: "h", source: "fooocus", raw: "r"))
        let dt = try XCTUnwrap(JSONParser.object(#"{"c": "a fish", "uc": "", "size": "768x1024", "scale": 3.5, "seed": 1, "steps": 26, "sampler": "Euler A", "model": "flux.ckpt"}"#))
        let m = try XCTUnwrap(JSONParameters.interpret(dt, raw: ""))
        XCTAssertEqual([m.source, m.prompt, m.model], ["drawthings", "a fish", "flux.ckpt"])
        XCTAssertEqual([m.width, m.height], [768, 1024])
        XCTAssertNil(JSONParameters.interpret(try XCTUnwrap(JSONParser.object(#"{"unrelated": 1}"#)), raw: ""))
    }
}
