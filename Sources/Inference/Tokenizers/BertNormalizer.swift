import Foundation

/// The text clean-up in front of BERT's WordPiece, identical to the Hugging
/// Face `tokenizers` BertNormalizer and BertPreTokenizer (the "fast"
/// tokenizer that sentence-transformers uses).
///
/// One subtlety decides token ids on modern text: the Rust implementation
/// classifies characters ("other" = control/format/unassigned/private use,
/// punctuation, non-spacing mark) with the tables of the `unicode_categories`
/// crate, which date from Unicode 8.0 and list only what UnicodeData.txt
/// lists. A character assigned after 8.0 (most emoji of the last years)
/// therefore has no category there: it is neither dropped as a control nor
/// split off as punctuation, and its accents are not stripped. We follow that
/// through `Unicode.Scalar.Properties.age`. Whitespace, lower-casing and
/// NFD use the current Unicode tables, as Rust's standard library does.
public struct BertNormalizer: Sendable, Equatable {
    public var cleanText = true
    public var handleChineseChars = true
    public var stripAccents = true
    public var lowercase = true

    /// The Unicode version of the classification tables (see the type's note).
    public static let categoryTablesVersion: Unicode.Version = (major: 8, minor: 0)

    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool = true, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents
        self.lowercase = lowercase
    }

    public static func == (a: BertNormalizer, b: BertNormalizer) -> Bool {
        (a.cleanText, a.handleChineseChars, a.stripAccents, a.lowercase) == (b.cleanText, b.handleChineseChars, b.stripAccents, b.lowercase)
    }

    /// Normalises `text` into a sequence of scalars.
    public func normalize(_ text: Substring) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count + 8)
        for s in text.unicodeScalars {
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
                if Self.isWhitespace(s) { out.append(" "); continue }
            }
            if handleChineseChars && Self.isChineseChar(s) {
                out.append(" "); out.append(s); out.append(" ")
            } else {
                out.append(s)
            }
        }
        if stripAccents {
            // NFD, then drop non-spacing marks. Scalars newer than the tables
            // pass through undecomposed, as they do in the reference.
            var decomposed: [Unicode.Scalar] = []
            decomposed.reserveCapacity(out.count + 8)
            var run = String.UnicodeScalarView()
            func flushRun() {
                guard !run.isEmpty else { return }
                for s in String(run).decomposedStringWithCanonicalMapping.unicodeScalars where !Self.isNonspacingMark(s) {
                    decomposed.append(s)
                }
                run = String.UnicodeScalarView()
            }
            for s in out {
                if s.isASCII || Self.isAssignedInTables(s) {
                    run.append(s)
                } else {
                    flushRun()
                    decomposed.append(s)
                }
            }
            flushRun()
            out = decomposed
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for s in out {
                if s.isASCII {
                    lowered.append(s.value >= 65 && s.value <= 90 ? Unicode.Scalar(s.value + 32)! : s)
                } else {
                    lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                }
            }
            out = lowered
        }
        return out
    }

    // MARK: Character classes

    /// Assigned in the Unicode version of the classification tables.
    @inline(__always)
    static func isAssignedInTables(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        let v = categoryTablesVersion
        return age.major < v.major || (age.major == v.major && age.minor <= v.minor)
    }

    /// Rust `char::is_whitespace` (the White_Space property) plus \t \n \r.
    @inline(__always)
    public static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        if s == " " || s == "\t" || s == "\n" || s == "\r" { return true }
        if s.isASCII { return s.value == 0x0B || s.value == 0x0C }
        return s.properties.isWhitespace
    }

    /// The crate's `is_other` (Cc, Cf, Co, Cs as of Unicode 8.0), except \t \n \r.
    @inline(__always)
    public static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        if s.isASCII { return s.value < 0x20 || s.value == 0x7F }
        // Unassigned code points are not "other" there: the crate's tables are
        // built from UnicodeData.txt, which lists no Cn entries.
        if !isAssignedInTables(s) { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse: return true
        default: return false
        }
    }

    /// Scalars whose category changed after Unicode 8.0 in a way that matters
    /// here (found by the exhaustive comparison in BertNormalizerTests).
    static let markIn8Only: Set<UInt32> = [0x1734, 0x1171E]              // Mn then, Mc now
    static let markSince8: Set<UInt32> = [0x1885, 0x1886, 0xA9BD, 0x111C9] // Mn now, not then
    static let punctuationIn8Only: Set<UInt32> = [0x166D, 0x111C9]        // Po then, So/Mn now

    /// ASCII punctuation, or a P* category in the crate's tables.
    @inline(__always)
    public static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 128 {
            return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
        }
        guard isAssignedInTables(s) else { return false }
        if punctuationIn8Only.contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    @inline(__always)
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII { return false }
        if markIn8Only.contains(s.value) { return true }
        if markSince8.contains(s.value) { return false }
        return s.properties.generalCategory == .nonspacingMark && isAssignedInTables(s)
    }

    /// The CJK Unified Ideograph blocks that BERT pads with spaces.
    @inline(__always)
    public static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// BertPreTokenizer: split on whitespace (dropped), then isolate each
    /// punctuation character as a word of its own.
    public static func preTokenize(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        var i = 0
        func flush(_ end: Int) { if end > start { words.append(scalars[start..<end]) } }
        while i < scalars.count {
            let s = scalars[i]
            if isWhitespace(s) {
                flush(i); start = i + 1
            } else if isPunctuation(s) {
                flush(i); words.append(scalars[i...i]); start = i + 1
            }
            i += 1
        }
        flush(scalars.count)
        return words
    }
}
