import Foundation

/// Byte-level byte-pair encoding as the Hugging Face `tokenizers` BPE model
/// runs it for CLIP (`end_of_word_suffix = "</w>"`, no continuing-subword
/// prefix, no dropout, `fuse_unk = false`).
///
/// A pre-token's UTF-8 bytes are mapped to GPT-2's printable byte symbols;
/// the last symbol carries "</w>"; then the adjacent pair of lowest merge
/// rank (leftmost among equal ranks) is merged until no pair has a rank.
/// That is the order in which the reference's priority queue merges, so the
/// results are the same. Everything runs on token ids: a merge is
/// (left id, right id) → (rank, merged id).
public struct BytePairEncoding: Sendable {
    public struct Pair: Hashable, Sendable {
        public let left: Int32
        public let right: Int32
    }

    /// Token id of each byte's symbol, in the middle and at the end of a word
    /// (nil when the vocabulary lacks it: the unknown token is used then).
    let byteIDs: [Int32?]        // (256)
    let finalByteIDs: [Int32?]   // (256)
    let merges: [Pair: (rank: Int32, id: Int32)]
    let unknownID: Int32?

    /// GPT-2's reversible map from bytes to printable scalars: the printable
    /// Latin-1 bytes map to themselves, the other 68 to U+0100 onwards.
    public static let byteSymbols: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for b in printable { table[b] = Unicode.Scalar(UInt32(b))! }
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            table[b] = Unicode.Scalar(UInt32(256 + n))!
            n += 1
            printable.append(b)
        }
        return table
    }()

    public static let endOfWordSuffix = "</w>"

    /// - Parameters:
    ///   - vocab: token → id (vocab.json).
    ///   - merges: the merge rules in rank order, each a pair of tokens.
    ///   - unknownToken: the token used for a symbol the vocabulary lacks.
    ///   - mergesPath: named in errors.
    public init(vocab: [String: Int32], merges: [(String, String, line: Int)], unknownToken: String?, mergesPath: String) throws {
        byteIDs = Self.byteSymbols.map { vocab[String($0)] }
        finalByteIDs = Self.byteSymbols.map { vocab[String($0) + Self.endOfWordSuffix] }
        unknownID = unknownToken.flatMap { vocab[$0] }
        var table: [Pair: (rank: Int32, id: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b, line)) in merges.enumerated() {
            guard let ia = vocab[a], let ib = vocab[b] else {
                throw ModelError.invalidVocabulary(path: mergesPath, reason: "line \(line): '\(vocab[a] == nil ? a : b)' is not in vocab.json")
            }
            guard let merged = vocab[a + b] else {
                throw ModelError.invalidVocabulary(path: mergesPath, reason: "line \(line): the merge result '\(a + b)' is not in vocab.json")
            }
            // A repeated rule takes its last rank, as the reference's map does.
            table[Pair(left: ia, right: ib)] = (Int32(rank), merged)
        }
        self.merges = table
    }

    /// Reads merges.txt: an optional "#version" line, then one "left right"
    /// rule per line.
    public static func readMerges(path: String) throws -> [(String, String, line: Int)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.missingFile(path: path, what: "BPE merge rules")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelError.invalidVocabulary(path: path, reason: "not UTF-8")
        }
        var rules: [(String, String, line: Int)] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for (i, raw) in lines.enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ModelError.invalidVocabulary(path: path, reason: "line \(i + 1) is not two tokens separated by one space")
            }
            rules.append((String(parts[0]), String(parts[1]), line: i + 1))
        }
        guard !rules.isEmpty else { throw ModelError.invalidVocabulary(path: path, reason: "no merge rules") }
        return rules
    }

    /// The token ids of one pre-token (the UTF-8 bytes of a word), appended to `out`.
    public func encode<Bytes: Collection<UInt8>>(word: Bytes, into out: inout [Int32]) {
        let n = word.count
        guard n > 0 else { return }
        // Symbols of the word; a merged symbol takes the left one's slot and
        // the right one is removed.
        var symbols: [Int32] = []
        symbols.reserveCapacity(n)
        for (i, b) in word.enumerated() {
            // A symbol outside the vocabulary becomes the unknown token (one
            // per symbol: unknowns are not fused), or is dropped without one.
            if let id = (i == n - 1 ? finalByteIDs[Int(b)] : byteIDs[Int(b)]) ?? unknownID {
                symbols.append(id)
            }
        }
        while symbols.count > 1 {
            var best: (rank: Int32, id: Int32)? = nil
            var at = -1
            for i in 0..<(symbols.count - 1) {
                if let m = merges[Pair(left: symbols[i], right: symbols[i + 1])], best == nil || m.rank < best!.rank {
                    best = m
                    at = i
                }
            }
            guard let best else { break }
            symbols[at] = best.id
            symbols.remove(at: at + 1)
        }
        out.append(contentsOf: symbols)
    }
}
