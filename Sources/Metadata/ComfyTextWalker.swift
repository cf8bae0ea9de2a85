import Foundation

/// Resolves the text that reaches a point of a `ComfyGraph`: through
/// conditioning nodes, string nodes, concatenations, switches and pass-through
/// nodes. Memoised, cycle-safe and bounded (see `ComfyGraph`).
struct ComfyTextWalker {
    let graph: ComfyGraph
    private struct Key: Hashable { let link: ComfyGraph.Link; let side: ComfyGraph.Side }
    private var memo: [Key: [String]] = [:]
    private var inProgress: Set<Key> = []
    /// Node visits left; a hostile graph cannot make a walk run long.
    private var budget = 100_000

    init(graph: ComfyGraph) { self.graph = graph }

    /// `ComfyGraph.textKeys` with the side's own keys after "prompt", each with
    /// its capitalised spelling ("Positive", "Text").
    static let positiveKeys = keys(["positive", "positive_prompt", "text_positive"])
    static let negativeKeys = keys(["negative", "negative_prompt", "text_negative"])
    private static func keys(_ sideKeys: [String]) -> [(String, String)] {
        var k = ComfyGraph.textKeys
        k.insert(contentsOf: sideKeys, at: (k.firstIndex(of: "prompt") ?? 0) + 1)
        return k.map { ($0, $0.capitalized) }
    }

    /// The distinct non-empty texts reaching `link` on the `side` of the conditioning.
    mutating func texts(_ link: ComfyGraph.Link, _ side: ComfyGraph.Side) -> [String] {
        let key = Key(link: link, side: side)
        if let r = memo[key] { return r }
        guard !inProgress.contains(key), budget > 0, let node = graph.nodes[link.id] else { return [] }
        budget -= 1
        inProgress.insert(key)
        let r = resolve(node, side)
        inProgress.remove(key)
        memo[key] = r
        return r
    }

    /// Text of a literal or linked input.
    private mutating func texts(of value: JSONValue?, _ side: ComfyGraph.Side) -> [String] {
        if let s = value?.string { return s.trimmingWhitespaceAndNUL.isEmpty ? [] : [s] }
        if let l = ComfyGraph.link(value) { return texts(l, side) }
        return []
    }

    private mutating func resolve(_ n: ComfyGraph.Node, _ side: ComfyGraph.Side) -> [String] {
        let lower = n.classType.lowercased()
        if ComfyGraph.opaqueTypes.contains(n.classType) || lower.contains("llm") || lower.contains("ollama") { return [] }
        if let branches = switchBranches(n) {
            for b in branches {
                let t = texts(of: b, side)
                if !t.isEmpty { return t }
            }
            return []
        }
        // Text fields (side-specific ones for nodes that hold both prompts).
        var collected: [String] = []
        for (key, capitalized) in side == .positive ? ComfyTextWalker.positiveKeys : ComfyTextWalker.negativeKeys {
            guard let v = n.inputs[key] ?? n.inputs[capitalized] else { continue }
            let t = texts(of: v, side)
            guard !t.isEmpty else { continue }
            if ComfyGraph.multiFieldKeys.contains(key) {
                for s in t where !collected.contains(s) { collected.append(s) }
                continue
            }
            if collected.isEmpty { return t }
            break
        }
        if !collected.isEmpty { return collected }
        if let joined = concatenation(n, side) { return [joined] }
        // Pass-through and conditioning inputs, in document order: the first that yields text.
        for (k, v) in n.inputs.entries {
            let lk = k.lowercased()
            guard lk.contains("conditioning") || ["cond", "cond1", "source", "anything", "any", "input"].contains(lk),
                  let l = ComfyGraph.link(v) else { continue }
            let t = texts(l, side)
            if !t.isEmpty { return t }
        }
        return []
    }

    /// String concatenation nodes: string_a/string_b, string_1..., text_a/text_b...
    private mutating func concatenation(_ n: ComfyGraph.Node, _ side: ComfyGraph.Side) -> String? {
        let parts = n.inputs.entries.filter { ComfyTextWalker.isPartKey($0.key) }
        guard parts.count >= 2 else { return nil }
        let delimiter = n.inputs.loose(["delimiter", "separator"])?.string ?? ""
        let pieces = parts.map { texts(of: $0.value, side).joined(separator: "\n") }.filter { !$0.isEmpty }
        return pieces.isEmpty ? nil : pieces.joined(separator: delimiter)
    }

    static func isPartKey(_ key: String) -> Bool {
        let k = key.lowercased()
        for prefix in ["string", "text"] where k.hasPrefix(prefix) {
            var rest = k.dropFirst(prefix.count)
            if rest.first == "_" { rest = rest.dropFirst() }
            return (rest.count == 1 && rest.first?.isLetter == true) || (!rest.isEmpty && rest.allSatisfy(\.isNumber))
        }
        return false
    }

    /// The inputs a switch node may forward, the selected one first; nil when
    /// `n` is not a switch.
    private mutating func switchBranches(_ n: ComfyGraph.Node) -> [JSONValue]? {
        if let onTrue = n.inputs["on_true"], let onFalse = n.inputs["on_false"] {
            let selected = number(n.inputs["switch"] ?? n.inputs["boolean"] ?? n.inputs["condition"])
            let isTrue = selected?.bool ?? (selected?.double).map { $0 != 0 } ?? true
            return isTrue ? [onTrue, onFalse] : [onFalse, onTrue]
        }
        if let index = number(n.inputs["select"] ?? n.inputs["Input"] ?? n.inputs["index"])?.int {
            let names = ["input\(index)", "text\(index)", "text_\(index)", "string\(index)", "input_\(index)"]
            let options = n.inputs.entries.filter { ComfyTextWalker.isPartKey($0.key) || $0.key.hasPrefix("input") }
            guard !options.isEmpty else { return nil }
            let chosen = options.filter { names.contains($0.key.lowercased()) }.map(\.value)
            return chosen + options.map(\.value).filter { !chosen.contains($0) }
        }
        return nil
    }

    /// A literal number or boolean, or the one a linked primitive node holds.
    mutating func number(_ v: JSONValue?, depth: Int = 0) -> JSONValue? {
        guard let v else { return nil }
        switch v {
        case .number, .bool: return v
        case .string(let s): return Double(s.trimmingWhitespaceAndNUL) != nil ? v : nil
        default: break
        }
        guard depth < 8, let l = ComfyGraph.link(v), let n = graph.nodes[l.id] else { return nil }
        for key in ["value", "int", "float", "number", "seed", "noise_seed", "boolean", "Value"] {
            if let found = number(n.inputs[key], depth: depth + 1) { return found }
        }
        return nil
    }

    /// A literal string, or the one a linked node holds (sampler selectors, primitives).
    mutating func string(_ v: JSONValue?) -> String? {
        if let s = v?.string { return s }
        guard let l = ComfyGraph.link(v), let n = graph.nodes[l.id] else { return nil }
        return n.inputs.loose(["sampler_name", "sampler", "value", "string"])?.string
    }
}
