/// Generation settings stored as one JSON object of named parameters, as
/// Fooocus, RuinedFooocus, Hugging Face Spaces, SwarmUI, Stability Matrix,
/// TensorArt, Draw Things, NovelAI's Comment, Civitai's extraMetadata and
/// InvokeAI write them. Keys are matched loosely ("CFG scale" = "cfg_scale"
/// = "cfgScale").
enum JSONParameters {
    static let promptKeys = ["prompt", "positive_prompt", "positive"]
    static let negativeKeys = ["negative_prompt", "negative", "uc"]

    /// Maps the usual parameter names of `o` to metadata; the prompt must be a
    /// string (a ComfyUI wrapper's "prompt" object is not one).
    static func map(_ o: JSONObject, source: String, raw: String) -> GenerationMetadata {
        var m = GenerationMetadata(source: source, raw: raw)
        m.prompt = o.loose(promptKeys)?.string
        m.negativePrompt = o.loose(negativeKeys)?.string
        m.steps = o.loose(["steps", "num_inference_steps", "sampling_steps"])?.int
        m.cfgScale = o.loose(["cfg_scale", "cfg", "guidance_scale", "scale"])?.double
        m.seed = o.loose(["seed", "noise_seed"])?.uint64
        m.sampler = o.loose(["sampler", "sampler_name", "scheduler"])?.scalarText
        m.width = o.loose(["width"])?.int
        m.height = o.loose(["height"])?.int
        if m.width == nil || m.height == nil, let size = o.loose(["resolution", "size"])?.string {
            let numbers = size.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            if numbers.count == 2 { m.width = numbers[0]; m.height = numbers[1] }
        }
        let modelValue = o.loose(["model", "model_name", "base_model", "base_model_name", "sd_model_name",
                                  "use_stable_diffusion_model", "ckpt_name", "model_weights"])
        if let name = modelValue?.string {
            m.model = name
        } else if let mo = modelValue?.object {
            m.model = mo.loose(["model_name", "name", "modelFileName", "label"])?.string
            m.modelHash = mo.loose(["hash", "model_hash"])?.string
        }
        m.modelHash = o.loose(["model_hash", "base_model_hash", "sd_model_hash", "hash"])?.string ?? m.modelHash
        return m
    }

    /// The tool that wrote a flat parameter object, from its telltale keys.
    static func guessSource(_ o: JSONObject) -> String {
        let software = (o.loose(["software", "version", "metadata_scheme"])?.string ?? "").lowercased()
        if software.contains("fooocus") || o["full_prompt"] != nil { return "fooocus" }
        if o["v4_prompt"] != nil || (o["uc"] != nil && o["scale"] != nil && o["n_samples"] != nil) { return "novelai" }
        if o["c"]?.string != nil, o["uc"] != nil || o["v2"] != nil || o["seed_mode"] != nil { return "drawthings" }
        if o["positive_prompt"] != nil, o["generation_mode"] != nil { return "invokeai" }
        if o["PositivePrompt"] != nil { return "stabilitymatrix" }
        return "json-parameters"
    }

    /// Metadata from a parameter object, the tool guessed from its keys.
    static func interpret(_ o: JSONObject, raw: String) -> GenerationMetadata? {
        if let swarm = o["sui_image_params"]?.object {
            var m = map(swarm, source: "swarmui", raw: raw)
            m.negativePrompt = m.negativePrompt ?? swarm.loose(["negativeprompt"])?.string
            return m
        }
        let source = guessSource(o)
        var m = map(o, source: source, raw: raw)
        switch source {
        case "drawthings":
            m.prompt = o["c"]?.string
            m.negativePrompt = o["uc"]?.string
        case "novelai":
            m.prompt = m.prompt ?? novelAIBaseCaption(o["v4_prompt"])
            m.negativePrompt = m.negativePrompt ?? novelAIBaseCaption(o["v4_negative_prompt"])
        default:
            break
        }
        return m.prompt == nil && m.negativePrompt == nil && m.steps == nil && m.seed == nil ? nil : m
    }

    /// NovelAI v4 `{"caption": {"base_caption": ...}}`.
    static func novelAIBaseCaption(_ v: JSONValue?) -> String? {
        v?.object?["caption"]?.object?["base_caption"]?.string
    }

    /// InvokeAI 2.x "sd-metadata": settings under "image" (or the first of
    /// "images"), the prompt as [{"prompt", "weight"}] or a string.
    static func invokeAISDMetadata(_ o: JSONObject, raw: String) -> GenerationMetadata? {
        guard let image = o["image"]?.object ?? o["images"]?.array?.first?.object else { return nil }
        var m = map(image, source: "invokeai", raw: raw)
        if let parts = image["prompt"]?.array {
            let texts = parts.compactMap { $0.object?["prompt"]?.string ?? $0.string }
            m.prompt = texts.isEmpty ? nil : texts.joined(separator: "\n")
        }
        m.model = o.loose(["model_weights", "model_id"])?.string   // "model" is only "stable diffusion"
        m.modelHash = o["model_hash"]?.string
        if let p = m.prompt {
            let negative = DreamParser.bracketed(p)
            if !negative.isEmpty { m.negativePrompt = negative.joined(separator: ", ") }
        }
        return m
    }

    /// InvokeAI 3+ "invokeai_graph": the positive prompt node's value, a
    /// fallback when "invokeai_metadata" is absent.
    static func invokeAIGraph(_ o: JSONObject, raw: String) -> GenerationMetadata? {
        guard let nodes = o["nodes"]?.object else { return nil }
        var m = GenerationMetadata(source: "invokeai", raw: raw)
        for (id, node) in nodes.entries {
            guard let n = node.object else { continue }
            let type = n["type"]?.string ?? ""
            let text = n["value"]?.string ?? n["prompt"]?.string
            if id.hasPrefix("positive_prompt") || (id.contains("positive") && type.contains("compel")) {
                m.prompt = m.prompt ?? text
            } else if id.hasPrefix("negative_prompt") || (id.contains("negative") && type.contains("compel")) {
                m.negativePrompt = m.negativePrompt ?? text
            }
        }
        return m.prompt == nil ? nil : m
    }
}
