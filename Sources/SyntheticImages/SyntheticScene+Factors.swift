/// The visual factors a scene is made of. Each one changes what a pooled
/// ImageNet CNN feature sees (outline, colour statistics, spatial layout,
/// texture, edge sharpness) and each one is named in the prompt.
extension SyntheticScene {
    /// The drawn object. Six outlines with different corner counts, holes and
    /// concavities, so that they stay apart at any colour.
    public enum Shape: String, CaseIterable, Sendable, Codable {
        case circle, square, triangle, star, ring, cross

        /// The noun in the prompt, singular or plural.
        public func noun(plural: Bool) -> String {
            switch (self, plural) {
            case (.cross, true): "crosses"
            case (_, true): rawValue + "s"
            case (_, false): rawValue
            }
        }

        /// Non-round shapes are drawn slightly rotated (at most this many radians).
        var maxRotation: Double { self == .circle || self == .ring ? 0 : 0.2 }
    }

    /// A named, saturated colour; objects and backgrounds use the same names,
    /// never the same one in one scene.
    public enum Color: String, CaseIterable, Sendable, Codable {
        case red, green, blue, yellow, purple, orange, white, black

        public var rgb: RGB {
            switch self {
            case .red: RGB(220, 40, 40)
            case .green: RGB(40, 170, 60)
            case .blue: RGB(40, 80, 220)
            case .yellow: RGB(245, 215, 40)
            case .purple: RGB(140, 60, 180)
            case .orange: RGB(245, 140, 30)
            case .white: RGB(245, 245, 245)
            case .black: RGB(20, 20, 20)
            }
        }

        /// "a" or "an" before the colour word.
        var article: String { self == .orange ? "an" : "a" }
    }

    /// How many objects: one, two or three of the same shape and colour.
    public enum Count: Int, CaseIterable, Sendable, Codable {
        case one = 1, two, three

        var word: String { ["", "one", "two", "three"][rawValue] }
    }

    /// Where the group of objects sits: a half of the canvas or its middle.
    public enum Position: String, CaseIterable, Sendable, Codable {
        case left, right, top, bottom, center

        public var phrase: String {
            switch self {
            case .left: "on the left"
            case .right: "on the right"
            case .top: "at the top"
            case .bottom: "at the bottom"
            case .center: "in the center"
            }
        }
    }

    /// The background's texture, drawn in the background colour and a
    /// lighter or darker tone of it.
    public enum Background: String, CaseIterable, Sendable, Codable {
        case plain, striped, checkered, gradient, speckled
    }

    /// How the objects are drawn: filled with crisp edges, as a stroke
    /// around the outline, or filled with edges blurred inwards.
    public enum Style: String, CaseIterable, Sendable, Codable {
        case flat, outlined, soft

        public var phrase: String {
            switch self {
            case .flat: "flat illustration"
            case .outlined: "outline drawing"
            case .soft: "soft airbrush painting"
            }
        }
    }
}

/// An 8-bit sRGB colour.
public struct RGB: Sendable, Hashable, Codable {
    public var r: UInt8, g: UInt8, b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// Rec. 709 relative luminance of the coded values, 0...1.
    public var luminance: Double { (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255 }

    /// `self` moved a fraction `t` (0...1) of the way to `other`.
    public func mixed(with other: RGB, _ t: Double) -> RGB {
        func m(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
        return RGB(m(r, other.r), m(g, other.g), m(b, other.b))
    }

    /// The second tone of a textured background: darker for light and mid
    /// colours, lighter for dark ones, so the texture always shows.
    public var secondTone: RGB {
        luminance < 0.3 ? mixed(with: RGB(255, 255, 255), 0.4) : mixed(with: RGB(0, 0, 0), 0.4)
    }
}
