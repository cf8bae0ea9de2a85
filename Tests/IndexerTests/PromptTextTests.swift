import XCTest
@testable import Metadata

/// The prompt cleaner on the syntax of each front-end, on real prompts of
/// the shared fixtures (named by file), and on its invariants over all of them.
final class PromptTextTests: XCTestCase {
    func testEachSyntaxIsStrippedAndTheWordsKept() {
        let cases: [(String, String)] = [
            // A1111 attention, emphasis and de-emphasis.
            ("(best quality) (night:1.3) (darkness) sky (stars:1.2)", "best quality night darkness sky stars"),
            ("((masterpiece)), [[sunset]], (smile:-0.5)", "masterpiece, sunset, smile"),
            // Escaped brackets are literal text.
            (#"lance of longinus \(evangelion\), cow"#, "lance of longinus evangelion, cow"),
            // Prompt editing and alternation.
            ("[dog:cat:0.0]", "dog cat"),
            ("[forest:city:10] at night, [fog::0.3], [rain:0.5]", "forest city at night, fog, rain"),
            ("a [cat|dog] sleeping", "a cat dog sleeping"),
            // Extra networks go; InvokeAI concept tokens stay as words.
            ("a lovely cat<lora:lcm-lora-sdv1-5:1>", "a lovely cat"),
            ("castle <lyco:style:0.6>, <hypernet:anime:0.5> dusk", "castle, dusk"),
            ("a portrait of <alf> in <ghibli-face> style", "a portrait of alf in ghibli face style"),
            // ComfyUI textual inversion.
            ("embedding:urn:air:sdxl:embedding:civitai:384756@563234, snake, lizard", "snake, lizard"),
            ("embedding:EasyNegative, 1girl", "1girl"),
            // A1111 BREAK, composable diffusion AND with weights.
            ("a castle BREAK 8k, detailed", "a castle, 8k, detailed"),
            ("a cat :1.2 AND a dog :0.8", "a cat, a dog"),
            // Dynamic prompts.
            ("a {red|blue} hat, __animals/cute__", "a red blue hat, animals cute"),
            ("{2$$castle|tower|bridge} at dawn", "castle tower bridge at dawn"),
            // InvokeAI (compel): blend, swap, +/- and numeric weights.
            (#"("blue sphere", "red cube").blend(0.5, 0.5)"#, "blue sphere, red cube"),
            ("big (red dog).swap(tiger) playing with cat", "big red dog tiger playing with cat"),
            ("cat++, (sad dog)-, (blue sky)1.3, semi-realistic", "cat, sad dog, blue sky, semi-realistic"),
            // Plain prompts are left as they are (but for spacing).
            ("a horse in the snow,  photo", "a horse in the snow, photo"),
            ("1girl, solo, hatsune miku", "1girl, solo, hatsune miku"),
            ("東京の夜景、ネオン", "東京の夜景、ネオン"),
        ]
        for (raw, expected) in cases {
            XCTAssertEqual(PromptText.cleaned(raw), expected, "cleaning \(raw)")
        }
    }

    /// The search text is the cleaned prompt; without boilerplate, the tags
    /// that say how well go (whole tags only, any case), unless nothing is left.
    func testTheSearchTextAndItsBoilerplate() {
        XCTAssertEqual(PromptText.searchText("(red:1.3) fox, <lora:foo_v2:0.8>"), "red fox")
        let cases: [(String, String)] = [
            ("((masterpiece)), best quality, (red:1.3) fox, 8k, Highly Detailed", "red fox"),
            ("a horse, digital art, oil painting, greg rutkowski", "a horse, digital art, oil painting, greg rutkowski"),
            ("a detailed map, masterpiece of the museum", "a detailed map, masterpiece of the museum"),
            ("masterpiece, best quality", "masterpiece, best quality"),
            ("", ""),
        ]
        for (raw, expected) in cases { XCTAssertEqual(PromptText.withoutBoilerplate(raw), expected, raw) }
    }

    /// Real prompts written by the front-ends: named files with the syntax above.
    func testRealFixturePrompts() throws {
        let (_, rows) = try MetadataFixtures.expected()
        let byFile = Dictionary(rows.map { ($0.file, $0.prompt) }, uniquingKeysWith: { a, _ in a })
        let expected: [(String, String)] = [
            ("comfyex__inpaint_inpain_model_cat.png", "closeup photograph of maine coon cat in the yosemite national park mountains nature"),
            ("dynprompts__prompt_editing.jpg", "dog cat"),
            ("sdcpp__with_lcm.png", "a lovely cat"),
            ("invokeai__outputs_000021.47.png", "big red dog tiger playing with cat"),
            ("invokeai__concepts_image5.png", "a portrait of alf in ghibli face style"),
            ("cdtuner__sample3.jpg", "snow girl standing in snow town"),
        ]
        for (file, cleaned) in expected {
            let raw = try XCTUnwrap(byFile[file], "\(file) is in expected.tsv")
            XCTAssertEqual(PromptText.cleaned(raw), cleaned, file)
        }
    }

    /// Over every fixture prompt: no syntax left, nothing added (every word of
    /// the cleaned text is in the raw prompt), and cleaning is idempotent.
    func testInvariantsOverEveryFixturePrompt() throws {
        let (_, rows) = try MetadataFixtures.expected()
        XCTAssertGreaterThan(rows.count, 50)
        for row in rows where !row.prompt.isEmpty {
            let c = PromptText.cleaned(row.prompt)
            XCTAssertNil(c.firstIndex(where: { "()[]{}<>|".contains($0) }), "\(row.file): syntax left in \(c)")
            XCTAssertNil(c.firstMatch(of: #/:\s*\d*\.?\d+\s*(?:[,)\]]|$)/#), "\(row.file): a weight left in \(c)")
            let rawWords = Set(row.prompt.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
            for w in c.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
                XCTAssert(rawWords.contains(String(w)), "\(row.file): '\(w)' is not in the raw prompt")
            }
            XCTAssertEqual(PromptText.cleaned(c), c, "\(row.file): cleaning twice changes \(c)")
        }
    }

    /// The cleaner skips a pattern where the text lacks the bytes every match
    /// of it holds: on every fixture prompt, every prompt of the real corpus
    /// (11,572) and the syntax cases, that gives what running every pattern gives.
    func testSkippingPatternsGivesWhatRunningEveryOneGives() throws {
        let (_, rows) = try MetadataFixtures.expected()
        let corpus = try String(contentsOf: MetadataFixtures.directory().appendingPathComponent("prompts/real-sd-prompts.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { String($0.split(separator: "\t", maxSplits: 1).first ?? "") }
        XCTAssertGreaterThan(corpus.count, 10_000)
        let syntax = ["a  b\tc ,, d", "x\u{3000}y , z", "(a:1.2) [b:c:0.5] {d|e} <lora:f:1> __g/h__ AND i BREAK j",
                      "k++ l-- (m)1.3 (n)- \\(o\\) \"p\" .blend(1) .swap(q) embedding:r", "", " , ", "é, (é:1.1)"]
        var skipped = 0
        for prompt in rows.map(\.prompt) + corpus + syntax {
            let fast = PromptText.cleaned(prompt), every = PromptText.cleaned(prompt, everyPattern: true)
            XCTAssertEqual(fast, every, prompt)
            if !PromptText.has(prompt, "(") && !PromptText.has(prompt, ":") { skipped += 1 }
        }
        // The corpus has prompts with no weights at all, where most patterns are skipped.
        XCTAssertGreaterThan(skipped, 1_000)
    }
}
