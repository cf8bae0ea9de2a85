import Foundation

/// Which words are nouns, adjectives or verbs, for the MLC vocabulary (the
/// paper keeps only those). Read from WordNet 3.0's database files
/// (Debian's `wordnet-base`, /usr/share/wordnet): the lemmas of
/// `index.noun`, `index.adj` and `index.verb`, the irregular forms of
/// `noun.exc`, `adj.exc` and `verb.exc`, and WordNet's own suffix rules
/// (morphy) for regular inflections, so "horses", "running" and "darker"
/// count and "softly" (an adverb only) or "the" (in no index) do not.
public struct PartOfSpeechLexicon: Sendable, Equatable {
    /// Single-word lemmas (lower-case) that are a noun, an adjective or a verb.
    public let lemmas: Set<String>
    /// Irregular inflected form → its lemmas (e.g. "mice" → ["mouse"]).
    public let exceptions: [String: [String]]

    public init(lemmas: Set<String>, exceptions: [String: [String]] = [:]) {
        self.lemmas = lemmas
        self.exceptions = exceptions
    }

    public static let wordNetDirectory = "/usr/share/wordnet"

    public struct LoadError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// WordNet's files in `directory`; a missing or empty index is an error
    /// naming the file.
    public static func wordNet(directory: String = wordNetDirectory) throws(LoadError) -> PartOfSpeechLexicon {
        var lemmas = Set<String>()
        var exceptions: [String: [String]] = [:]
        for pos in ["noun", "adj", "verb"] {
            let index = try text(directory + "/index." + pos)
            var count = 0
            for line in index.split(separator: "\n") where !line.hasPrefix(" ") {
                guard let lemma = line.split(separator: " ", maxSplits: 1).first, !lemma.contains("_") else { continue }
                lemmas.insert(String(lemma)); count += 1
            }
            guard count > 0 else { throw LoadError(path: directory + "/index." + pos, reason: "no lemmas (not a WordNet index)") }
            for line in try text(directory + "/" + pos + ".exc").split(separator: "\n") {
                let parts = line.split(separator: " ").map(String.init)
                guard parts.count >= 2, !parts[0].contains("_") else { continue }
                exceptions[parts[0], default: []] += parts.dropFirst()
            }
        }
        return PartOfSpeechLexicon(lemmas: lemmas, exceptions: exceptions)
    }

    static func text(_ path: String) throws(LoadError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "missing (install wordnet-base)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// WordNet's detachment rules (morphy): inflected suffix → base suffix,
    /// for nouns, verbs and adjectives.
    static let detachments: [(String, String)] = [
        ("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y"),
        ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),
        ("er", ""), ("est", ""), ("er", "e"), ("est", "e"),
    ]

    /// Whether `word` (lower-case) is a noun, an adjective or a verb, or an
    /// inflection of one.
    public func isContentWord(_ word: String) -> Bool {
        if lemmas.contains(word) { return true }
        if let bases = exceptions[word], bases.contains(where: lemmas.contains) { return true }
        for (suffix, replacement) in Self.detachments where word.hasSuffix(suffix) && word.count > suffix.count {
            if lemmas.contains(String(word.dropLast(suffix.count)) + replacement) { return true }
        }
        return false
    }
}
