import Foundation

/// BERT's WordPiece tokenizer, identical to the Hugging Face fast tokenizer
/// of a BERT folder (`vocab.txt`, `tokenizer.json`, `tokenizer_config.json`):
/// special tokens matched in the raw text, BertNormalizer, BertPreTokenizer,
/// greedy longest-match-first WordPiece with `##` continuations, words longer
/// than `maxInputCharsPerWord` → `[UNK]`, then `[CLS] … [SEP]` with truncation.
public struct WordPieceTokenizer: Sendable {
    public let vocab: [String: Int32]
    public let normalizer: BertNormalizer
    public let maxInputCharsPerWord: Int
    public let continuingPrefix: String
    public let unkID: Int32
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    /// Tokens matched verbatim in the raw text before normalisation
    /// (Hugging Face "added tokens" with `normalized: false`), longest first.
    public let specialTokens: [(text: [Unicode.Scalar], id: Int32)]

    public init(vocab: [String: Int32], normalizer: BertNormalizer = BertNormalizer(),
                maxInputCharsPerWord: Int = 100, continuingPrefix: String = "##",
                unkToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
                padToken: String = "[PAD]", specialTokens: [String]? = nil, source: String = "vocabulary") throws {
        func id(_ t: String) throws -> Int32 {
            guard let i = vocab[t] else { throw ModelError.invalidVocabulary(path: source, reason: "special token \(t) is not in the vocabulary") }
            return i
        }
        self.vocab = vocab
        self.normalizer = normalizer
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.continuingPrefix = continuingPrefix
        self.unkID = try id(unkToken)
        self.clsID = try id(clsToken)
        self.sepID = try id(sepToken)
        self.padID = vocab[padToken] ?? 0
        let specials = specialTokens ?? [padToken, unkToken, clsToken, sepToken, "[MASK]"].filter { vocab[$0] != nil }
        self.specialTokens = try specials.map { (Array($0.unicodeScalars), try id($0)) }
            .sorted { $0.text.count > $1.text.count }
    }

    /// Loads a tokenizer from a Hugging Face BERT folder. `vocab.txt` is
    /// required; `tokenizer.json` and `tokenizer_config.json` refine the
    /// settings when present.
    public init(folder: URL) throws {
        let vocabURL = folder.appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: vocabURL.path) else {
            throw ModelError.missingFile(path: vocabURL.path, what: "WordPiece vocabulary")
        }
        let text: String
        do { text = try String(contentsOf: vocabURL, encoding: .utf8) } catch {
            throw ModelError.invalidVocabulary(path: vocabURL.path, reason: "not readable as UTF-8")
        }
        var vocab: [String: Int32] = [:]
        // One token per line; split scalars, since "\r\n" is one Character.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            String(String.UnicodeScalarView(line.last == "\r" ? line.dropLast() : line[...]))
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw ModelError.invalidVocabulary(path: vocabURL.path, reason: "file is empty") }
        vocab.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() { vocab[line] = Int32(i) }

        var normalizer = BertNormalizer()
        var maxChars = 100
        var prefix = "##"
        var unk = "[UNK]"
        var specials: [String]? = nil

        // tokenizer_config.json (the "slow" settings).
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if let obj = try Self.jsonObject(at: configURL) {
            if let lower = obj["do_lower_case"] as? Bool { normalizer.lowercase = lower }
            if let chinese = obj["tokenize_chinese_chars"] as? Bool { normalizer.handleChineseChars = chinese }
            if let strip = obj["strip_accents"] as? Bool { normalizer.stripAccents = strip } else { normalizer.stripAccents = normalizer.lowercase }
            if let u = obj["unk_token"] as? String { unk = u }
        }
        // tokenizer.json (the "fast" tokenizer, which sentence-transformers uses) wins.
        let fastURL = folder.appendingPathComponent("tokenizer.json")
        if let obj = try Self.jsonObject(at: fastURL) {
            if let n = obj["normalizer"] as? [String: Any], (n["type"] as? String) == "BertNormalizer" {
                if let v = n["clean_text"] as? Bool { normalizer.cleanText = v }
                if let v = n["handle_chinese_chars"] as? Bool { normalizer.handleChineseChars = v }
                if let v = n["lowercase"] as? Bool { normalizer.lowercase = v }
                if let v = n["strip_accents"] as? Bool { normalizer.stripAccents = v } else { normalizer.stripAccents = normalizer.lowercase }
            }
            if let m = obj["model"] as? [String: Any] {
                if let t = m["type"] as? String, t != "WordPiece" {
                    throw ModelError.invalidConfig(path: fastURL.path, reason: "tokenizer model is \(t), expected WordPiece")
                }
                if let v = m["max_input_chars_per_word"] as? Int { maxChars = v }
                if let v = m["continuing_subword_prefix"] as? String { prefix = v }
                if let v = m["unk_token"] as? String { unk = v }
            }
            if let added = obj["added_tokens"] as? [[String: Any]] {
                specials = added.compactMap { t in
                    guard let content = t["content"] as? String, vocab[content] != nil else { return nil }
                    return (t["normalized"] as? Bool ?? false) ? nil : content
                }
            }
        }
        try self.init(vocab: vocab, normalizer: normalizer, maxInputCharsPerWord: maxChars,
                      continuingPrefix: prefix, unkToken: unk, specialTokens: specials, source: vocabURL.path)
    }

    static func jsonObject(at url: URL) throws -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: url.path, reason: "not a JSON object")
        }
        return obj
    }

    // MARK: Encoding

    /// Token ids of `text`, without special tokens and without truncation.
    public func wordPieceIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        let raw = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        // Split the raw text at special tokens (leftmost, longest).
        while i < raw.count {
            var matched: (Int, Int32)? = nil
            for st in specialTokens where st.text.first == raw[i] && st.text.count <= raw.count - i {
                if raw[i..<(i + st.text.count)].elementsEqual(st.text) { matched = (st.text.count, st.id); break }
            }
            if let (len, id) = matched {
                appendPlain(raw[segmentStart..<i], into: &ids)
                ids.append(id)
                i += len
                segmentStart = i
            } else {
                i += 1
            }
        }
        appendPlain(raw[segmentStart..<raw.count], into: &ids)
        return ids
    }

    private func appendPlain(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        guard !scalars.isEmpty else { return }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let normalized = normalizer.normalize(Substring(String(view)))
        for word in BertNormalizer.preTokenize(normalized) {
            appendWord(word, into: &ids)
        }
    }

    /// Greedy longest-match-first WordPiece of one word.
    private func appendWord(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        if word.count > maxInputCharsPerWord { ids.append(unkID); return }
        let chars = Array(word)
        var pieces: [Int32] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: Int32? = nil
            while end > start {
                var view = String.UnicodeScalarView()
                if start > 0 { view.append(contentsOf: continuingPrefix.unicodeScalars) }
                view.append(contentsOf: chars[start..<end])
                if let id = vocab[String(view)] { found = id; break }
                end -= 1
            }
            guard let id = found else { ids.append(unkID); return }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    /// `[CLS] ids [SEP]`, truncated to `maxLength` tokens in all.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        var ids = wordPieceIDs(text)
        if ids.count > maxLength - 2 { ids.removeLast(ids.count - (maxLength - 2)) }
        return [clsID] + ids + [sepID]
    }
}
