import Foundation

/// CLIP's byte-level BPE tokenizer, identical to the Hugging Face fast
/// tokenizer (`CLIPTokenizerFast`, the `AutoTokenizer` default) of a CLIP
/// folder called as `tokenizer(text, truncation=True, max_length=77)`:
///
///  1. added tokens (`<|startoftext|>`, `<|endoftext|>`, and any others that
///     `tokenizer.json` lists) are cut out of the raw text, or out of the
///     normalised text for those marked `normalized`;
///  2. each remaining segment is normalised and split (`CLIPPreTokenizer`);
///  3. each piece is byte-pair encoded (`BytePairEncoding`);
///  4. the ids are truncated to `maxLength − 2` and framed by the start and
///     end tokens.
///
/// Files: `vocab.json` and `merges.txt` (required), `tokenizer_config.json`
/// (special tokens, `model_max_length`) and `tokenizer.json` (added tokens)
/// when present.
public struct CLIPTokenizer: Sendable {
    public struct AddedToken: Sendable, Equatable {
        public var content: [Unicode.Scalar]
        public var id: Int32
        /// Matched in the normalised text rather than the raw text.
        public var normalized: Bool
        /// Swallow the whitespace left / right of a match.
        public var lstrip: Bool
        public var rstrip: Bool
    }

    public let vocab: [String: Int32]
    public let bpe: BytePairEncoding
    /// Longest first, so that a scan takes the leftmost-longest match.
    public let addedTokens: [AddedToken]
    public let startID: Int32
    public let endID: Int32
    /// Ids per text, start and end tokens included.
    public private(set) var maxLength: Int

    public init(vocab: [String: Int32], merges: [(String, String, line: Int)], addedTokens: [AddedToken],
                startToken: String = "<|startoftext|>", endToken: String = "<|endoftext|>",
                unknownToken: String? = "<|endoftext|>", maxLength: Int = 77,
                vocabPath: String = "vocab.json", mergesPath: String = "merges.txt") throws {
        func id(_ token: String) throws -> Int32 {
            if let t = addedTokens.first(where: { String(String.UnicodeScalarView($0.content)) == token }) { return t.id }
            guard let i = vocab[token] else {
                throw ModelError.invalidVocabulary(path: vocabPath, reason: "special token \(token) is not in the vocabulary")
            }
            return i
        }
        guard maxLength >= 2 else {
            throw ModelError.invalidVocabulary(path: vocabPath, reason: "maximum length \(maxLength) leaves no room for the start and end tokens")
        }
        self.vocab = vocab
        self.bpe = try BytePairEncoding(vocab: vocab, merges: merges, unknownToken: unknownToken, mergesPath: mergesPath)
        self.addedTokens = addedTokens.filter { !$0.content.isEmpty }.sorted { $0.content.count > $1.content.count }
        self.startID = try id(startToken)
        self.endID = try id(endToken)
        self.maxLength = maxLength
    }

    /// Loads the tokenizer of a Hugging Face CLIP folder.
    public init(folder: URL, maxLength: Int? = nil) throws {
        let vocabPath = folder.appendingPathComponent("vocab.json").path
        let mergesPath = folder.appendingPathComponent("merges.txt").path
        guard let vocabData = FileManager.default.contents(atPath: vocabPath) else {
            throw ModelError.missingFile(path: vocabPath, what: "CLIP tokenizer vocabulary (vocab.json and merges.txt are both needed)")
        }
        guard FileManager.default.fileExists(atPath: mergesPath) else {
            throw ModelError.missingFile(path: mergesPath, what: "CLIP tokenizer merge rules (vocab.json and merges.txt are both needed)")
        }
        guard let vocabObject = (try? JSONSerialization.jsonObject(with: vocabData)) as? [String: Any] else {
            throw ModelError.invalidVocabulary(path: vocabPath, reason: "not a JSON object of token → id")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(vocabObject.count)
        for (token, value) in vocabObject {
            guard let n = value as? Int, n >= 0, n < Int(Int32.max) else {
                throw ModelError.invalidVocabulary(path: vocabPath, reason: "the id of '\(token)' is not a non-negative integer")
            }
            vocab[token] = Int32(n)
        }
        let merges = try BytePairEncoding.readMerges(path: mergesPath)

        // tokenizer_config.json: the special tokens and the context length.
        var start = "<|startoftext|>", end = "<|endoftext|>", unknown = "<|endoftext|>"
        var pad: String? = "<|endoftext|>"
        var configLength: Int? = nil
        let configPath = folder.appendingPathComponent("tokenizer_config.json").path
        if let obj = try Self.jsonObject(atPath: configPath) {
            func token(_ key: String) -> String? {
                if let s = obj[key] as? String { return s }
                return (obj[key] as? [String: Any])?["content"] as? String
            }
            start = token("bos_token") ?? start
            end = token("eos_token") ?? end
            unknown = token("unk_token") ?? unknown
            pad = token("pad_token") ?? pad
            // Tokenizers without a limit store a huge float; only a real length counts.
            if let m = obj["model_max_length"] as? Int, m >= 2, m <= 1 << 20 { configLength = m }
        }
        // tokenizer.json: the added tokens with their flags; without it, the
        // special tokens, matched in the raw text (what transformers builds).
        var added: [AddedToken] = []
        let fastPath = folder.appendingPathComponent("tokenizer.json").path
        if let obj = try Self.jsonObject(atPath: fastPath), let list = obj["added_tokens"] as? [[String: Any]] {
            for entry in list {
                guard let content = entry["content"] as? String, let id = entry["id"] as? Int, id >= 0 else {
                    throw ModelError.invalidVocabulary(path: fastPath, reason: "an added token has no content or id")
                }
                added.append(AddedToken(content: Array(content.unicodeScalars), id: Int32(id),
                                        normalized: entry["normalized"] as? Bool ?? false,
                                        lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false))
            }
        } else {
            var seen = Set<String>()
            for t in [start, end, unknown, pad].compactMap({ $0 }) where seen.insert(t).inserted {
                guard let id = vocab[t] else { continue }
                added.append(AddedToken(content: Array(t.unicodeScalars), id: id, normalized: false, lstrip: false, rstrip: false))
            }
        }
        try self.init(vocab: vocab, merges: merges, addedTokens: added, startToken: start, endToken: end,
                      unknownToken: unknown, maxLength: maxLength ?? configLength ?? 77,
                      vocabPath: vocabPath, mergesPath: mergesPath)
    }

    /// The same tokenizer with at most `length` ids per text (a text
    /// tower's position table bounds what it can read).
    public func limited(to length: Int) -> CLIPTokenizer {
        var copy = self
        copy.maxLength = max(2, min(maxLength, length))
        return copy
    }

    static func jsonObject(atPath path: String) throws -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: path, reason: "not a JSON object")
        }
        return obj
    }

    /// The model input for `text`: start token, at most `maxLength − 2` ids, end token.
    public func encode(_ text: String) -> [Int32] {
        var ids = tokenIDs(text)
        if ids.count > maxLength - 2 { ids.removeLast(ids.count - (maxLength - 2)) }
        return [startID] + ids + [endID]
    }

    /// The ids of `text` without start/end tokens or truncation.
    public func tokenIDs(_ text: String) -> [Int32] {
        var out: [Int32] = []
        var bytes: [UInt8] = []
        let raw = Array(text.unicodeScalars)
        for segment in Self.cut(raw, by: addedTokens.filter { !$0.normalized }) {
            switch segment {
            case .token(let id):
                out.append(id)
            case .text(let range):
                let normalized = CLIPPreTokenizer.normalize(Substring(String(String.UnicodeScalarView(raw[range]))))
                for part in Self.cut(normalized, by: addedTokens.filter(\.normalized)) {
                    switch part {
                    case .token(let id):
                        out.append(id)
                    case .text(let r):
                        let piece = Array(normalized[r])
                        for p in CLIPPreTokenizer.split(piece) {
                            bytes.removeAll(keepingCapacity: true)
                            for s in piece[p] { bytes.append(contentsOf: UTF8.encode(s)!) }
                            bpe.encode(word: bytes, into: &out)
                        }
                    }
                }
            }
        }
        return out
    }

    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Cuts the leftmost-longest matches of `tokens` out of `text` (with the
    /// whitespace that `lstrip`/`rstrip` swallow), keeping the text between.
    static func cut(_ text: [Unicode.Scalar], by tokens: [AddedToken]) -> [Segment] {
        guard !tokens.isEmpty else { return [.text(0..<text.count)] }
        var segments: [Segment] = []
        var start = 0
        var i = 0
        while i < text.count {
            guard let t = tokens.first(where: { t in
                i + t.content.count <= text.count && zip(t.content, text[i...]).allSatisfy { $0 == $1 }
            }) else { i += 1; continue }
            var lo = i, hi = i + t.content.count
            if t.lstrip { while lo > start && text[lo - 1].properties.isWhitespace { lo -= 1 } }
            if t.rstrip { while hi < text.count && text[hi].properties.isWhitespace { hi += 1 } }
            if lo > start { segments.append(.text(start..<lo)) }
            segments.append(.token(t.id))
            start = hi
            i = hi
        }
        if start < text.count { segments.append(.text(start..<text.count)) }
        return segments
    }
}
