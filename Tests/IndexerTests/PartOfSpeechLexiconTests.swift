import Foundation
import XCTest
@testable import Learning

/// The MLC vocabulary keeps nouns, adjectives and verbs, as the paper does,
/// with WordNet as the lexicon.
final class PartOfSpeechLexiconTests: XCTestCase {
    func wordNet() throws -> PartOfSpeechLexicon {
        guard FileManager.default.fileExists(atPath: PartOfSpeechLexicon.wordNetDirectory + "/index.noun") else {
            throw XCTSkip("WordNet is not installed at \(PartOfSpeechLexicon.wordNetDirectory) (Debian's wordnet-base; scripts/deps.sh installs it)")
        }
        return try PartOfSpeechLexicon.wordNet()
    }

    func testWordNetKnowsNounsAdjectivesVerbsAndTheirInflections() throws {
        let l = try wordNet()
        XCTAssertGreaterThan(l.lemmas.count, 70_000, "WordNet 3.0 has about 80,000 single-word noun, adjective and verb lemmas")
        for w in ["horse", "horses", "castle", "beautiful", "darker", "running", "ran", "mice", "painted", "cat"] {
            XCTAssert(l.isContentWord(w), "\(w) is a noun, adjective or verb")
        }
        for w in ["softly", "quickly", "the", "of", "with", "extremely"] {
            XCTAssertFalse(l.isContentWord(w), "\(w) is not a noun, adjective or verb")
        }
    }

    func testTheVocabularyKeepsOnlyContentWordsWhenGivenALexicon() throws {
        let l = try wordNet()
        let prompts = ["a horse running softly in beautiful forests", "horses standing quietly, extremely detailed", "a horse"]
        let plain = PromptVocabulary(prompts: prompts, size: 100)
        XCTAssert(plain.words.contains("softly") && plain.words.contains("extremely"), "\(plain.words)")
        let tagged = PromptVocabulary(prompts: prompts, size: 100, lexicon: l)
        XCTAssertEqual(Set(tagged.words), ["horse", "running", "beautiful", "forests", "horses", "standing", "detailed"])
        XCTAssertEqual(tagged.words.first, "horse", "the most frequent first")
        XCTAssertEqual(tagged.target(for: "softly a horse").reduce(0, +), 1, "adverbs are no target")
    }

    func testAMissingWordNetIsOneErrorNamingTheFile() {
        XCTAssertThrowsError(try PartOfSpeechLexicon.wordNet(directory: "/nonexistent/wordnet")) { error in
            XCTAssertEqual("\(error)", "/nonexistent/wordnet/index.noun: missing (install wordnet-base)")
        }
    }
}
