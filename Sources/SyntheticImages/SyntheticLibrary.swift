import Foundation

/// A library of synthetic images with known prompts: scenes drawn from a
/// seed, written as `synthetic-000123.png` with AUTOMATIC1111 parameters (or
/// stripped of all metadata, for held-out copies), and a `prompts.tsv`.
public enum SyntheticLibrary {
    /// One written image.
    public struct Entry: Sendable, Hashable, Codable {
        /// The file name inside the library's folder, e.g. "synthetic-000123.png".
        public var file: String
        public var prompt: String
        public var scene: SyntheticScene

        public init(file: String, prompt: String, scene: SyntheticScene) {
            self.file = file; self.prompt = prompt; self.scene = scene
        }
    }

    /// The negative prompt written into every image's parameters.
    public static let negativePrompt = "blurry, lowres"

    /// A scene whose every factor is drawn uniformly and independently from
    /// `seed` (the background colour from the seven that differ from the
    /// object's). The scene's own `seed` is `seed`.
    public static func sample(seed: UInt64) -> SyntheticScene {
        var rng = SplitMix64(seed: seed)
        return draw(seed: seed) { rng.below($0) }
    }

    /// `count` scenes for a library: scene `i` has its own seed (mixed from
    /// `seed` and `i`), and each factor cycles through a fresh shuffle of its
    /// values every time all of them have been used, so even a small library
    /// shows every shape, colour, count, position, background, style and
    /// phrasing about equally often.
    public static func scenes(count: Int, seed: UInt64) -> [SyntheticScene] {
        var decks: [Int: [Int]] = [:]
        return (0..<max(count, 0)).map { i in
            let sceneSeed = SplitMix64.mix(seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(i + 1))
            var factor = 0
            return draw(seed: sceneSeed) { n in
                // The i-th value of factor `factor`: deck i / n of its shuffles.
                defer { factor += 1 }
                let deck = (UInt64(factor) << 48) ^ UInt64(i / n)
                if decks[factor] == nil || i % n == 0 {
                    var shuffler = SplitMix64(seed: SplitMix64.mix(seed ^ SplitMix64.mix(deck)))
                    decks[factor] = shuffler.permutation(n)
                }
                return decks[factor]![i % n]
            }
        }
    }

    /// The factors in a fixed order, each value chosen by `pick(n)` in 0..<n.
    private static func draw(seed: UInt64, pick: (Int) -> Int) -> SyntheticScene {
        let colors = SyntheticScene.Color.allCases
        let color = pick(colors.count)
        let shape = SyntheticScene.Shape.allCases[pick(SyntheticScene.Shape.allCases.count)]
        let count = SyntheticScene.Count.allCases[pick(SyntheticScene.Count.allCases.count)]
        let position = SyntheticScene.Position.allCases[pick(SyntheticScene.Position.allCases.count)]
        let background = SyntheticScene.Background.allCases[pick(SyntheticScene.Background.allCases.count)]
        let backgroundColor = colors[(color + 1 + pick(colors.count - 1)) % colors.count]
        let style = SyntheticScene.Style.allCases[pick(SyntheticScene.Style.allCases.count)]
        let phrasing = pick(SyntheticScene.phrasings)
        return SyntheticScene(shape: shape, color: colors[color], count: count, position: position, background: background,
                              backgroundColor: backgroundColor, style: style, phrasing: phrasing, seed: seed)
    }

    /// The AUTOMATIC1111 `parameters` text for `scene` at `width` × `height`.
    public static func parameters(for scene: SyntheticScene, width: Int, height: Int) -> String {
        "\(scene.prompt)\nNegative prompt: \(negativePrompt)\n"
            + "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: \(scene.seed), Size: \(width)x\(height), "
            + "Model hash: 0000000000, Model: revsd-synthetic"
    }

    /// The PNG file of `scene`: RGB, with a `parameters` tEXt chunk when
    /// `metadata` is true, with no text chunk at all when it is false.
    public static func png(for scene: SyntheticScene, width: Int = 256, height: Int = 256,
                           metadata: Bool) throws(SyntheticImageError) -> [UInt8] {
        guard width > 0, height > 0 else { throw .invalidSize(width: width, height: height) }
        let text = metadata ? [(keyword: "parameters", text: parameters(for: scene, width: width, height: height))] : []
        return try PNGWriter.encode(width: width, height: height, pixels: scene.render(width: width, height: height), text: text)
    }

    /// The file name of image `index`: "synthetic-000123.png".
    public static func fileName(_ index: Int) -> String {
        let digits = String(index)
        return "synthetic-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".png"
    }

    /// Writes `scenes(count:seed:)` into `dir` (created if needed) as
    /// `synthetic-000000.png`, … and returns what was written, in order.
    /// The same `seed` gives the same scenes, and so the same pixels, with or
    /// without `metadata`: write twice to get a labelled and a stripped copy.
    @discardableResult
    public static func writeLibrary(to dir: URL, count: Int, seed: UInt64, metadata: Bool,
                                    width: Int = 256, height: Int = 256) throws(SyntheticImageError) -> [Entry] {
        try createDirectory(dir)
        var entries: [Entry] = []
        for (i, scene) in scenes(count: count, seed: seed).enumerated() {
            let entry = Entry(file: fileName(i), prompt: scene.prompt, scene: scene)
            try write(try png(for: scene, width: width, height: height, metadata: metadata),
                      to: dir.appendingPathComponent(entry.file))
            entries.append(entry)
        }
        return entries
    }

    /// Writes `file<TAB>prompt` lines under a `file\tprompt` header. Backslash,
    /// tab, newline and carriage return in a field are written as `\\`, `\t`,
    /// `\n` and `\r` (generated prompts have none).
    public static func writePromptsTSV(_ entries: [Entry], to url: URL) throws(SyntheticImageError) {
        func escaped(_ s: String) -> String {
            var out = ""
            for ch in s {
                switch ch {
                case "\\": out += "\\\\"
                case "\t": out += "\\t"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\r\n": out += "\\r\\n"
                default: out.append(ch)
                }
            }
            return out
        }
        var text = "file\tprompt\n"
        for e in entries { text += "\(escaped(e.file))\t\(escaped(e.prompt))\n" }
        try write(Array(text.utf8), to: url)
    }

    private static func createDirectory(_ dir: URL) throws(SyntheticImageError) {
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        catch { throw .io(path: dir.path, reason: "\(error)") }
    }

    private static func write(_ bytes: [UInt8], to url: URL) throws(SyntheticImageError) {
        // Not atomic: one write, so a folder watcher sees a single close-after-write
        // of the final name and never a temporary file.
        do { try Data(bytes).write(to: url) }
        catch { throw .io(path: url.path, reason: "\(error)") }
    }
}
