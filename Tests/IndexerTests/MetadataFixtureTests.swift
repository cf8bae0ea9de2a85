import Foundation
import XCTest

/// Every real file in ../shared/fixtures/sd-meta: the prompt read must be the
/// expected one (whitespace normalised; a ComfyUI prompt made of several texts
/// may come in another order).
final class MetadataFixtureTests: XCTestCase {
    /// Files whose metadata lives only in the pixels' alpha bits: `read` must
    /// find no text; the pixel decoder's stealth test covers them.
    static let stealthOnly: Set<String> = ["sdparsers__AUTOMATIC1111_automatic1111_stealth.png"]

    func testEveryFixtureYieldsItsExpectedPrompt() throws {
        let (dir, rows) = try MetadataFixtures.expected()
        XCTAssertGreaterThanOrEqual(rows.count, 110)
        var checked = 0
        for row in rows {
            let report = try MetadataFixtures.read(dir.appendingPathComponent(row.file))
            if row.file.hasPrefix("negative-controls/") {
                XCTAssertNil(report.metadata, "\(row.file) is a negative control; got \(String(describing: report.metadata))")
                checked += 1
                continue
            }
            if Self.stealthOnly.contains(row.file) {
                XCTAssertNil(report.metadata?.prompt, "\(row.file): expected no text metadata (stealth only)")
                checked += 1
                continue
            }
            guard let m = report.metadata, let prompt = m.prompt else {
                XCTFail("\(row.file) [\(row.format)]: no prompt; notes: \(report.notes)")
                continue
            }
            let got = MetadataFixtures.normalised(prompt), want = MetadataFixtures.normalised(row.prompt)
            if got != want {
                let gotSet = Set(prompt.split(separator: "\n").map { MetadataFixtures.normalised(String($0)) }.filter { !$0.isEmpty })
                let wantSet = Set(row.prompt.split(separator: "\n").map { MetadataFixtures.normalised(String($0)) }.filter { !$0.isEmpty })
                XCTAssert(m.source == "comfyui" && gotSet == wantSet,
                          "\(row.file) [\(row.format)] source \(m.source)\n got: \(got.prefix(300))\nwant: \(want.prefix(300))")
            }
            checked += 1
        }
        XCTAssertEqual(checked, rows.count)
    }
}
