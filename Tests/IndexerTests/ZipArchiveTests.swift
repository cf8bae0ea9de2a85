import Foundation
import XCTest
@testable import Models

final class ZipArchiveTests: XCTestCase {
    let dir = TemporaryDirectory()

    func content(_ z: ZipArchive, _ name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        try z.read(z.entries[name]!) { out += $0 }
        return out
    }

    func testReadsStoredAndDeflatedEntries() throws {
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) }   // spans several output chunks
        for deflated in [false, true] {
            let path = dir.write("w\(deflated).whl", ZipWriter.archive([("pkg/a.txt", Array("hello".utf8)), ("pkg/big.bin", big), ("empty", [])], deflated: deflated))
            let z = try ZipArchive(path: path)
            XCTAssertEqual(Set(z.entries.keys), ["pkg/a.txt", "pkg/big.bin", "empty"])
            XCTAssertEqual(try content(z, "pkg/a.txt"), Array("hello".utf8))
            XCTAssertEqual(try content(z, "pkg/big.bin"), big)
            XCTAssertEqual(try content(z, "empty"), [])
        }
    }

    func testCorruptAndTruncatedArchivesAreRefused() throws {
        let good = ZipWriter.archive([("x.txt", Array(repeating: 65, count: 5000))])
        var flipped = good
        flipped[40] ^= 0xff   // inside the deflate stream of x.txt
        let p1 = dir.write("flipped.whl", flipped)
        let z = try ZipArchive(path: p1)
        XCTAssertThrowsError(try content(z, "x.txt")) { error in
            XCTAssert("\(error)".hasPrefix("\(p1): invalid archive: entry 'x.txt': "), "\(error)")
        }
        let p2 = dir.write("truncated.whl", good.prefix(good.count / 2))
        XCTAssertThrowsError(try ZipArchive(path: p2)) { XCTAssertEqual("\($0)", "\(p2): invalid archive: no end-of-central-directory record (truncated download?)") }
        let p3 = dir.write("empty.whl", Data())
        XCTAssertThrowsError(try ZipArchive(path: p3)) { XCTAssertEqual("\($0)", "\(p3): invalid archive: file is empty") }
    }

    func testRandomMutationsNeverCrash() throws {
        let good = ZipWriter.archive([("a", Array("some text that compresses, some text that compresses".utf8)), ("b", Array(0..<200))])
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var d = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) { d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            let path = dir.write("m.whl", d)
            guard let z = try? ZipArchive(path: path) else { continue }
            for e in z.entries.values { _ = try? z.read(e) { _ in } }
        }
    }
}
