import Foundation
import Inference

/// A trained regression head on frozen image features (the paper's head):
/// blocks of Linear(in→h) → GELU (erf) → BatchNorm1d(h) → Dropout(p), one
/// per hidden width, then Linear(h→outputs) giving the prompt embedding,
/// and optionally the multi-label keyword (MLC) head Linear(outputs→m) with
/// a sigmoid on that raw output. A value: the parameters and the BatchNorm
/// running statistics; inference is eval mode (running statistics, no
/// dropout) and batches all rows through `BLAS.gemm`.
public struct MLPHead: Sendable, Equatable {
    let layout: MLPLayout
    /// Every trainable tensor, flat, in `layout` order.
    let parameters: [Float]
    /// BatchNorm running means and variances, flat, in `layout` order.
    let statistics: [Float]

    public var inputs: Int { layout.inputs }
    public var hidden: [Int] { layout.hidden }
    public var outputs: Int { layout.outputs }
    /// Words of the keyword head; 0 when it has none.
    public var keywords: Int { layout.keywords }

    init(layout: MLPLayout, parameters: [Float], statistics: [Float]) {
        precondition(parameters.count == layout.parameterCount && statistics.count == layout.statisticCount,
                     "MLPHead: \(parameters.count) parameters and \(statistics.count) statistics for a layout of \(layout.parameterCount) and \(layout.statisticCount)")
        self.layout = layout; self.parameters = parameters; self.statistics = statistics
    }

    /// Rows evaluated per chunk: bounds the scratch memory of a large call.
    static let chunkRows = 512

    /// Unit-length embeddings (rows, outputs) for features `x` (rows, inputs).
    public func predict(_ x: [Float], rows: Int) -> [Float] {
        run(x, rows: rows, keywords: false).embeddings
    }

    /// Keyword probabilities (rows, keywords), the sigmoid of the MLC head;
    /// empty when the head has no keyword head.
    public func keywordScores(_ x: [Float], rows: Int) -> [Float] {
        keywords > 0 ? run(x, rows: rows, keywords: true).probabilities : []
    }

    /// Both at once (one forward pass): embeddings (rows, outputs) and keyword
    /// probabilities (rows, keywords), the latter empty without a keyword head.
    public func predictWithKeywords(_ x: [Float], rows: Int) -> (embeddings: [Float], keywords: [Float]) {
        let r = run(x, rows: rows, keywords: keywords > 0)
        return (r.embeddings, r.probabilities)
    }

    private func run(_ x: [Float], rows: Int, keywords wanted: Bool) -> (embeddings: [Float], probabilities: [Float]) {
        precondition(rows >= 0 && x.count == rows * inputs, "MLPHead: \(x.count) features for \(rows) rows of \(inputs)")
        var embeddings = [Float](repeating: 0, count: rows * outputs)        // (rows, outputs)
        var probabilities = [Float](repeating: 0, count: wanted ? rows * keywords : 0)  // (rows, keywords)
        if rows == 0 { return (embeddings, probabilities) }
        let scratch = MLPKernels.EvalScratch(layout: layout, rows: min(rows, Self.chunkRows))
        parameters.withUnsafeBufferPointer { p in
            statistics.withUnsafeBufferPointer { s in
                x.withUnsafeBufferPointer { xp in
                    embeddings.withUnsafeMutableBufferPointer { e in
                        probabilities.withUnsafeMutableBufferPointer { pr in
                            MLPKernels.evaluate(layout, parameters: p.baseAddress!, statistics: s.baseAddress ?? p.baseAddress!,
                                                x: xp.baseAddress!, rows: rows, scratch: scratch,
                                                embeddings: e.baseAddress!, probabilities: wanted ? pr.baseAddress : nil)
                        }
                    }
                }
            }
        }
        return (embeddings, probabilities)
    }

    // MARK: Saving and loading

    /// The head as safetensors entries, named like a PyTorch `state_dict`
    /// (`blocks.0.linear.weight`, `blocks.0.norm.running_var`, `output.weight`,
    /// `mlc.weight`, …) after `prefix`.
    public func entries(prefix: String = "") -> [SafeTensorsWriter.Entry] {
        layout.slots.map { slot in
            let source = slot.kind == .statistic ? statistics : parameters
            return SafeTensorsWriter.Entry(name: prefix + slot.name, shape: slot.shape,
                                           floats: Array(source[slot.offset..<(slot.offset + slot.count)]))
        }
    }

    /// Loads a head saved by `entries(prefix:)`. The architecture is read from
    /// the weights (blocks while `blocks.i.linear.weight` exists, the keyword
    /// head when `mlc.weight` does) and every tensor's shape is checked
    /// against it; `inputs` and `outputs`, when given, must match too.
    /// Throws `ModelError.shapeMismatch` naming the tensor, expected and actual shape.
    public init(file: SafeTensorsFile, prefix: String = "", inputs expectedInputs: Int? = nil,
                outputs expectedOutputs: Int? = nil) throws(ModelError) {
        func shape(_ name: String) throws(ModelError) -> [Int] {
            guard let info = file.tensors[prefix + name] else { throw .missingTensor(path: file.path, name: prefix + name) }
            return info.shape
        }
        func matrix(_ name: String) throws(ModelError) -> (rows: Int, cols: Int) {
            let s = try shape(name)
            guard s.count == 2, s[0] > 0, s[1] > 0 else {
                throw .invalidSafeTensors(path: file.path, reason: "tensor '\(prefix + name)' has shape \(s); a Linear weight is (out, in)")
            }
            return (s[0], s[1])
        }
        var hidden: [Int] = []
        var fanIn: Int?
        while file.tensors[prefix + "blocks.\(hidden.count).linear.weight"] != nil {
            let name = "blocks.\(hidden.count).linear.weight"
            let w = try matrix(name)
            if let fanIn, w.cols != fanIn {
                throw .shapeMismatch(path: file.path, name: prefix + name, expected: [w.rows, fanIn], actual: [w.rows, w.cols])
            }
            if fanIn == nil { fanIn = w.cols }
            hidden.append(w.rows)
            fanIn = w.rows
        }
        let out = try matrix("output.weight")
        let inputs = hidden.isEmpty ? out.cols : try matrix("blocks.0.linear.weight").cols
        if let expectedInputs, expectedInputs != inputs {
            let name = hidden.isEmpty ? "output.weight" : "blocks.0.linear.weight"
            throw .shapeMismatch(path: file.path, name: prefix + name, expected: [hidden.first ?? out.rows, expectedInputs],
                                 actual: [hidden.first ?? out.rows, inputs])
        }
        if let expectedOutputs, expectedOutputs != out.rows {
            throw .shapeMismatch(path: file.path, name: prefix + "output.weight", expected: [expectedOutputs, out.cols], actual: [out.rows, out.cols])
        }
        let keywords = file.tensors[prefix + "mlc.weight"] != nil ? try matrix("mlc.weight").rows : 0
        let layout = MLPLayout(inputs: inputs, hidden: hidden, outputs: out.rows, keywords: keywords)
        var parameters = [Float](repeating: 0, count: layout.parameterCount)
        var statistics = [Float](repeating: 0, count: layout.statisticCount)
        for slot in layout.slots {
            let tensor: FloatTensor
            do {
                tensor = try file.floatTensor(prefix + slot.name, shape: slot.shape)
            } catch let error as ModelError {
                throw error
            } catch {
                throw .invalidSafeTensors(path: file.path, reason: "tensor '\(prefix + slot.name)': \(error)")
            }
            let values = tensor.toArray()
            if slot.kind == .statistic {
                statistics.replaceSubrange(slot.offset..<(slot.offset + slot.count), with: values)
            } else {
                parameters.replaceSubrange(slot.offset..<(slot.offset + slot.count), with: values)
            }
        }
        self.init(layout: layout, parameters: parameters, statistics: statistics)
    }
}
