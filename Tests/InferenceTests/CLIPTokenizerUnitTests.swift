import Foundation
import XCTest
@testable import Inference

/// CLIP's normaliser, split regex and BPE on their own: every code point
/// against the reference (Golden/clip-unicode.json, tools/make_clip_golden.py),
/// and small hand-made vocabularies where the answer is known.
final class CLIPTokenizerUnitTests: XCTestCase {
    struct Unicode: Decodable {
        let runs: [[RunValue]]
        let lower: [String: [UInt32]]
        let nfc: [String: [UInt32]]
        let nfc_cases: [[String]]
    }
    enum RunValue: Decodable {
        case int(Int), string(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .string(try c.decode(String.self)) }
        }
    }

    static let golden: Unicode = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/clip-unicode.json")
        return try! JSONDecoder().decode(Unicode.self, from: Data(contentsOf: url))
    }()

    func testEveryCodePointIsClassifiedNormalisedAndLowerCasedAsTheReferenceDoes() throws {
        let golden = Self.golden
        var checked = 0, wrong: [String] = []
        for run in golden.runs {
            guard case let .int(lo) = run[0], case let .int(hi) = run[1], case let .string(k) = run[2], k != "-" else { continue }
            let want: CLIPPreTokenizer.CharacterClass = ["s": .space, "L": .letter, "N": .number, "o": .other][k]!
            for v in lo...hi {
                let s = Swift.Unicode.Scalar(UInt32(v))!
                checked += 1
                if CLIPPreTokenizer.characterClass(s) != want, wrong.count < 20 { wrong.append(String(format: "U+%04X", v)) }
                // Normalising one scalar: NFC, then lower case (a space stays a space).
                let nfc = golden.nfc[String(v)] ?? [UInt32(v)]
                let lowered = nfc.flatMap { c -> [UInt32] in golden.lower[String(c)] ?? [c] }
                let expected: [UInt32] = want == .space ? [0x20] : lowered
                let got = CLIPPreTokenizer.normalize(Substring(String(Character(s)))).map(\.value)
                if got != expected, wrong.count < 20 { wrong.append(String(format: "U+%04X normalised", v)) }
            }
        }
        XCTAssertEqual(checked, 0x110000 - 0x800)
        XCTAssertEqual(wrong, [])
    }

    /// Marks, composites, jamo and supplementary starters in random runs: NFC
    /// with the reference's Unicode 9.0 tables (Foundation's differs).
    func testCompositionMatchesTheReferenceNFC() {
        var identical = 0
        for c in Self.golden.nfc_cases {
            let got = UnicodeNFC.normalize(c[0].unicodeScalars)
            if got == Array(c[1].unicodeScalars) { identical += 1 } else {
                XCTFail("\(c[0].unicodeScalars.map { String($0.value, radix: 16) }) → \(got.map { String($0.value, radix: 16) }), want \(c[1].unicodeScalars.map { String($0.value, radix: 16) })")
            }
        }
        XCTAssertGreaterThanOrEqual(Self.golden.nfc_cases.count, 1000)
        print("CLIP NFC: \(identical)/\(Self.golden.nfc_cases.count) random sequences identical")
        // Foundation's composition bugs, avoided: a supplementary starter, archaic jamo.
        XCTAssertEqual(UnicodeNFC.normalize("\u{100CA}\u{0300}".unicodeScalars).map(\.value), [0x100CA, 0x300])
        XCTAssertEqual(UnicodeNFC.normalize("\u{1103}\u{1176}".unicodeScalars).map(\.value), [0x1103, 0x1176])
        XCTAssertEqual(UnicodeNFC.normalize("\u{1112}\u{1161}\u{11AB}".unicodeScalars).map(\.value), [0xD55C])
        XCTAssertEqual(UnicodeNFC.normalize("e\u{0301}\u{212B}".unicodeScalars).map(\.value), [0xE9, 0xC5])
    }

    func testSplitKeepsLettersTogetherAndDigitsApart() {
        func pieces(_ s: String) -> [String] {
            let n = CLIPPreTokenizer.normalize(Substring(s))
            return CLIPPreTokenizer.split(n).map { String(String.UnicodeScalarView(n[$0])) }
        }
        XCTAssertEqual(pieces("A  Cat's 42 toys!!"), ["a", "cat", "'s", "4", "2", "toys", "!!"])
        XCTAssertEqual(pieces("(masterpiece:1.2)"), ["(", "masterpiece", ":", "1", ".", "2", ")"])
        XCTAssertEqual(pieces("''s x'll"), ["''", "s", "x", "'ll"])
        XCTAssertEqual(pieces("<|ENDOFTEXT|>!"), ["<|", "endoftext", "|>", "!"])
        XCTAssertEqual(pieces("\t\n \u{3000}"), [])
    }

    /// A vocabulary of bytes plus three merges: "c a" → "ca", "ca t</w>" → "cat</w>", "a a" → "aa".
    func tiny() throws -> CLIPTokenizer {
        var vocab: [String: Int32] = [:]
        for s in BytePairEncoding.byteSymbols { vocab[String(s)] = Int32(vocab.count) }
        for s in BytePairEncoding.byteSymbols { vocab[String(s) + "</w>"] = Int32(vocab.count) }
        for t in ["ca", "cat</w>", "aa", "<|startoftext|>", "<|endoftext|>"] { vocab[t] = Int32(vocab.count) }
        let added = ["<|startoftext|>", "<|endoftext|>"].map {
            CLIPTokenizer.AddedToken(content: Array($0.unicodeScalars), id: vocab[$0]!, normalized: false, lstrip: false, rstrip: false)
        }
        return try CLIPTokenizer(vocab: vocab, merges: [("c", "a", line: 2), ("ca", "t</w>", line: 3), ("a", "a", line: 4)],
                                 addedTokens: added, maxLength: 6)
    }

    func testMergesApplyByRankAndWordsEndWithTheSuffix() throws {
        let t = try tiny()
        let v = t.vocab
        XCTAssertEqual(t.encode("cat"), [v["<|startoftext|>"]!, v["cat</w>"]!, v["<|endoftext|>"]!])
        // "cats": no "cat" without the suffix, so "ca" + "t" + "s</w>".
        XCTAssertEqual(t.tokenIDs("cats"), [v["ca"]!, v["t"]!, v["s</w>"]!])
        // Leftmost first among equal ranks: "aaa" → "aa" + "a</w>".
        XCTAssertEqual(t.tokenIDs("aaa"), [v["aa"]!, v["a</w>"]!])
        // Bytes of a non-ASCII letter: é is C3 A9 → "Ã" "©</w>".
        XCTAssertEqual(t.tokenIDs("é"), [v["Ã"]!, v["©</w>"]!])
        // Truncation keeps the start and end tokens.
        XCTAssertEqual(t.encode("a b c d e f g"), [v["<|startoftext|>"]!, v["a</w>"]!, v["b</w>"]!, v["c</w>"]!, v["d</w>"]!, v["<|endoftext|>"]!])
        // Added tokens in the raw text.
        XCTAssertEqual(t.tokenIDs("cat<|endoftext|>cat"), [v["cat</w>"]!, v["<|endoftext|>"]!, v["cat</w>"]!])
    }

    func testTheByteTableIsGPT2s() {
        let table = BytePairEncoding.byteSymbols
        XCTAssertEqual(Set(table).count, 256)
        XCTAssertEqual(table[Int(UInt8(ascii: "a"))], "a")
        XCTAssertEqual(table[0x20], "\u{0120}")   // "Ġ"
        XCTAssertEqual(table[0x00], "\u{0100}")
        XCTAssertEqual(table[0xAD], "\u{0143}")
    }

    func testBicubicInterpolationIsTheIdentityAtTheSameSizeAndKeepsConstants() {
        let grid: [Float] = (0..<(3 * 3 * 2)).map { Float($0) * 0.5 - 2 }
        let same = grid.withUnsafeBufferPointer { BicubicInterpolation.resize($0.baseAddress!, height: 3, width: 3, channels: 2, toHeight: 3, width: 3) }
        XCTAssertEqual(same, grid)
        let ones = [Float](repeating: 0.25, count: 4 * 4)
        let up = ones.withUnsafeBufferPointer { BicubicInterpolation.resize($0.baseAddress!, height: 4, width: 4, channels: 1, toHeight: 7, width: 5) }
        for v in up { XCTAssertEqual(v, 0.25, accuracy: 1e-6) }
    }
}
