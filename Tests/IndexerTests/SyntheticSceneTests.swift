import SyntheticImages
import XCTest

/// Synthetic scenes: every factor is drawn often enough to learn, the pixels
/// show what the prompt says, and the prompt says every factor.
final class SyntheticSceneTests: XCTestCase {
    typealias Scene = SyntheticScene

    func histogram<T: Hashable>(_ scenes: [Scene], _ factor: (Scene) -> T) -> [T: Int] {
        scenes.reduce(into: [:]) { $0[factor($1), default: 0] += 1 }
    }

    func testEveryFactorValueAppearsOften() {
        let scenes = (0..<500).map { SyntheticLibrary.sample(seed: UInt64($0)) }
        func check<T: Hashable & CaseIterable>(_ name: String, _ factor: (Scene) -> T) {
            let h = histogram(scenes, factor)
            let expected = 500 / T.allCases.count
            for value in T.allCases {
                XCTAssertGreaterThan(h[value, default: 0], expected / 2, "\(name) \(value): \(h[value, default: 0]) of 500")
            }
        }
        check("shape", \.shape); check("color", \.color); check("count", \.count); check("position", \.position)
        check("background", \.background); check("background color", \.backgroundColor); check("style", \.style)
        XCTAssertEqual(Set(scenes.map(\.phrasing)), [0, 1, 2])
        XCTAssert(scenes.allSatisfy { $0.color != $0.backgroundColor })
    }

    func testLibraryScenesAreBalanced() {
        let scenes = SyntheticLibrary.scenes(count: 120, seed: 11)   // a multiple of 3, 5, 6, 7 and 8
        func exact<T: Hashable & CaseIterable>(_ name: String, _ factor: (Scene) -> T) {
            XCTAssertEqual(Set(histogram(scenes, factor).values), [120 / T.allCases.count], name)
        }
        exact("shape", \.shape); exact("color", \.color); exact("count", \.count); exact("position", \.position)
        exact("background", \.background); exact("style", \.style)
        XCTAssertEqual(Set(histogram(scenes, \.phrasing).values), [40])
        XCTAssert(scenes.allSatisfy { $0.color != $0.backgroundColor })
        // A library shorter than the factor's value count still never repeats a value.
        XCTAssertEqual(Set(SyntheticLibrary.scenes(count: 8, seed: 2).map(\.color)).count, 8)
    }

    func testRedCircleInTheCenter() {
        let scene = Scene(shape: .circle, color: .red, count: .one, position: .center, background: .plain,
                          backgroundColor: .blue, style: .flat)
        let canvas = pixels(scene, 256, 256)
        XCTAssertEqual(canvas(128, 128), Scene.Color.red.rgb)
        for (x, y) in [(0, 0), (255, 0), (0, 255), (255, 255)] { XCTAssertEqual(canvas(x, y), Scene.Color.blue.rgb) }
        XCTAssertEqual(scene.prompt, "a red circle in the center, plain blue background, flat illustration")
    }

    /// Each object's pixels lie in its own placement's circle, placements do
    /// not overlap and sit in the named part of the canvas, and a flat drawing
    /// shows exactly `count` solid blobs of the object's colour.
    func testObjectsAreWhereAndHowManyThePromptSays() {
        let (w, h) = (160, 128)
        for scene in SyntheticLibrary.scenes(count: 90, seed: 21) {
            let placements = scene.placements(width: w, height: h)
            XCTAssertEqual(placements.count, scene.count.rawValue)
            for (i, a) in placements.enumerated() {
                XCTAssert(a.x - a.radius >= 0 && a.x + a.radius <= Double(w) && a.y - a.radius >= 0 && a.y + a.radius <= Double(h))
                for b in placements[(i + 1)...] {
                    XCTAssertGreaterThan(((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot(), a.radius + b.radius + 1)
                }
                switch scene.position {
                case .left: XCTAssertLessThan(a.x, Double(w) / 2)
                case .right: XCTAssertGreaterThan(a.x, Double(w) / 2)
                case .top: XCTAssertLessThan(a.y, Double(h) / 2)
                case .bottom: XCTAssertGreaterThan(a.y, Double(h) / 2)
                case .center: XCTAssert(abs(a.y - Double(h) / 2) < Double(h) / 6, "\(scene.prompt)")
                }
            }
            let blobs = components(of: scene.color.rgb, in: scene.render(width: w, height: h), w, h).filter { $0.count >= 8 }
            for blob in blobs {
                XCTAssertEqual(placements.filter { p in blob.allSatisfy { inside($0, p, w) } }.count, 1, scene.prompt)
            }
            for p in placements {
                XCTAssert(blobs.contains { $0.allSatisfy { inside($0, p, w) } }, "nothing drawn at \(p): \(scene.prompt)")
            }
            if scene.style == .flat {   // an outlined ring is two circles; a soft small ring's core may break
                XCTAssertEqual(blobs.count, scene.count.rawValue, scene.prompt)
            }
        }
    }

    func testPromptNamesEveryFactor() {
        for seed in 0..<500 {
            let s = SyntheticLibrary.sample(seed: UInt64(seed))
            let p = s.prompt
            let words = p.split { !$0.isLetter }.map(String.init)
            XCTAssert(words.contains(s.shape.noun(plural: s.count != .one)), p)
            XCTAssertEqual(words.contains(s.shape.noun(plural: s.count == .one)), false, p)
            XCTAssert(words.contains(s.color.rawValue), p)
            XCTAssert(p.contains(s.backgroundPhrase), p)
            XCTAssert(words.contains(s.backgroundColor.rawValue) && words.contains(s.background.rawValue), p)
            XCTAssert(p.contains(s.position.phrase), p)
            XCTAssert(p.contains(s.style.phrase), p)
            XCTAssert(p.unicodeScalars.allSatisfy { $0.isASCII && $0 != "\t" && $0 != "\n" }, p)
            if s.count != .one { XCTAssert(words.contains(["", "one", "two", "three"][s.count.rawValue]), p) }
            XCTAssertFalse(p.contains("a orange"), p)
        }
        let two = Scene(shape: .circle, color: .red, count: .two, position: .left, background: .striped,
                        backgroundColor: .blue, style: .flat)
        XCTAssertEqual(two.prompt, "two red circles on the left, blue striped background, flat illustration")
        var star = Scene(shape: .star, color: .orange, count: .one, position: .top, background: .checkered,
                         backgroundColor: .white, style: .soft, phrasing: 1)
        XCTAssertEqual(star.prompt, "soft airbrush painting of an orange star at the top on a white checkered background")
        star.phrasing = 2; star.shape = .cross; star.count = .three; star.style = .outlined
        XCTAssertEqual(star.prompt, "a white checkered background with three orange crosses at the top, outline drawing")
        star.backgroundColor = .orange; star.color = .white
        XCTAssertEqual(star.prompt, "an orange checkered background with three white crosses at the top, outline drawing")
        star.phrasing = 1; star.background = .plain
        XCTAssertEqual(star.prompt, "outline drawing of three white crosses at the top on a plain orange background")
    }

    // MARK: - Helpers

    func pixels(_ scene: Scene, _ w: Int, _ h: Int) -> (Int, Int) -> RGB {
        let rgb = scene.render(width: w, height: h)
        return { x, y in RGB(rgb[(y * w + x) * 3], rgb[(y * w + x) * 3 + 1], rgb[(y * w + x) * 3 + 2]) }
    }

    func inside(_ pixel: Int, _ p: Scene.Placement, _ w: Int) -> Bool {
        let dx = Double(pixel % w) + 0.5 - p.x, dy = Double(pixel / w) + 0.5 - p.y
        return (dx * dx + dy * dy).squareRoot() <= p.radius + 1
    }

    /// 4-connected components of the pixels exactly `color`, as pixel indices.
    func components(of color: RGB, in rgb: [UInt8], _ w: Int, _ h: Int) -> [[Int]] {
        var seen = (0..<(w * h)).map { rgb[$0 * 3] != color.r || rgb[$0 * 3 + 1] != color.g || rgb[$0 * 3 + 2] != color.b }
        var out: [[Int]] = []
        for start in 0..<(w * h) where !seen[start] {
            var blob: [Int] = [], stack = [start]
            seen[start] = true
            while let i = stack.popLast() {
                blob.append(i)
                let (x, y) = (i % w, i / w)
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && nx < w && ny >= 0 && ny < h {
                    if !seen[ny * w + nx] { seen[ny * w + nx] = true; stack.append(ny * w + nx) }
                }
            }
            out.append(blob)
        }
        return out
    }
}
