import Foundation

/// The text clean-up and word splitting in front of CLIP's BPE, identical to
/// the Hugging Face fast CLIP tokenizer:
///
///     normaliser     NFC (`UnicodeNFC`) → Replace(\s+, " ") → Lowercase
///     pre-tokeniser  Split(<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d
///                          |[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+, keep the matches)
///                    → ByteLevel (its GPT-2 split, then bytes → GPT-2 symbols)
///
/// The GPT-2 split of ByteLevel can only cut one kind of piece further: a
/// literal `<|startoftext|>` or `<|endoftext|>` left in the text (upper-case
/// in the raw text, so not an added token) becomes "<|", the name, "|>".
/// Letter runs, single digits and contractions are GPT-2 pieces already, and
/// a run of other characters holds no letter for a GPT-2 contraction.
///
/// The regular expressions run in Oniguruma, whose Unicode tables (16.0 in
/// tokenizers 0.23) are older than Swift's: a scalar assigned later is
/// neither a letter, a number nor a space there. We follow that through
/// `Unicode.Scalar.Properties.age`, and check every code point against the
/// reference in the tests. Lower-casing is Rust's context-free
/// `char::to_lowercase` (the full mapping, no final-sigma rule), which is
/// `Unicode.Scalar.Properties.lowercaseMapping`.
public enum CLIPPreTokenizer {
    public enum CharacterClass: Sendable, Equatable {
        case space, letter, number, other
    }

    /// The Unicode version of the regular-expression engine's tables.
    public static let regexUnicodeVersion: Unicode.Version = (major: 16, minor: 0)

    /// Oniguruma's `\s`, `\p{L}`, `\p{N}` (else "other").
    @inline(__always)
    public static func characterClass(_ s: Unicode.Scalar) -> CharacterClass {
        let v = s.value
        if v < 0x80 {
            if v == 0x20 || (v >= 0x09 && v <= 0x0D) { return .space }
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) { return .letter }
            if v >= 0x30 && v <= 0x39 { return .number }
            return .other
        }
        if v == 0x85 { return .space }
        guard let age = s.properties.age,
              age.major < regexUnicodeVersion.major || (age.major == regexUnicodeVersion.major && age.minor <= regexUnicodeVersion.minor) else {
            return .other
        }
        switch s.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: return .space
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// NFC, every run of whitespace to one space, then lower case.
    public static func normalize(_ text: Substring) -> [Unicode.Scalar] {
        let composed = text.unicodeScalars.allSatisfy(\.isASCII) ? Array(text.unicodeScalars) : UnicodeNFC.normalize(text.unicodeScalars)
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(composed.count)
        var inSpace = false
        for s in composed {
            if characterClass(s) == .space {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            if s.isASCII {
                out.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 32)! : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    static let specialLiterals: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// The pieces the split regex matches, as ranges of `text`, in order
    /// (the spaces between them are dropped).
    public static func split(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        let n = text.count
        func matches(_ literal: [Unicode.Scalar], at i: Int) -> Bool {
            guard i + literal.count <= n else { return false }
            for (k, s) in literal.enumerated() where text[i + k] != s { return false }
            return true
        }
        var i = 0
        while i < n {
            let c = characterClass(text[i])
            if c == .space { i += 1; continue }
            // The alternatives in the regex's order: the first that matches here wins.
            if text[i] == "<", let lit = specialLiterals.first(where: { matches($0, at: i) }) {
                // ByteLevel's GPT-2 split then cuts it into "<|", the name, "|>".
                pieces += [i..<(i + 2), (i + 2)..<(i + lit.count - 2), (i + lit.count - 2)..<(i + lit.count)]
                i += lit.count
                continue
            }
            if text[i] == "'", let tail = contractions.first(where: { matches($0, at: i + 1) }) {
                pieces.append(i..<(i + 1 + tail.count)); i += 1 + tail.count; continue
            }
            var j = i + 1
            switch c {
            case .letter:
                while j < n && characterClass(text[j]) == .letter { j += 1 }
            case .number:
                break  // one digit at a time
            case .other, .space:
                while j < n && characterClass(text[j]) == .other { j += 1 }
            }
            pieces.append(i..<j)
            i = j
        }
        return pieces
    }
}
