/// The multi-label head's vocabulary (the paper's MLC): the m most frequent
/// content words of the training prompts — lower-cased, alphabetic runs,
/// English stop words and one-letter words removed, and, as the paper does,
/// only nouns, adjectives and verbs when a part-of-speech lexicon is given
/// (WordNet, `PartOfSpeechLexicon`); ties broken alphabetically.
public struct PromptVocabulary: Sendable, Equatable {
    public let words: [String]
    public let index: [String: Int]

    public init(prompts: [String], size m: Int = 1000, lexicon: PartOfSpeechLexicon? = nil) {
        var counts: [String: Int] = [:]
        for p in prompts { for w in Set(Self.words(in: p)) { counts[w, default: 0] += 1 } }
        if let lexicon { counts = counts.filter { lexicon.isContentWord($0.key) } }
        words = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(m).map(\.key)
        index = Dictionary(uniqueKeysWithValues: words.enumerated().map { ($1, $0) })
    }

    /// A stored vocabulary, in its order.
    public init(words: [String]) {
        self.words = words
        index = Dictionary(words.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Content words of a prompt, in order (repeats kept).
    public static func words(in prompt: String) -> [String] {
        var out: [String] = []
        var current = ""
        func flush() {
            if current.count > 1 && !stopWords.contains(current) { out.append(current) }
            current = ""
        }
        for ch in prompt.lowercased() {
            if ch.isLetter && ch.isASCII { current.append(ch) } else { flush() }
        }
        flush()
        return out
    }

    /// The multi-hot target of a prompt over this vocabulary.
    public func target(for prompt: String) -> [Float] {
        var t = [Float](repeating: 0, count: words.count)
        for w in Self.words(in: prompt) { if let i = index[w] { t[i] = 1 } }
        return t
    }

    /// English function words (written for revsd).
    public static let stopWords: Set<String> = [
        "a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for", "from", "by", "with", "without",
        "as", "is", "are", "was", "were", "be", "been", "being", "am", "it", "its", "this", "that", "these", "those",
        "he", "she", "they", "we", "you", "i", "me", "him", "her", "them", "us", "my", "your", "his", "our", "their",
        "into", "onto", "over", "under", "above", "below", "between", "through", "during", "before", "after", "up",
        "down", "out", "off", "about", "against", "again", "very", "so", "too", "than", "then", "there", "here",
        "has", "have", "had", "do", "does", "did", "not", "no", "can", "will", "just", "all", "any", "each", "some",
        "such", "only", "own", "same", "other", "more", "most", "which", "who", "whom", "what", "when", "where",
        "why", "how", "while", "if", "because", "until", "both", "few", "also", "s", "t",
    ]
}
