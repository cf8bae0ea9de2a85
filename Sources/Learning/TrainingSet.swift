/// What the trainer learns from, in a form it owns (the store produces it):
/// the labelled examples of the library, each image with a known prompt, its
/// MiniLM embedding and its cached features per encoder, in contiguous
/// row-major matrices.
public struct TrainingSet: Sendable {
    public var ids: [Int64] = []
    public var contentHashes: [String] = []
    public var prompts: [String] = []
    /// Per example, the normalised prompt (the store's `PromptText.groupKey`:
    /// syntax, case and spacing gone); images with one key are one prompt.
    /// Empty: the prompts lowercased, whitespace collapsed.
    public var promptKeys: [String] = []
    /// Per example, the image's size in pixels (0: unknown); empty: unknown.
    public var widths: [Int] = []
    public var heights: [Int] = []
    /// (n, 384) unit rows.
    public var targets: [Float] = []
    /// Per encoder kind (e.g. "efficientnet-lite0"): (n, d).
    public var features: [String: [Float]] = [:]
    /// (n, 384) unit rows: each image's zero-shot prediction (what revsd
    /// shows without learning), to score on the same validation split as the
    /// learned model; empty: unknown (the run is then adopted unmeasured).
    public var zeroShot: [Float] = []
    /// The library's unlabelled images, DAKL's target domain (nil: none;
    /// DAKL then clusters the training rows' predictions).
    public var unlabelled: UnlabelledImages?
    public var count: Int { ids.count }
    public init() {}
}
