import Foundation

/// Signed distance functions of the shapes in a unit frame (the shape fits
/// in the unit circle; y points down): negative inside, positive outside,
/// exact Euclidean distance, so an edge can be anti-aliased, stroked or
/// blurred by a function of the distance alone.
enum ShapeGeometry {
    struct Point: Sendable { var x: Double, y: Double }

    static func signedDistance(_ shape: SyntheticScene.Shape, x: Double, y: Double) -> Double {
        switch shape {
        case .circle: return (x * x + y * y).squareRoot() - 0.92
        case .ring: return abs((x * x + y * y).squareRoot() - 0.71) - 0.21   // outer 0.92, hole 0.5
        case .square: return box(x: x, y: y, half: 0.7)
        case .triangle: return polygon(triangle, x: x, y: y)
        case .star: return polygon(star, x: x, y: y)
        case .cross: return polygon(cross, x: x, y: y)
        }
    }

    /// An axis-aligned square of half side `half` (exact, rounded outside corners).
    static func box(x: Double, y: Double, half: Double) -> Double {
        let qx = abs(x) - half, qy = abs(y) - half
        let outside = (max(qx, 0) * max(qx, 0) + max(qy, 0) * max(qy, 0)).squareRoot()
        return outside + min(max(qx, qy), 0)
    }

    /// Equilateral, pointing up, centroid at the origin, circumradius 1.
    static let triangle: [Point] = regular(sides: 3, radius: 1)

    /// Five points, outer radius 1, inner radius 0.42, one point up.
    static let star: [Point] = (0..<10).map { i in
        let r = i % 2 == 0 ? 1.0 : 0.42
        let a = -Double.pi / 2 + Double(i) * Double.pi / 5
        return Point(x: r * cos(a), y: r * sin(a))
    }

    /// A plus sign: arms 0.56 wide, 1.84 long.
    static let cross: [Point] = {
        let w = 0.28, l = 0.92
        return [(-w, -l), (w, -l), (w, -w), (l, -w), (l, w), (w, w), (w, l), (-w, l), (-w, w), (-l, w), (-l, -w), (-w, -w)]
            .map { Point(x: $0.0, y: $0.1) }
    }()

    static func regular(sides: Int, radius: Double) -> [Point] {
        (0..<sides).map { i in
            let a = -Double.pi / 2 + Double(i) * 2 * Double.pi / Double(sides)
            return Point(x: radius * cos(a), y: radius * sin(a))
        }
    }

    /// Exact signed distance to a simple polygon (after Inigo Quilez's
    /// sdPolygon): the nearest edge gives the distance, crossings the sign.
    static func polygon(_ v: [Point], x: Double, y: Double) -> Double {
        v.withUnsafeBufferPointer { v in
            var d = (x - v[0].x) * (x - v[0].x) + (y - v[0].y) * (y - v[0].y)
            var inside = false
            var j = v.count - 1
            for i in 0..<v.count {
                let ex = v[j].x - v[i].x, ey = v[j].y - v[i].y
                let wx = x - v[i].x, wy = y - v[i].y
                let t = min(max((wx * ex + wy * ey) / (ex * ex + ey * ey), 0), 1)
                let bx = wx - ex * t, by = wy - ey * t
                d = min(d, bx * bx + by * by)
                let c1 = y >= v[i].y, c2 = y < v[j].y, c3 = ex * wy > ey * wx
                if (c1 && c2 && c3) || (!c1 && !c2 && !c3) { inside.toggle() }
                j = i
            }
            return inside ? -d.squareRoot() : d.squareRoot()
        }
    }
}
