/// One synthetic image: a few identical shapes on a textured background,
/// and the prompt that names every factor that was drawn. The factors plus
/// `seed` (which sets sizes, offsets, rotations and texture details) fix
/// every pixel, as a prompt plus a seed fix a Stable Diffusion image.
public struct SyntheticScene: Sendable, Hashable, Codable {
    public var shape: Shape
    public var color: Color
    public var count: Count
    public var position: Position
    public var background: Background
    /// Never equal to `color` in sampled scenes.
    public var backgroundColor: Color
    public var style: Style
    /// Which of `SyntheticScene.phrasings` words the prompt (0..<3).
    public var phrasing: Int
    /// Sets the details the prompt does not name; written as the A1111 `Seed`.
    public var seed: UInt64

    /// How many word orders `prompt` knows.
    public static let phrasings = 3

    public init(shape: Shape, color: Color, count: Count, position: Position, background: Background,
                backgroundColor: Color, style: Style, phrasing: Int = 0, seed: UInt64 = 0) {
        self.shape = shape; self.color = color; self.count = count; self.position = position
        self.background = background; self.backgroundColor = backgroundColor; self.style = style
        self.phrasing = phrasing; self.seed = seed
    }

    /// Where one object is drawn, in pixels: the centre, the radius of the
    /// circle the shape fits in, and its rotation (radians, clockwise on screen).
    public struct Placement: Sendable, Hashable, Codable {
        public var x: Double, y: Double, radius: Double, rotation: Double

        public init(x: Double, y: Double, radius: Double, rotation: Double) {
            self.x = x; self.y = y; self.radius = radius; self.rotation = rotation
        }
    }

    /// The objects' noun as the prompt writes it: "circle", "circles", "crosses".
    public var objectNoun: String { shape.noun(plural: count != .one) }

    /// The background as the prompt writes it: "plain blue background",
    /// "blue striped background".
    public var backgroundPhrase: String {
        background == .plain ? "plain \(backgroundColor.rawValue) background"
                             : "\(backgroundColor.rawValue) \(background.rawValue) background"
    }

    /// The prompt, in natural language, naming the count, colour, shape,
    /// position, background colour and texture, and style, e.g.
    /// "two red circles on the left, blue striped background, flat illustration".
    /// It never contains a tab, newline or non-ASCII character.
    public var prompt: String {
        let objects = count == .one ? "\(color.article) \(color.rawValue) \(objectNoun)"
                                    : "\(count.word) \(color.rawValue) \(objectNoun)"
        let ground = backgroundPhrase
        let article = background == .plain ? "a" : backgroundColor.article   // "an orange striped background"
        switch phrasing {
        case 1: return "\(style.phrase) of \(objects) \(position.phrase) on \(article) \(ground)"
        case 2: return "\(article) \(ground) with \(objects) \(position.phrase), \(style.phrase)"
        default: return "\(objects) \(position.phrase), \(ground), \(style.phrase)"
        }
    }

    /// The objects' placements on a `width` × `height` canvas. The group's
    /// region is a half of the canvas (left, right, top, bottom) or its middle;
    /// the region is cut into `count` equal cells along its long side and each
    /// object stays inside its own cell, so objects never overlap.
    public func placements(width: Int, height: Int) -> [Placement] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x504C_4143_454D_454E))   // "PLACEMEN"
        let (w, h) = (Double(width), Double(height))
        let n = count.rawValue
        // The region, as fractions of the canvas: x, y, width, height.
        let region: (Double, Double, Double, Double) = switch position {
        case .left: (0, 0, 0.5, 1)
        case .right: (0.5, 0, 0.5, 1)
        case .top: (0, 0, 1, 0.5)
        case .bottom: (0, 0.5, 1, 0.5)
        case .center: n == 1 ? (0.15, 0.15, 0.7, 0.7) : (0.08, 0.25, 0.84, 0.5)
        }
        let (rx, ry, rw, rh) = (region.0 * w, region.1 * h, region.2 * w, region.3 * h)
        let horizontal = rw >= rh
        let (cw, ch) = horizontal ? (rw / Double(n), rh) : (rw, rh / Double(n))
        return (0..<n).map { i in
            let (cx, cy) = horizontal ? (rx + (Double(i) + 0.5) * cw, ry + ch / 2) : (rx + cw / 2, ry + (Double(i) + 0.5) * ch)
            let radius = 0.42 * min(cw, ch) * rng.uniform(0.85...1)
            let slackX = cw / 2 - radius - 1, slackY = ch / 2 - radius - 1   // keep a pixel from the cell's edge
            return Placement(x: cx + rng.uniform(-0.5...0.5) * max(slackX, 0),
                             y: cy + rng.uniform(-0.5...0.5) * max(slackY, 0),
                             radius: radius,
                             rotation: rng.uniform(-1...1) * shape.maxRotation)
        }
    }

    /// The image: RGB bytes, row-major, `width * height * 3`.
    public func render(width: Int = 256, height: Int = 256) -> [UInt8] {
        var canvas = SyntheticCanvas(width: width, height: height)
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x4241_434B_4752_4F55))   // "BACKGROU"
        canvas.paint(background, color: backgroundColor.rgb, rng: &rng)
        for p in placements(width: width, height: height) {
            canvas.draw(shape, at: p, color: color.rgb, style: style)
        }
        return canvas.pixels
    }
}
