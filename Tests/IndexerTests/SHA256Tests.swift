import Foundation
import XCTest
import RevsdSystem

final class SHA256Tests: XCTestCase {
    func hex(_ s: String) -> String { sha256Hex(Data(s.utf8)) }

    func testFIPSVectors() {
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(sha256Hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testStreamingInAnyChunkingEqualsOneShot() {
        let data = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let expected = sha256Hex(data)
        for chunk in [1, 3, 55, 56, 63, 64, 65, 128, 999] {
            var h = SHA256()
            var i = 0
            while i < data.count {
                let part = data[i..<min(data.count, i + chunk)]
                part.withUnsafeBytes { h.update($0) }
                i += chunk
            }
            XCTAssertEqual(h.hexDigest(), expected, "chunk \(chunk)")
        }
    }
}
