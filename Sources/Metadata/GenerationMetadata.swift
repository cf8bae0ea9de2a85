import Foundation

/// What an image file says about how it was generated: the prompt and the
/// main sampling settings, with the tool (or file format) they came from and
/// the raw text they were parsed from.
public struct GenerationMetadata: Sendable, Equatable, Codable {
    public var prompt: String?
    public var negativePrompt: String?
    public var steps: Int?
    public var sampler: String?
    public var cfgScale: Double?
    public var seed: UInt64?
    public var width: Int?
    public var height: Int?
    public var model: String?
    public var modelHash: String?
    /// The tool or format, e.g. "automatic1111", "comfyui", "invokeai",
    /// "novelai", "fooocus", "swarmui", "drawthings", "diffusiondb",
    /// "caption-txt", "json-parameters".
    public var source: String
    /// The raw text or JSON the metadata was parsed from.
    public var raw: String
    /// The fields cut at `maxTextBytes` ("prompt", "negative_prompt", "raw"),
    /// nil when nothing was cut.
    public var truncated: [String]?

    public init(prompt: String? = nil, negativePrompt: String? = nil, steps: Int? = nil, sampler: String? = nil,
                cfgScale: Double? = nil, seed: UInt64? = nil, width: Int? = nil, height: Int? = nil,
                model: String? = nil, modelHash: String? = nil, source: String, raw: String) {
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.steps = steps; self.sampler = sampler
        self.cfgScale = cfgScale; self.seed = seed; self.width = width; self.height = height
        self.model = model; self.modelHash = modelHash; self.source = source; self.raw = raw
    }

    /// The most revsd keeps of each text a file carries (64 KiB of UTF-8):
    /// a prompt is a few hundred bytes, and a hostile 30 MB text chunk must
    /// not make every search that ranks its image slow and huge.
    public static let maxTextBytes = 64 << 10

    /// These metadata with every text cut at `maxTextBytes` (at a character
    /// boundary), the cut fields named in `truncated`.
    public func bounded(maxBytes: Int = maxTextBytes) -> GenerationMetadata {
        var m = self
        var cut: [String] = []
        func bound(_ text: String?, _ name: String) -> String? {
            guard let text, text.utf8.count > maxBytes else { return text }
            cut.append(name)
            return Self.prefix(text, maxBytes: maxBytes)
        }
        m.prompt = bound(prompt, "prompt")
        m.negativePrompt = bound(negativePrompt, "negative_prompt")
        m.raw = bound(raw, "raw") ?? ""
        for (name, value) in [("sampler", sampler), ("model", model), ("model_hash", modelHash)] {
            if let value, value.utf8.count > 1024 {
                cut.append(name)
                let short = Self.prefix(value, maxBytes: 1024)
                switch name { case "sampler": m.sampler = short; case "model": m.model = short; default: m.modelHash = short }
            }
        }
        if !cut.isEmpty { m.truncated = (truncated ?? []) + cut }
        return m
    }

    /// The longest prefix of `text` whose UTF-8 fits `maxBytes`, whole characters only.
    public static func prefix(_ text: String, maxBytes: Int) -> String {
        var end = text.startIndex
        var bytes = 0
        for i in text.indices {
            let n = text[i].utf8.count
            if bytes + n > maxBytes { break }
            bytes += n
            end = text.index(after: i)
        }
        return String(text[..<end])
    }

    /// True when the prompt is missing or a placeholder that some savers write
    /// when they do not know it ("unknown", "none", "").
    public var hasRealPrompt: Bool { !GenerationMetadata.isPlaceholder(prompt) }

    static func isPlaceholder(_ text: String?) -> Bool {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines) else { return true }
        return ["", "unknown", "none", "null", "undefined", "n/a"].contains(t.lowercased())
    }

    /// Fills the fields this one lacks from `other` (placeholders are not copied).
    mutating func fillGaps(from other: GenerationMetadata) {
        if GenerationMetadata.isPlaceholder(negativePrompt), !GenerationMetadata.isPlaceholder(other.negativePrompt) {
            negativePrompt = other.negativePrompt
        }
        steps = steps ?? other.steps
        sampler = sampler ?? other.sampler
        cfgScale = cfgScale ?? other.cfgScale
        seed = seed ?? other.seed
        width = width ?? other.width
        height = height ?? other.height
        model = model ?? other.model
        modelHash = modelHash ?? other.modelHash
    }
}

/// The result of reading one file: the metadata found (nil when none), and
/// the problems met on the way that did not stop reading.
public struct MetadataReport: Sendable {
    public var metadata: GenerationMetadata?
    public var notes: [String]

    public init(metadata: GenerationMetadata?, notes: [String]) {
        self.metadata = metadata
        self.notes = notes
    }
}
