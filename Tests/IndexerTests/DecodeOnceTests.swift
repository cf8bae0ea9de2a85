import Foundation
import Inference
import Synchronization
import XCTest
@testable import Analysis
@testable import Models

/// Phase 2 decodes a file once and hands the pixels to every encoder: the
/// features are the ones each encoder gives from its own decode of the file,
/// to the bit; and passes that run the same model at once (each takes its
/// own run state from the model's pool) agree with passes one after another
/// to rounding (a product split over fewer threads sums its tiles in
/// another order: about 1e-7 here; a shared buffer would be wrong by far more).
final class DecodeOnceTests: XCTestCase {
    static let names = ["scene-320x200.png", "tall-180x260.jpg", "orientation6.jpg", "lossy.webp", "alpha.png", "palette.png"]

    func testOneDecodeGivesEveryEncoderTheFeaturesOfItsOwnDecode() throws {
        _ = try installedPromptEncoderFolder()
        let store = ModelStore.resolve()
        let analyzer = try ImageAnalyzer(store: store)
        let encoders = try store.imageEncoders()
        XCTAssertEqual(encoders.count, 3)
        for name in Self.names {
            let path = CaptionTests.images.appendingPathComponent(name).path
            let a = analyzer.analyze(path: path, includeFeatures: true)
            XCTAssertNil(a.error, name)
            for e in encoders {
                let own = try e.encode(path: path).features
                XCTAssertEqual(a.features[e.variant.id], own, "\(name): \(e.variant.id)")
            }
        }
    }

    func testPassesRunningAtOnceGiveTheFeaturesOfPassesOneAfterAnother() throws {
        _ = try installedPromptEncoderFolder()
        let encoder = try XCTUnwrap(try ModelStore.resolve().imageEncoders().first)
        let paths = Self.names.map { CaptionTests.images.appendingPathComponent($0).path }
        let serial = try paths.map { try encoder.encode(path: $0).features }
        let results = Mutex<[(Int, [Float])]>([])
        // Four threads, each through every image, each image in turn on another thread.
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in paths.indices {
                let j = (i + t) % paths.count
                guard let f = try? encoder.encode(path: paths[j]).features else { continue }
                results.withLock { $0.append((j, f)) }
            }
        }
        let r = results.withLock { $0 }
        XCTAssertEqual(r.count, 4 * paths.count)
        for (j, f) in r {
            let scale = serial[j].map(abs).max() ?? 1
            let worst = zip(f, serial[j]).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-5 * scale, "\(paths[j]): a pass run beside others differs from the serial one")
        }
    }
}
