/// A ComfyUI API graph ("prompt" JSON): {node_id: {"class_type", "inputs"}},
/// where an input is a literal or a link [node_id, output_index].
///
/// The positive prompt is found from a sampler: the first sampler in document
/// order (ComfyUI writes nodes in execution order, so this is the base pass;
/// refiner and hires passes come later) whose `positive` input (or its
/// guider's) leads to text. From there the walk goes back through conditioning
/// nodes, taking at each combine/concat the first input that yields text (the
/// others are area or regional prompts), to a text encoder, whose `text` may
/// itself be a link to a primitive, a concatenation, a switch... A node reached
/// again while it is being resolved (a cycle) yields nothing, and results are
/// memoised, so every walk is linear in the size of the graph.
struct ComfyGraph {
    struct Node {
        let id: String
        let classType: String
        let inputs: JSONObject
        let title: String?
    }
    struct Link: Hashable {
        let id: String
        let slot: Int
    }
    enum Side { case positive, negative }

    let nodes: [String: Node]
    let order: [String]

    static let samplerTypes: Set<String> = ["KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"]
    /// Nodes whose output text exists only at run time (LLM prompt writers), or
    /// that zero their conditioning: they never yield a stored prompt.
    static let opaqueTypes: Set<String> = ["TextGenerate", "TIPO", "ConditioningZeroOut"]
    /// Inputs holding text, in order of preference. The SDXL/Flux/SD3 encoders'
    /// several fields are all kept; for the others the first one found wins.
    static let textKeys = ["text", "populated_text", "text_g", "text_l", "clip_l", "clip_g", "t5xxl", "prompt",
                           "Text", "string", "value", "prompt_text", "wildcard_text", "text_0"]
    static let multiFieldKeys: Set<String> = ["text_g", "text_l", "clip_l", "clip_g", "t5xxl"]

    /// nil when no value of `o` is a node with a class_type.
    init?(_ o: JSONObject) {
        var nodes: [String: Node] = [:]
        var order: [String] = []
        for (id, value) in o.entries {
            guard let n = value.object, let type = n["class_type"]?.string else { continue }
            nodes[id] = Node(id: id, classType: type, inputs: n["inputs"]?.object ?? JSONObject(),
                             title: n["_meta"]?.object?["title"]?.string)
            order.append(id)
        }
        guard !order.isEmpty else { return nil }
        self.nodes = nodes
        self.order = order
    }

    static func link(_ v: JSONValue?) -> Link? {
        guard let a = v?.array, a.count == 2, let slot = a[1].int else { return nil }
        if let s = a[0].string { return Link(id: s, slot: slot) }
        if let i = a[0].int { return Link(id: String(i), slot: slot) }
        return nil
    }

    func isSampler(_ n: Node) -> Bool {
        if ComfyGraph.samplerTypes.contains(n.classType) { return true }
        let lower = n.classType.lowercased()
        guard lower.contains("sampler") || lower.contains("detailer") else { return false }
        return ComfyGraph.link(n.inputs["positive"]) != nil || ComfyGraph.link(n.inputs["guider"]) != nil
    }

    var samplers: [Node] { order.compactMap { nodes[$0] }.filter(isSampler) }

    /// Where a sampler's conditioning for `side` comes from: its own input, or
    /// that of its guider (SamplerCustomAdvanced).
    func conditioning(of sampler: Node, _ side: Side) -> Link? {
        let key = side == .positive ? "positive" : "negative"
        if let l = ComfyGraph.link(sampler.inputs[key]) { return l }
        guard let g = ComfyGraph.link(sampler.inputs["guider"]), let guider = nodes[g.id] else { return nil }
        let keys = side == .positive ? ["positive", "conditioning", "cond1", "cond"] : ["negative"]
        return keys.lazy.compactMap { ComfyGraph.link(guider.inputs[$0]) }.first
    }

    /// The metadata this graph describes; nil when it has neither a sampler
    /// nor any prompt text.
    func metadata(raw: String) -> GenerationMetadata? {
        var walker = ComfyTextWalker(graph: self)
        var m = GenerationMetadata(source: "comfyui", raw: raw)
        let all = samplers
        var chosen: Node?
        for s in all {
            guard let start = conditioning(of: s, .positive) else { continue }
            let texts = walker.texts(start, .positive)
            if !texts.isEmpty { chosen = s; m.prompt = texts.joined(separator: "\n"); break }
        }
        chosen = chosen ?? all.first
        if let s = chosen {
            if let start = conditioning(of: s, .negative) {
                let texts = walker.texts(start, .negative)
                if !texts.isEmpty { m.negativePrompt = texts.joined(separator: "\n") }
            }
            settings(of: s, into: &m, walker: &walker)
        } else if let text = firstEncoderText(walker: &walker) {
            m.prompt = text
        }
        if m.model == nil {
            m.model = order.lazy.compactMap { nodes[$0]?.inputs.loose(["ckpt_name", "unet_name"])?.string }.first
        }
        if m.width == nil, let (w, h) = order.lazy.compactMap({ self.nodes[$0] }).filter({ $0.classType.contains("EmptyLatent") })
            .compactMap({ self.size(of: $0, walker: &walker) }).first {
            m.width = w; m.height = h
        }
        return chosen == nil && m.prompt == nil ? nil : m
    }

    /// With no sampler at all: the first text encoder not titled as negative.
    private func firstEncoderText(walker: inout ComfyTextWalker) -> String? {
        for id in order {
            guard let n = nodes[id], n.classType.contains("TextEncode"),
                  !(n.title ?? "").lowercased().contains("negative") else { continue }
            let texts = walker.texts(Link(id: id, slot: 0), .positive)
            if !texts.isEmpty { return texts.joined(separator: "\n") }
        }
        return nil
    }

    private func settings(of s: Node, into m: inout GenerationMetadata, walker: inout ComfyTextWalker) {
        let noise = ComfyGraph.link(s.inputs["noise"]).flatMap { nodes[$0.id] }
        let sigmas = ComfyGraph.link(s.inputs["sigmas"]).flatMap { nodes[$0.id] }
        let samplerNode = ComfyGraph.link(s.inputs["sampler"]).flatMap { nodes[$0.id] }
        let guider = ComfyGraph.link(s.inputs["guider"]).flatMap { nodes[$0.id] }
        let seed = s.inputs["seed"] ?? s.inputs["noise_seed"] ?? noise?.inputs["noise_seed"] ?? noise?.inputs["seed"]
        m.seed = walker.number(seed)?.uint64
        m.steps = walker.number(s.inputs["steps"] ?? sigmas?.inputs["steps"])?.int
        m.cfgScale = walker.number(s.inputs["cfg"] ?? guider?.inputs["cfg"] ?? guider?.inputs["cfg_conds"])?.double
        m.sampler = walker.string(s.inputs["sampler_name"] ?? samplerNode?.inputs["sampler_name"])
            ?? samplerNode.map(\.classType)   // e.g. SamplerDPMPP_SDE, which has no sampler_name
        // The model: back along "model" links to a loader.
        var link = ComfyGraph.link(s.inputs["model"] ?? guider?.inputs["model"])
        var hops = 0
        while let l = link, let n = nodes[l.id], hops < 32 {
            if let name = n.inputs.loose(["ckpt_name", "unet_name", "model_name"])?.string { m.model = name; break }
            link = ComfyGraph.link(n.inputs["model"])
            hops += 1
        }
        // The size: back along latent links to a node that has one.
        var latent = ComfyGraph.link(s.inputs["latent_image"])
        hops = 0
        while let l = latent, let n = nodes[l.id], hops < 16 {
            if let (w, h) = size(of: n, walker: &walker) { m.width = w; m.height = h; break }
            latent = ["samples", "latent_image", "latent", "samples_to"].lazy.compactMap { ComfyGraph.link(n.inputs[$0]) }.first
            hops += 1
        }
    }

    private func size(of n: Node, walker: inout ComfyTextWalker) -> (Int, Int)? {
        if let w = walker.number(n.inputs["width"])?.int, let h = walker.number(n.inputs["height"])?.int, w > 0, h > 0 {
            return (w, h)
        }
        if let d = n.inputs["dimensions"]?.string {   // rgthree: "1216 x 832   (landscape)"
            let numbers = d.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
            if numbers.count == 2 { return (numbers[0], numbers[1]) }
        }
        return nil
    }
}
