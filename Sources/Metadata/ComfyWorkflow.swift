/// A ComfyUI UI graph ("workflow" JSON: a "nodes" array with positional
/// "widgets_values", and a "links" table). Only a fallback for files that
/// carry no API graph: values are positional, so only the prompt (and the
/// settings of plain KSampler nodes) are read. The walk mirrors `ComfyGraph`:
/// first sampler, its positive input, back through CONDITIONING inputs to a
/// text encoder; cycles and repeated visits are cut.
struct ComfyWorkflow {
    struct Input { let name: String; let type: String; let link: Int?; let widget: String? }
    struct Node {
        let id: String
        let type: String
        let mode: Int
        let inputs: [Input]
        let widgets: [JSONValue]
    }

    let nodes: [String: Node]
    let order: [String]
    /// link id → (origin node, origin slot)
    let links: [Int: (node: String, slot: Int)]

    init?(_ o: JSONObject) {
        guard let list = o["nodes"]?.array else { return nil }
        var nodes: [String: Node] = [:]
        var ordered: [(Int, String)] = []
        for (k, v) in list.enumerated() {
            guard let n = v.object, let id = n["id"]?.scalarText, let type = n["type"]?.string else { continue }
            let inputs = (n["inputs"]?.array ?? []).compactMap { i -> Input? in
                guard let io = i.object, let name = io["name"]?.string else { return nil }
                return Input(name: name, type: io["type"]?.string ?? "", link: io["link"]?.int,
                             widget: io["widget"]?.object?["name"]?.string)
            }
            nodes[id] = Node(id: id, type: type, mode: n["mode"]?.int ?? 0, inputs: inputs,
                             widgets: n["widgets_values"]?.array ?? [])
            ordered.append((n["order"]?.int ?? k, id))
        }
        var links: [Int: (node: String, slot: Int)] = [:]
        for l in o["links"]?.array ?? [] {
            if let a = l.array, a.count >= 3, let id = a[0].int, let origin = a[1].scalarText, let slot = a[2].int {
                links[id] = (origin, slot)
            } else if let lo = l.object, let id = lo["id"]?.int, let origin = lo["origin_id"]?.scalarText,
                      let slot = lo["origin_slot"]?.int {
                links[id] = (origin, slot)
            }
        }
        guard !nodes.isEmpty else { return nil }
        self.nodes = nodes
        self.order = ordered.sorted { $0.0 < $1.0 }.map(\.1)
        self.links = links
    }

    private func origin(_ n: Node, _ name: String) -> Node? {
        guard let l = n.inputs.first(where: { $0.name == name })?.link, let o = links[l] else { return nil }
        return nodes[o.node]
    }

    private func isSampler(_ n: Node) -> Bool {
        guard n.mode != 2, n.mode != 4 else { return false }
        if ComfyGraph.samplerTypes.contains(n.type) { return true }
        return n.type.lowercased().contains("sampler") && n.inputs.contains { $0.name == "positive" || $0.name == "guider" }
    }

    func metadata(raw: String) -> GenerationMetadata? {
        var visited = Set<String>()
        var m = GenerationMetadata(source: "comfyui", raw: raw)
        for s in order.compactMap({ nodes[$0] }) where isSampler(s) {
            let start = origin(s, "positive") ?? origin(s, "guider").flatMap { g in
                ["positive", "conditioning", "cond1"].lazy.compactMap { origin(g, $0) }.first
            }
            guard let start else { continue }
            visited.removeAll()
            let texts = self.texts(start, .positive, &visited)
            guard !texts.isEmpty else { continue }
            m.prompt = texts.joined(separator: "\n")
            if let neg = origin(s, "negative") {
                visited.removeAll()
                let t = self.texts(neg, .negative, &visited)
                if !t.isEmpty { m.negativePrompt = t.joined(separator: "\n") }
            }
            // Positional widgets of the core samplers.
            let w = s.widgets
            let base = s.type == "KSampler" ? 0 : s.type == "KSamplerAdvanced" ? 1 : -1
            if base >= 0, w.count >= base + 5 {
                m.seed = w[base].uint64
                m.steps = w[base + 2].int
                m.cfgScale = w[base + 3].double
                m.sampler = w[base + 4].string
            }
            return m
        }
        return nil
    }

    private func texts(_ n: Node, _ side: ComfyGraph.Side, _ visited: inout Set<String>) -> [String] {
        guard visited.count < 10_000, visited.insert(n.id).inserted, n.mode != 2,
              !ComfyGraph.opaqueTypes.contains(n.type) else { return [] }
        // A text widget converted to an input: the linked node's string.
        for input in n.inputs where input.widget != nil && ["text", "text_g", "text_l", "prompt", "value", "string"].contains(input.widget ?? "") {
            if let o = origin(n, input.name) {
                let t = texts(o, side, &visited)
                if !t.isEmpty { return t }
            }
        }
        let strings = n.widgets.compactMap(\.string).filter { !$0.trimmingWhitespaceAndNUL.isEmpty }
        if n.type.contains("TextEncode") {
            var distinct: [String] = []
            for s in strings where !distinct.contains(s) { distinct.append(s) }
            if !distinct.isEmpty { return distinct }
        } else if n.type.contains("Primitive") || n.type.contains("String") || n.type.contains("Text"), let s = strings.first {
            return [s]
        }
        let sideName = side == .positive ? "positive" : "negative"
        for input in n.inputs where input.type == "CONDITIONING" || input.name == sideName {
            if input.type == "CONDITIONING", input.name == (side == .positive ? "negative" : "positive") { continue }
            if let o = origin(n, input.name) {
                let t = texts(o, side, &visited)
                if !t.isEmpty { return t }
            }
        }
        return []
    }
}
