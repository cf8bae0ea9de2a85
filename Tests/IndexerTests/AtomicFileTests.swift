import Foundation
import XCTest
@testable import RevsdSystem

final class AtomicFileTests: XCTestCase {
    let dir = TemporaryDirectory()

    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() }
    func content(_ path: String) throws -> String { String(decoding: try Syscalls.readFile(path), as: UTF8.self) }

    func testTheContentIsReplacedWholeAndNoTemporaryFileStays() throws {
        let path = dir.write("state.json", String(repeating: "old content, longer than the new; ", count: 100))
        try AtomicFile.write(Data("new".utf8), to: path)
        XCTAssertEqual(try content(path), "new")
        try AtomicFile.write(to: path) { out in
            for piece in ["one ", "two ", "three"] { try Array(piece.utf8).withUnsafeBytes { try out.write($0) } }
        }
        XCTAssertEqual(try content(path), "one two three")
        let fresh = dir.path("fresh.bin")
        try [Float(1), 2].withUnsafeBytes { try AtomicFile.write($0, to: fresh) }
        XCTAssertEqual(Syscalls.fileSize(fresh), 8)
        XCTAssertEqual(try listing(), ["fresh.bin", "state.json"])
    }

    func testAFailureLeavesTheOldFileAndNoTemporaryFile() throws {
        struct Stop: Error {}
        let path = dir.write("state.json", "old")
        XCTAssertThrowsError(try AtomicFile.write(to: path) { out in
            try Array("half of the new".utf8).withUnsafeBytes { try out.write($0) }
            throw Stop()
        }) { XCTAssert($0 is Stop, "\($0)") }
        XCTAssertEqual(try content(path), "old")
        XCTAssertEqual(try listing(), ["state.json"])

        // The rename fails (the destination is a folder): the error names the call and the path.
        let folder = dir.path("taken")
        try Syscalls.makeDirectories(folder + "/inside")
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: folder)) {
            let e = $0 as? SystemError
            XCTAssertEqual(e?.call, "rename to \(folder)", "\($0)")
            XCTAssert(e?.path.hasPrefix(folder + ".tmp-") == true, "\($0)")
        }
        XCTAssertEqual(try listing(), ["state.json", "taken"])

        // No folder to write in: open fails, naming the temporary file's path.
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: dir.path("absent/file"))) {
            let e = $0 as? SystemError
            XCTAssertEqual(e?.call, "open", "\($0)")
            XCTAssertEqual(e?.errno, ENOENT)
            XCTAssert(e?.path.hasPrefix(dir.path("absent/file.tmp-")) == true, "\($0)")
        }
    }

    func testTheFolderOfAPath() {
        XCTAssertEqual(AtomicFile.folder(of: "/a/b/c.json"), "/a/b")
        XCTAssertEqual(AtomicFile.folder(of: "/c.json"), "/")
        XCTAssertEqual(AtomicFile.folder(of: "c.json"), ".")
        XCTAssertEqual(AtomicFile.folder(of: "a/\u{301}c"), "a", "a combining mark after '/' does not hide it")
    }
}
