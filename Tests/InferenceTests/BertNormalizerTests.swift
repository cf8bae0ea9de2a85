import Foundation
import XCTest
@testable import Inference

/// The normaliser against the Hugging Face fast tokenizer, code point by code
/// point (golden: tools/make_minilm_golden.py → Golden/bert-unicode.json).
final class BertNormalizerTests: XCTestCase {
    struct UnicodeGolden: Decodable {
        let dropped: [[UInt32]]
        let whitespace: [[UInt32]]
        let chinese: [[UInt32]]
        let mapped: [String: String]
        let punctuation: [[UInt32]]
    }

    static let golden: UnicodeGolden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Golden/bert-unicode.json")
        return try! JSONDecoder().decode(UnicodeGolden.self, from: Data(contentsOf: url))
    }()

    static func set(_ ranges: [[UInt32]]) -> Set<UInt32> {
        var s = Set<UInt32>()
        for r in ranges { for v in r[0]...r[1] { s.insert(v) } }
        return s
    }

    func testEveryCodePointNormalisesLikeTheReference() {
        let g = Self.golden
        let dropped = Self.set(g.dropped), space = Self.set(g.whitespace), chinese = Self.set(g.chinese)
        var mapped: [UInt32: String] = [:]
        for (k, v) in g.mapped { mapped[UInt32(k)!] = v }
        let n = BertNormalizer()
        var mismatches: [String] = []
        var checked = 0
        for cp in UInt32(0)...0x10FFFF {
            guard let s = Unicode.Scalar(cp) else { continue }  // surrogates
            let expected: String
            if dropped.contains(cp) { expected = "" }
            else if space.contains(cp) { expected = " " }
            else if chinese.contains(cp) { expected = " \(Character(s)) " }
            else if let m = mapped[cp] { expected = m }
            else { expected = String(Character(s)) }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: n.normalize(Substring(String(Character(s)))))
            let got = String(view)
            checked += 1
            if got.unicodeScalars.map(\.value) != expected.unicodeScalars.map(\.value) {
                if mismatches.count < 300 {
                    mismatches.append(String(format: "U+%04X", cp) + " expected \(expected.unicodeScalars.map { String($0.value, radix: 16) }) got \(got.unicodeScalars.map { String($0.value, radix: 16) })")
                } else if mismatches.count == 300 { mismatches.append("…") }
            }
        }
        XCTAssertEqual(checked, 0x110000 - 0x800)
        XCTAssert(mismatches.isEmpty, "normaliser differs from the reference:\n" + mismatches.joined(separator: "\n"))
    }

    func testPunctuationMatchesTheReference() {
        let g = Self.golden
        let punct = Self.set(g.punctuation)
        let notIdentity = Self.set(g.dropped).union(Self.set(g.whitespace)).union(Self.set(g.chinese))
            .union(g.mapped.keys.map { UInt32($0)! })
        var mismatches: [String] = []
        for cp in UInt32(0)...0x10FFFF where !notIdentity.contains(cp) {
            guard let s = Unicode.Scalar(cp) else { continue }
            if BertNormalizer.isPunctuation(s) != punct.contains(cp), mismatches.count < 30 {
                mismatches.append(String(format: "U+%04X reference punctuation=%d", cp, punct.contains(cp) ? 1 : 0))
            }
        }
        XCTAssert(mismatches.isEmpty, mismatches.joined(separator: "\n"))
        XCTAssertGreaterThan(punct.count, 500)
    }

    func testPreTokenizerSplitsWhitespaceAndIsolatesPunctuation() {
        let words = BertNormalizer.preTokenize(Array("Hey friend!  How are you?!?".unicodeScalars))
            .map { String(String.UnicodeScalarView($0)) }
        XCTAssertEqual(words, ["Hey", "friend", "!", "How", "are", "you", "?", "!", "?"])
    }
}
