/// Training or validation data for an MLP head: features, unit-length
/// prompt embeddings, and (for training with a keyword head) each example's
/// keyword indices into the MLC vocabulary — sparse, since 100k examples ×
/// 1,000 words would be 400 MB dense; the trainer densifies one mini-batch
/// at a time.
public struct MLPExamples: Sendable {
    /// (count, inputs), row-major.
    public let x: [Float]
    /// (count, outputs), row-major, unit rows.
    public let y: [Float]
    /// One list of vocabulary indices per example, or empty (no keyword targets).
    public let keywords: [[Int32]]
    public let count: Int
    public let inputs: Int
    public let outputs: Int

    public init(x: [Float], y: [Float], count: Int, keywords: [[Int32]] = []) throws(MLPTrainer.Failure) {
        guard count > 0 else { throw .data("no examples") }
        guard x.count % count == 0, x.count > 0 else { throw .data("\(x.count) feature values do not make \(count) rows") }
        guard y.count % count == 0, y.count > 0 else { throw .data("\(y.count) target values do not make \(count) rows") }
        guard keywords.isEmpty || keywords.count == count else {
            throw .data("\(keywords.count) keyword lists for \(count) examples")
        }
        self.x = x; self.y = y; self.keywords = keywords; self.count = count
        inputs = x.count / count; outputs = y.count / count
    }

    /// Throws unless every keyword index lies in 0..<vocabularySize.
    func checkKeywords(vocabularySize m: Int) throws(MLPTrainer.Failure) {
        for (i, list) in keywords.enumerated() {
            for w in list where w < 0 || Int(w) >= m {
                throw .data("keyword index \(w) of example \(i) is outside the vocabulary of \(m) words")
            }
        }
    }
}
