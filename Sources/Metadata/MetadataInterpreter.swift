import Foundation

/// Turns the text entries of one file into metadata. Each entry that holds
/// generation data gives a candidate with a rank; the best candidate wins and
/// its missing settings are filled from the others.
///
/// Ranks: a tool's own record of the generation (A1111 parameters, NovelAI,
/// InvokeAI, SwarmUI, Fooocus, Draw Things) comes first: it holds the final
/// prompt text, with wildcards already expanded. A ComfyUI API graph comes
/// next (the prompt is reconstructed by walking it), then secondary JSON
/// copies, then UI workflows and plain text. A candidate whose prompt is a
/// placeholder ("unknown") or missing drops below every one with a real prompt.
struct MetadataInterpreter {
    struct Candidate { var metadata: GenerationMetadata; var rank: Int }

    private(set) var candidates: [Candidate] = []
    var problems: [MetadataError] = []
    private let all: [MetadataEntry]
    private var depth = 0

    static func interpret(_ entries: [MetadataEntry], problems: inout [MetadataError]) -> GenerationMetadata? {
        var i = MetadataInterpreter(all: entries)
        i.run(entries)
        problems += i.problems
        return i.best()?.bounded()
    }

    private init(all: [MetadataEntry]) { self.all = all }

    func best() -> GenerationMetadata? {
        func score(_ c: Candidate) -> Int {
            c.rank - (c.metadata.prompt == nil ? 2000 : c.metadata.hasRealPrompt ? 0 : 1000)
        }
        let ordered = candidates.enumerated().sorted { a, b in
            score(a.element) != score(b.element) ? score(a.element) > score(b.element) : a.offset < b.offset
        }.map(\.element.metadata)
        guard var winner = ordered.first else { return nil }
        for other in ordered.dropFirst() { winner.fillGaps(from: other) }
        return winner
    }

    private mutating func add(_ m: GenerationMetadata?, rank: Int) {
        guard let m else { return }
        let empty = m.prompt == nil && m.negativePrompt == nil && m.steps == nil && m.seed == nil && m.sampler == nil
        if !empty { candidates.append(Candidate(metadata: m, rank: rank)) }
    }

    private mutating func run(_ entries: [MetadataEntry]) {
        if let novelAI = novelAI(entries) { add(novelAI, rank: 100) }
        for e in entries {
            switch e.key.lowercased() {
            case "parameters", "usercomment", "xmp:usercomment", "comment", "imagedescription", "xpcomment",
                 "description", "xmp:description", "make", "model", "sui_image_params":
                text(e, rank: 100)
            case "prompt":
                prompt(e)
            case "workflow":
                json(e) { me, o in me.add(ComfyWorkflow(o)?.metadata(raw: e.text), rank: 40) }
            case "invokeai_metadata":
                json(e) { me, o in me.add(JSONParameters.map(o, source: "invokeai", raw: e.text), rank: 100) }
            case "invokeai_graph":
                json(e) { me, o in me.add(JSONParameters.invokeAIGraph(o, raw: e.text), rank: 40) }
            case "sd-metadata":
                json(e) { me, o in me.add(JSONParameters.invokeAISDMetadata(o, raw: e.text), rank: 100) }
            case "dream":
                add(DreamParser.parse(e.text), rank: 95)
            case "generation_data", "parameters-json":
                json(e) { me, o in
                    me.add(JSONParameters.interpret(o, raw: e.text).map { m in
                        var m = m
                        if m.source == "json-parameters", e.key == "generation_data" { m.source = "tensorart" }
                        return m
                    }, rank: 60)
                }
            default:
                break
            }
        }
    }

    /// Parses an entry as a JSON object and hands it to `body`; notes when it is not one.
    private mutating func json(_ e: MetadataEntry, _ body: (inout MetadataInterpreter, JSONObject) -> Void) {
        do throws(MetadataError) {
            guard let o = try JSONParser.object(e.text) else {
                problems.append(.malformed("\(e.origin) '\(e.key)' is not a JSON object")); return
            }
            body(&self, o)
        } catch {
            problems.append(.malformed("\(e.origin) '\(e.key)': \(error)"))
        }
    }

    /// PNG "prompt": a ComfyUI API graph, or (Easy Diffusion and the like) plain text.
    private mutating func prompt(_ e: MetadataEntry) {
        guard e.text.trimmingWhitespaceAndNUL.hasPrefix("{") else {
            // Plain text beside other plain entries: read them all as named parameters.
            var o = JSONObject()
            for x in all { o.set(x.key, .string(x.text)) }
            let source = o["use_stable_diffusion_model"] != nil ? "easydiffusion" : "png-text"
            add(JSONParameters.map(o, source: source, raw: e.text), rank: 20)
            return
        }
        json(e) { me, o in
            if let graph = ComfyGraph(o) {
                me.add(graph.metadata(raw: e.text), rank: 80)
            } else {
                me.problems.append(.malformed("\(e.origin) 'prompt' is JSON but not a ComfyUI graph"))
                me.add(JSONParameters.interpret(o, raw: e.text), rank: 50)
            }
        }
    }

    /// Free text that may be A1111 parameters, a JSON document of any known
    /// kind, or ComfyUI's "prompt:{...}" / "workflow:{...}" in EXIF fields.
    private mutating func text(_ e: MetadataEntry, rank: Int) {
        var body = Substring(e.text.trimmingWhitespaceAndNUL)
        var comfyKind: String?
        for kind in ["prompt", "workflow"] where body.prefix(8).lowercased().hasPrefix(kind) {
            let rest = body.dropFirst(kind.count).drop { $0 == " " }
            let json = rest.dropFirst().drop { $0 == " " }
            if rest.first == ":", json.first == "{" { comfyKind = kind; body = json }
        }
        if body.hasPrefix("{") {
            let entry = MetadataEntry(key: e.key, text: String(body), origin: e.origin)
            json(entry) { me, o in
                if comfyKind == "workflow" { me.add(ComfyWorkflow(o)?.metadata(raw: entry.text), rank: 40) }
                else { me.jsonDocument(o, entry, rank: rank) }
            }
            return
        }
        let key = e.key.lowercased()
        guard key != "make", key != "model" else { return }   // camera names, unless JSON
        if let a = A1111Parameters.parse(String(body)) {
            var m = a.metadata(raw: e.text)
            if e.origin.contains("XMP"), all.contains(where: { $0.text == "Draw Things" }) { m.source = "drawthings" }
            add(m, rank: rank)
        } else if key == "parameters", !body.isEmpty {
            problems.append(.malformed("\(e.origin) 'parameters' has no settings line; read as a bare prompt"))
            add(GenerationMetadata(prompt: String(body), source: "automatic1111", raw: e.text), rank: 20)
        }
    }

    /// A JSON object found in a free-text field.
    private mutating func jsonDocument(_ o: JSONObject, _ e: MetadataEntry, rank: Int) {
        if let wrapped = o["prompt"]?.object {   // {"prompt": {graph}, "workflow": {...}}
            if let g = ComfyGraph(wrapped) { add(g.metadata(raw: e.text), rank: 80) }
            else { problems.append(.malformed("\(e.origin) '\(e.key)': its \"prompt\" object is not a ComfyUI graph")) }
            if let w = o["workflow"]?.object { add(ComfyWorkflow(w)?.metadata(raw: e.text), rank: 40) }
            return
        }
        if let g = ComfyGraph(o) {   // Civitai: the graph, with "extraMetadata" beside it
            add(g.metadata(raw: e.text), rank: 80)
            if let extra = o["extraMetadata"]?.string, let x = try? JSONParser.object(extra) {
                var m = JSONParameters.map(x, source: "comfyui", raw: e.text)
                m.negativePrompt = m.negativePrompt ?? x.loose(["negativePrompt"])?.string
                add(m, rank: 70)
            }
            return
        }
        if o["nodes"]?.array != nil, o["links"] != nil {
            add(ComfyWorkflow(o)?.metadata(raw: e.text), rank: 40); return
        }
        // A dictionary of PNG-style text entries (NovelAI in WebP EXIF).
        // Its keys are chunk keywords, not parameter names; a "prompt" counts
        // only when it holds a JSON graph.
        let chunkKeys = ["Comment", "Description", "Software", "Source", "Title", "parameters", "workflow"]
        let nested = o.entries.compactMap { k, v in v.string.map { MetadataEntry(key: k, text: $0, origin: e.origin) } }
        let isChunkDictionary = nested.contains {
            chunkKeys.contains($0.key) || ($0.key == "prompt" && $0.text.trimmingWhitespaceAndNUL.hasPrefix("{"))
        }
        if depth < 2, isChunkDictionary, nested.count >= 2 {
            var inner = MetadataInterpreter(all: nested)
            inner.depth = depth + 1
            inner.run(nested)
            problems += inner.problems
            add(inner.best(), rank: rank)
            return
        }
        if let m = JSONParameters.interpret(o, raw: e.text) { add(m, rank: rank) }
        else { problems.append(.malformed("\(e.origin) '\(e.key)' is JSON without generation parameters")) }
    }

    /// NovelAI PNG text: Description is the prompt, Comment the settings JSON.
    private mutating func novelAI(_ entries: [MetadataEntry]) -> GenerationMetadata? {
        func value(_ k: String) -> String? { entries.first { $0.key == k }?.text }
        let software = value("Software") ?? "", source = value("Source") ?? ""
        guard software == "NovelAI" || source.contains("NovelAI") else { return nil }
        let comment = value("Comment") ?? ""
        let o = (try? JSONParser.object(comment)) ?? nil
        var m = o.map { JSONParameters.map($0, source: "novelai", raw: comment) }
            ?? GenerationMetadata(source: "novelai", raw: comment)
        let description = value("Description").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\0")) }
        m.prompt = description.flatMap { $0.trimmingWhitespaceAndNUL.isEmpty ? nil : $0 } ?? m.prompt
            ?? JSONParameters.novelAIBaseCaption(o?["v4_prompt"])
        m.negativePrompt = m.negativePrompt ?? JSONParameters.novelAIBaseCaption(o?["v4_negative_prompt"])
        m.sampler = o?["sampler"]?.string ?? m.sampler
        if !source.isEmpty {
            m.model = source
            if let last = source.split(separator: " ").last, last.count == 8, last.allSatisfy(\.isHexDigit) {
                m.modelHash = String(last)
            }
        }
        return m
    }
}
