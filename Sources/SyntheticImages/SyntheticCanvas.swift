import Foundation

/// An RGB raster (row-major, 3 bytes per pixel, top row first) that paints
/// textured backgrounds and anti-aliased shapes. Everything it draws is a
/// function of its arguments, so a seed gives the same pixels everywhere.
public struct SyntheticCanvas: Sendable {
    public let width: Int
    public let height: Int
    /// RGB bytes, `width * height * 3`.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, color: RGB = RGB(0, 0, 0)) {
        precondition(width > 0 && height > 0, "a canvas needs at least one pixel")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { set(i, color) }
    }

    /// The colour at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> RGB {
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    private mutating func set(_ pixel: Int, _ c: RGB) {
        pixels[pixel * 3] = c.r; pixels[pixel * 3 + 1] = c.g; pixels[pixel * 3 + 2] = c.b
    }

    /// Paints the whole canvas with `pattern` in `color` and its second tone.
    /// Stripe angle, cell sizes and speckles come from `rng`.
    public mutating func paint(_ pattern: SyntheticScene.Background, color: RGB, rng: inout SplitMix64) {
        let other = color.secondTone
        let side = Double(min(width, height))
        switch pattern {
        case .plain:
            for i in 0..<(width * height) { set(i, color) }
        case .striped:
            let period = side / rng.uniform(7...11)
            let angle = Double(rng.below(4)) * Double.pi / 4
            let (c, s) = (cos(angle), sin(angle))
            let phase = rng.unit() * period
            shade(color, other) { x, y in
                // Signed distance (pixels) to the band [0, period/2) of each period.
                let u = ((x * c + y * s + phase).truncatingRemainder(dividingBy: period) + period)
                    .truncatingRemainder(dividingBy: period)
                let centre = u < 0.75 * period ? 0.25 * period : 1.25 * period
                return min(max(0.5 - (abs(u - centre) - 0.25 * period), 0), 1)
            }
        case .checkered:
            let cell = max(2, Int((side / rng.uniform(5...9)).rounded()))
            let (ox, oy) = (rng.below(cell), rng.below(cell))
            for y in 0..<height {
                for x in 0..<width {
                    set(y * width + x, ((x + ox) / cell + (y + oy) / cell) % 2 == 0 ? color : other)
                }
            }
        case .gradient:
            let angle = Double(rng.below(4)) * Double.pi / 4   // down, diagonal, right, other diagonal
            let (c, s) = (sin(angle), cos(angle))
            let (w, h) = (Double(width), Double(height))
            let lo = min(0, c * w) + min(0, s * h), hi = max(0, c * w) + max(0, s * h)
            shade(color, other) { x, y in (x * c + y * s - lo) / (hi - lo) }
        case .speckled:
            let cell = max(2, min(width, height) / 64)
            let columns = (width + cell - 1) / cell, rows = (height + cell - 1) / cell
            let offsets = (0..<(columns * rows)).map { _ in rng.below(91) - 45 }
            func add(_ v: UInt8, _ o: Int) -> UInt8 { UInt8(min(max(Int(v) + o, 0), 255)) }
            for y in 0..<height {
                for x in 0..<width {
                    let o = offsets[(y / cell) * columns + x / cell]
                    set(y * width + x, RGB(add(color.r, o), add(color.g, o), add(color.b, o)))
                }
            }
        }
    }

    /// Each pixel `a` of the way from `from` to `to`, `a` evaluated at the pixel's centre.
    private mutating func shade(_ from: RGB, _ to: RGB, _ a: (Double, Double) -> Double) {
        for y in 0..<height {
            for x in 0..<width {
                set(y * width + x, from.mixed(with: to, a(Double(x) + 0.5, Double(y) + 0.5)))
            }
        }
    }

    /// Draws `shape` at `placement` in `color`: filled (`.flat`), as a stroke
    /// inside its outline (`.outlined`), or filled with its edge blurred
    /// inwards (`.soft`). Nothing is drawn outside the placement's circle
    /// (plus half a pixel of anti-aliasing), so disjoint placements never touch.
    public mutating func draw(_ shape: SyntheticScene.Shape, at p: SyntheticScene.Placement, color: RGB,
                              style: SyntheticScene.Style) {
        guard p.radius > 0 else { return }
        let stroke = max(1.5, 0.09 * p.radius)   // half the outline's width
        let blur = max(2, 0.15 * p.radius)   // below the ring's half thickness (0.21), so every shape keeps a solid core
        let (c, s) = (cos(p.rotation), sin(p.rotation))
        let x0 = max(0, Int((p.x - p.radius - 1).rounded(.down))), x1 = min(width - 1, Int((p.x + p.radius + 1).rounded(.up)))
        let y0 = max(0, Int((p.y - p.radius - 1).rounded(.down))), y1 = min(height - 1, Int((p.y + p.radius + 1).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let target = (Double(color.r), Double(color.g), Double(color.b))
        for y in y0...y1 {
            for x in x0...x1 {
                // Into the shape's unit frame: translate, rotate back, scale.
                let dx = Double(x) + 0.5 - p.x, dy = Double(y) + 0.5 - p.y
                let ux = (c * dx + s * dy) / p.radius, uy = (-s * dx + c * dy) / p.radius
                let d = ShapeGeometry.signedDistance(shape, x: ux, y: uy) * p.radius   // pixels
                let a: Double
                switch style {
                case .flat: a = 0.5 - d
                case .outlined: a = 0.5 - (abs(d + stroke) - stroke)
                case .soft: a = -d / blur
                }
                guard a > 0 else { continue }
                let t = min(a, 1)
                let i = (y * width + x) * 3
                pixels[i] = UInt8((Double(pixels[i]) + (target.0 - Double(pixels[i])) * t).rounded())
                pixels[i + 1] = UInt8((Double(pixels[i + 1]) + (target.1 - Double(pixels[i + 1])) * t).rounded())
                pixels[i + 2] = UInt8((Double(pixels[i + 2]) + (target.2 - Double(pixels[i + 2])) * t).rounded())
            }
        }
    }
}
