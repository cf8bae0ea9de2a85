import Foundation
import SyntheticImages
import XCTest
@testable import Imaging

/// `eval` with re-saved copies of library images in the evaluated folder:
/// the real revsdd finds the library originals as near-duplicates
/// (`NearDuplicates`), trains its fresh run without them and says so
/// (`retrained_excluding_near_duplicates`), while identical files stay
/// counted apart (`retrained_excluding`). Needs the installed models.
final class EvalNearDuplicateEndToEndTests: XCTestCase {
    func testAResavedCopyOfALibraryImageIsEvaluatedWithItsOriginalLeftOutOfTraining() throws {
        _ = try installedPromptEncoderFolder()
        let h = try DaemonHarness()
        let labelled = try SyntheticLibrary.writeLibrary(to: URL(fileURLWithPath: h.watch), count: 60, seed: 41, metadata: true)
        let evalDir = h.dir.url.appendingPathComponent("eval")
        var evaluated = try SyntheticLibrary.writeLibrary(to: evalDir, count: 8, seed: 42, metadata: false)
        // Three library images saved again by "another program": other bytes,
        // no metadata, two of them at another size; their prompts in prompts.tsv.
        let resaved = zip(labelled.suffix(3), [ResavedCopy.half, .jpeg75, .web512])
        for (e, kind) in resaved {
            let image = try ImageDecoder.decode(path: h.watch + "/" + e.file).image
            let name = "resaved-\(kind.rawValue)-" + (e.file as NSString).deletingPathExtension + "." + kind.fileExtension
            try Data(kind.bytes(of: image, name: name)).write(to: evalDir.appendingPathComponent(name))
            evaluated.append(.init(file: name, prompt: e.prompt, scene: e.scene))
        }
        try SyntheticLibrary.writePromptsTSV(evaluated, to: evalDir.appendingPathComponent("prompts.tsv"))
        try h.start(config: "[learning]\nretrain_after = 0\n")
        try h.waitForIndex(labelled.count)
        let train = try runProduct("revsdctl", ["train", "--socket", h.socket, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)

        let run = try runProduct("revsdctl", ["eval", "--socket", h.socket, "--json", "--captions", evalDir.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let eval = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] ?? [:]
        XCTAssertEqual(eval["images"] as? Int, evaluated.count)
        XCTAssertEqual(eval["retrained_excluding"] as? Int, 0, "no evaluated file has the bytes of a library file")
        XCTAssertEqual(eval["retrained_excluding_near_duplicates"] as? Int, 3,
                       "the three originals, and no other library image, are near-duplicates of evaluated ones: \(run.stdout)")
        // The fresh run trained without them: 60 labelled − 3.
        XCTAssert(h.logText.contains("evaluation: training on \(labelled.count - 3) labelled images"), h.logText)
        // Nor are their prompts in the caption bank: a copy's 1-NN caption is
        // never its original's prompt (unless another library image has it).
        let captions = eval["captions"] as? [[String: Any]] ?? []
        for (e, _) in resaved where labelled.filter({ $0.prompt == e.prompt }).count == 1 {
            let c = captions.first { ($0["name"] as? String ?? "").contains(e.file.replacingOccurrences(of: ".png", with: "")) }
            XCTAssertNotNil(c, "a caption row for the copy of \(e.file)")
            XCTAssertNotEqual(c?["caption"] as? String, e.prompt, "the original's prompt was left out of the bank")
        }

        // The human table says it too.
        let table = try runProduct("revsdctl", ["eval", "--socket", h.socket, evalDir.path])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssert(table.stdout.contains("(heads retrained without the 3 library images that are near-duplicates of evaluated ones)"), table.stdout)
    }
}
