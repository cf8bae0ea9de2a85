@testable import Inference
import Foundation
import XCTest

final class MappedFileTests: XCTestCase {
    let dir = TemporaryDirectory()

    /// Handing back the pages of part of a mapping (as `BFloat16Weight` does
    /// for the fp32 weights it has rounded) loses nothing: every byte reads
    /// the same afterwards, inside the range, at its partial edge pages and
    /// outside it; and a range outside the mapping is ignored.
    func testReleasedPagesReadTheSameBytesAgain() throws {
        let count = 5 * 4096 + 123
        let data = Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let file = try MappedFile(path: dir.write("pages.bin", data))
        let before = Array(file.bytes)
        XCTAssertEqual(before, Array(data))
        file.releasePages(file.base + 1000, length: 3 * 4096 + 10)   // pages 1 and 2 whole, 0 and 3 in part
        XCTAssertEqual(Array(file.bytes), Array(data))
        file.releasePages(file.base, length: count)
        XCTAssertEqual(Array(file.bytes), Array(data))
        file.releasePages(file.base + count - 10, length: 1 << 20)     // runs past the end: ignored
        XCTAssertEqual(Array(file.bytes), Array(data))
    }

    /// A weight rounded from a mapped checkpoint keeps its fp32 view
    /// readable (the fp32 fallback reads it), with the same values.
    func testRoundingAMappedWeightLeavesItsFloat32ViewIntact() throws {
        let values = (0..<(64 * 96)).map { Float($0 % 97) / 97 - 0.5 }
        let path = dir.write("w.safetensors", SafeTensorsWriter.file([SafeTensorsWriter.f32("w", [64, 96], values)]))
        let st = try SafeTensorsFile(path: path)
        let w = try st.floatTensor("w", shape: [64, 96])
        let rounded = BFloat16Weight(w)
        XCTAssertEqual(w.toArray(), values)
        XCTAssertEqual((0..<values.count).map { rounded.bits[$0] }, values.map(BFloat16.one))
    }
}
