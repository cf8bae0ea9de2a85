import Foundation

/// A sentence-transformers model of the BERT family (all-MiniLM-L6-v2 is
/// revsd's yardstick): WordPiece → BERT → mean pooling over the tokens →
/// L2 normalisation.
///
/// Thread-safe: one forward pass at a time (the workspace is reused, and
/// OpenBLAS already uses every core inside a pass).
public final class SentenceEncoder: @unchecked Sendable {
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    /// Word pieces per text, [CLS] and [SEP] included (sentence_bert_config.json).
    public let maxSequenceLength: Int
    public let folder: URL
    private let workspace: TransformerWorkspace
    private let lock = NSLock()

    public var dimension: Int { model.config.hiddenSize }

    /// What a cache of this encoder's embeddings is keyed by: the weights
    /// file and, where the dense layers run in bfloat16, that path's
    /// arithmetic (`BFloat16MatMul.numerics`: its embeddings differ from
    /// fp32's in the fifth decimal).
    public var cacheKey: String {
        "\(model.checkpoint.path)|\(model.checkpoint.file.count)" + (model.encoder.precision == .bfloat16 ? "|\(BFloat16MatMul.numerics)" : "")
    }

    /// `precision`: the dense layers' (`MatMulPrecision`; bfloat16 where the CPU runs it natively).
    public init(folder: URL, precision: MatMulPrecision = .automatic) throws {
        self.folder = folder
        let tokenizer = try WordPieceTokenizer(folder: folder)
        let model = try BertModel(folder: folder, precision: precision)
        let vocabSize = model.config.vocabSize
        guard tokenizer.vocab.values.allSatisfy({ Int($0) < vocabSize }) else {
            throw ModelError.invalidVocabulary(path: folder.appendingPathComponent("vocab.txt").path,
                reason: "\(tokenizer.vocab.count) tokens but the model embeds \(vocabSize)")
        }
        self.tokenizer = tokenizer
        self.model = model
        var maxLen = min(model.config.maxPositionEmbeddings, 512)
        let stURL = folder.appendingPathComponent("sentence_bert_config.json")
        if let data = FileManager.default.contents(atPath: stURL.path) {
            guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ModelError.invalidConfig(path: stURL.path, reason: "not a JSON object")
            }
            if let v = obj["max_seq_length"] as? Int {
                guard v >= 2 && v <= model.config.maxPositionEmbeddings else {
                    throw ModelError.invalidConfig(path: stURL.path, reason: "max_seq_length \(v) is outside 2...\(model.config.maxPositionEmbeddings)")
                }
                maxLen = v
            }
        }
        maxSequenceLength = maxLen
        let poolURL = folder.appendingPathComponent("1_Pooling/config.json")
        if let data = FileManager.default.contents(atPath: poolURL.path) {
            guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw ModelError.invalidConfig(path: poolURL.path, reason: "not a JSON object")
            }
            if (obj["pooling_mode_mean_tokens"] as? Bool) != true {
                throw ModelError.invalidConfig(path: poolURL.path, reason: "only mean pooling (pooling_mode_mean_tokens) is supported")
            }
        }
        workspace = TransformerWorkspace(config: model.config.transformer)
    }

    /// Token ids exactly as the reference feeds them to the model.
    public func tokenize(_ text: String) -> [Int32] {
        tokenizer.encode(text, maxLength: maxSequenceLength)
    }

    /// Unit-length embeddings of `texts`, in order, computed in batches of
    /// `batchSize` texts (sorted by length so batches hold similar lengths).
    public func embed(_ texts: [String], batchSize: Int = 32) -> [[Float]] {
        let ids = texts.map(tokenize)
        return embed(tokenIDs: ids, batchSize: batchSize)
    }

    public func embed(tokenIDs ids: [[Int32]], batchSize: Int = 32) -> [[Float]] {
        let H = dimension
        var out = [[Float]](repeating: [], count: ids.count)
        let order = ids.indices.sorted { ids[$0].count > ids[$1].count }
        lock.lock()
        defer { lock.unlock() }
        var start = 0
        while start < order.count {
            let chunk = Array(order[start..<min(order.count, start + max(1, batchSize))])
            start += chunk.count
            let batch = chunk.map { ids[$0] }
            Parallel.sharingCores { model.forward(batch, workspace: workspace) }
            var row = 0
            for (j, seq) in batch.enumerated() {
                var v = [Float](repeating: 0, count: H)
                let L = seq.count
                for t in 0..<L {
                    let src = workspace.x + (row + t) * H
                    for i in 0..<H { v[i] += src[i] }
                }
                row += L
                // Mean over the L tokens, then x / max(‖x‖, 1e-12) as torch's normalize.
                for i in 0..<H { v[i] /= Float(L) }
                VectorMath.l2Normalize(&v)
                out[chunk[j]] = v
            }
        }
        return out
    }
}
