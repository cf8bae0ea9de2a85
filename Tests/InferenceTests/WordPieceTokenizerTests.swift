import Foundation
import XCTest
@testable import Inference

/// WordPiece rules on a small vocabulary where every answer is known.
/// (Identity with the Hugging Face tokenizer on the real vocabulary is
/// checked by IndexerTests.MiniLMGoldenTests.)
final class WordPieceTokenizerTests: XCTestCase {
    static let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "##b",
                         "horse", ",", "!", "cafe", "un##", "##a", "(", ")", ":", "1", ".", "2", "野"]
    let tokenizer = try! WordPieceTokenizer(
        vocab: Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Int32($0)) }),
        maxInputCharsPerWord: 12)

    func ids(_ words: String...) -> [Int32] { words.map { Int32(Self.tokens.firstIndex(of: $0)!) } }

    func testGreedyLongestMatchWithContinuations() {
        XCTAssertEqual(tokenizer.wordPieceIDs("unaffable"), ids("un", "##aff", "##able"))
        XCTAssertEqual(tokenizer.wordPieceIDs("ab a"), ids("a", "##b", "a"))
        XCTAssertEqual(tokenizer.wordPieceIDs("aba"), ids("a", "##b", "##a"))
    }

    func testAWordWithAnUnmatchablePieceIsOneUnknown() {
        XCTAssertEqual(tokenizer.wordPieceIDs("unaffx horse"), ids("[UNK]", "horse"))
        XCTAssertEqual(tokenizer.wordPieceIDs("xyz"), ids("[UNK]"))
    }

    func testWordsLongerThanTheLimitAreUnknown() {
        XCTAssertEqual(tokenizer.wordPieceIDs("a" + String(repeating: "b", count: 11)), ids("a", "##b", "##b", "##b", "##b", "##b", "##b", "##b", "##b", "##b", "##b", "##b"))
        XCTAssertEqual(tokenizer.wordPieceIDs("a" + String(repeating: "b", count: 12)), ids("[UNK]"))
    }

    func testNormalisationPunctuationAndCJK() {
        XCTAssertEqual(tokenizer.wordPieceIDs("HORSE, Café!"), ids("horse", ",", "cafe", "!"))
        XCTAssertEqual(tokenizer.wordPieceIDs("(horse:1.2)"), ids("(", "horse", ":", "1", ".", "2", ")"))
        XCTAssertEqual(tokenizer.wordPieceIDs("horse野horse"), ids("horse", "野", "horse"))
        XCTAssertEqual(tokenizer.wordPieceIDs("  \t\n "), [])
    }

    func testSpecialTokensAreMatchedInTheRawTextOnly() {
        XCTAssertEqual(tokenizer.wordPieceIDs("a[MASK]horse"), ids("a", "[MASK]", "horse"))
        // Lower-case "[mask]" is ordinary text: brackets are punctuation, "mask" unknown.
        XCTAssertEqual(tokenizer.wordPieceIDs("[mask]"), ids("[UNK]", "[UNK]", "[UNK]"))
    }

    func testEncodeAddsClsSepAndTruncates() {
        XCTAssertEqual(tokenizer.encode("", maxLength: 8), ids("[CLS]", "[SEP]"))
        XCTAssertEqual(tokenizer.encode("horse horse horse horse", maxLength: 4), ids("[CLS]", "horse", "horse", "[SEP]"))
        XCTAssertEqual(tokenizer.encode("horse", maxLength: 4), ids("[CLS]", "horse", "[SEP]"))
    }

    func testLoadingRefusesAFolderWithoutVocabulary() {
        let dir = TemporaryDirectory()
        XCTAssertThrowsError(try WordPieceTokenizer(folder: dir.url)) {
            XCTAssertEqual("\($0)", "\(dir.path("vocab.txt")): missing WordPiece vocabulary")
        }
        _ = dir.write("vocab.txt", "a\nb\n")
        XCTAssertThrowsError(try WordPieceTokenizer(folder: dir.url)) {
            XCTAssertEqual("\($0)", "\(dir.path("vocab.txt")): invalid vocabulary: special token [UNK] is not in the vocabulary")
        }
        _ = dir.write("vocab.txt", "[UNK]\n[CLS]\n[SEP]\n")
        _ = dir.write("tokenizer.json", "{not json")
        XCTAssertThrowsError(try WordPieceTokenizer(folder: dir.url)) {
            XCTAssertEqual("\($0)", "\(dir.path("tokenizer.json")): invalid configuration: not a JSON object")
        }
    }
}
