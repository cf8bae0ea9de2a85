import Foundation
import GRDB
import XCTest
@testable import Metadata
@testable import RevsdSystem
@testable import Store

/// "A folder and everything under it", in SQL (`PathScope`) and in memory
/// (`Paths`), compared byte for byte as the filesystem does: "Café" spelled
/// decomposed (NFD) and precomposed (NFC) are two folders on disk.
final class FolderPathTests: XCTestCase {
    let dir = TemporaryDirectory()
    static let nfdFolder = "/x/Cafe\u{301}", nfcFolder = "/x/Caf\u{E9}"

    func store() throws -> IndexStore { try IndexStore(path: dir.path("index.sqlite")) }

    func file(_ path: String) -> IndexedFile {
        IndexedFile(path: path, contentHash: path, size: 10, mtimeNs: 1, width: 4, height: 3, format: "png",
                    metadata: GenerationMetadata(prompt: "p", source: "automatic1111", raw: "p"),
                    caption: nil, keywords: [], embeddings: [:])
    }

    func paths(_ s: IndexStore, _ ids: some Sequence<Int64>) throws -> [[UInt8]] {
        try s.images(ids: Array(ids)).values.map { Array($0.path.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    func testAFolderNamedInNFDFindsItsFilesAndNotThoseOfItsNFCTwin() throws {
        let s = try store()
        let nfd = Self.nfdFolder + "/a.png", nfc = Self.nfcFolder + "/b.png"
        let a = try s.store(file(nfd)), b = try s.store(file(nfc))
        try s.replaceAlignments([(id: a, alignment: 0.1, tier: .hard), (id: b, alignment: 0.2, tier: .hard)])
        try s.enqueue([nfd, nfc], reason: "new")

        XCTAssertEqual(try s.imageIDs(under: Self.nfdFolder), [a])
        XCTAssertEqual(try s.imageIDs(under: Self.nfcFolder), [b])
        XCTAssertEqual(try s.fileStates(under: Self.nfdFolder).keys.map { Array($0.path.utf8) }, [Array(nfd.utf8)])
        XCTAssertEqual(try s.filteredIDs(folder: Self.nfdFolder, hasPrompt: nil, since: nil, until: nil, model: nil, text: nil), [a])
        XCTAssertEqual(try s.filteredIDs(folder: Self.nfcFolder, hasPrompt: nil, since: nil, until: nil, model: nil, text: nil), [b])
        XCTAssertEqual(try s.leastAligned(maxAlignment: nil, tier: nil, folder: Self.nfdFolder, limit: 10), [a])
        XCTAssertEqual(try s.leastAligned(maxAlignment: nil, tier: nil, folder: Self.nfcFolder, limit: 10), [b])

        XCTAssertEqual(try s.move(from: Self.nfdFolder, to: "/y/moved"), 1)
        XCTAssertEqual(try s.image(path: "/y/moved/a.png")?.id, a)
        XCTAssertEqual(try paths(s, [a, b]), [Array(nfc.utf8), Array("/y/moved/a.png".utf8)].sorted { $0.lexicographicallyPrecedes($1) })
        XCTAssertEqual(try s.claimJobs(limit: 10).map { Array($0.path.utf8) }.sorted { $0.lexicographicallyPrecedes($1) },
                       [Array(nfc.utf8), Array("/y/moved/a.png".utf8)].sorted { $0.lexicographicallyPrecedes($1) },
                       "the queued job moved with its file")

        XCTAssertEqual(try s.remove(path: Self.nfcFolder), 1)
        XCTAssertEqual(try s.queuedCount(), 1, "the NFC file's job went with it")
        XCTAssertNil(try s.image(path: nfc))
        XCTAssertEqual(try s.image(path: "/y/moved/a.png")?.id, a, "the other folder's file stays")
        XCTAssertEqual(try s.remove(path: "/y/moved"), 1)
        XCTAssertEqual(try s.counts().indexed, 0)
    }

    func testMovingIntoAndOutOfADecomposedNameKeepsTheBytes() throws {
        let s = try store()
        let id = try s.store(file("/in/é-名/deep/z.png"))
        XCTAssertEqual(try s.move(from: "/in/é-名", to: Self.nfdFolder), 1)
        XCTAssertEqual(try paths(s, [id]), [Array((Self.nfdFolder + "/deep/z.png").utf8)])
        XCTAssertEqual(try s.move(from: Self.nfdFolder + "/deep", to: "/out"), 1)
        XCTAssertEqual(try paths(s, [id]), [Array("/out/z.png".utf8)])
    }

    func testTheParentOfAPathKeepsItsBytes() {
        XCTAssertEqual(Paths.parent(of: "/a/b/c.png"), "/a/b")
        XCTAssertEqual(Paths.parent(of: "/c.png"), "/")
        XCTAssertEqual(Paths.parent(of: "c.png"), ".")
        let nfd = "/Cafe\u{301}/x.png"
        XCTAssert(Paths.parent(of: nfd).utf8.elementsEqual("/Cafe\u{301}".utf8))
        XCTAssertFalse(Paths.parent(of: nfd).utf8.elementsEqual("/Caf\u{E9}".utf8))
    }

    func testAFolderIsNotAPrefixOfItsSiblings() throws {
        let s = try store()
        let inside = try s.store(file("/a/b/x.png"))
        let deeper = try s.store(file("/a/b/c/y.png"))
        var siblings: [Int64] = []
        for p in ["/a/bc/x.png", "/a/b-c/x.png", "/a/b.png", "/a/b!/x.png", "/a/b0/x.png", "/a/bb"] { siblings.append(try s.store(file(p))) }
        XCTAssertEqual(Set(try s.imageIDs(under: "/a/b")), [inside, deeper])
        XCTAssertEqual(try s.filteredIDs(folder: "/a/b", hasPrompt: nil, since: nil, until: nil, model: nil, text: nil), [inside, deeper])
        XCTAssertEqual(Set(try s.fileStates(under: "/a/b").keys.map(\.path)), ["/a/b/x.png", "/a/b/c/y.png"])
        XCTAssertEqual(try s.move(from: "/a/b", to: "/z"), 2)
        XCTAssertNotNil(try s.image(path: "/z/c/y.png"))
        XCTAssertEqual(try s.remove(path: "/z"), 2)
        XCTAssertEqual(Set(try s.images(ids: siblings).values.map(\.path)),
                       ["/a/bc/x.png", "/a/b-c/x.png", "/a/b.png", "/a/b!/x.png", "/a/b0/x.png", "/a/bb"], "no sibling moved or went")
        XCTAssertEqual(try s.remove(path: "/a/b.png"), 1, "a file is its own scope")
    }

    func testFolderClausesAreRangesOnThePathIndex() throws {
        let s = try store()
        let scope = PathScope.sameOrInside("/a/b"), inside = PathScope.inside("/a/b")
        let statements: [(String, [String])] = [
            ("SELECT id FROM image WHERE " + scope.sql, scope.arguments),
            ("SELECT id FROM image WHERE status = 'indexed' AND prompt IS NOT NULL AND " + scope.sql, scope.arguments),
            ("DELETE FROM image WHERE " + scope.sql, scope.arguments),
            ("DELETE FROM job WHERE " + scope.sql, scope.arguments),
            ("UPDATE image SET path = ? WHERE " + inside.sql, ["/n"] + inside.arguments),
            ("UPDATE job SET path = ? WHERE " + inside.sql, ["/n"] + inside.arguments),
        ]
        for (sql, arguments) in statements {
            let plan = try s.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(arguments)).map { $0["detail"] as String }
            }
            XCTAssert(plan.contains { $0.contains("USING") && $0.contains("INDEX sqlite_autoindex_") && $0.contains("path") }, "\(sql): \(plan)")
            XCTAssertFalse(plan.contains { $0.hasPrefix("SCAN") }, "\(sql): a full scan: \(plan)")
        }
    }

    func testInMemoryChecksCompareBytes() {
        XCTAssertTrue(Paths.isSameOrInside("/a/b", root: "/a/b"))
        XCTAssertTrue(Paths.isSameOrInside("/a/b/c", root: "/a/b"))
        XCTAssertTrue(Paths.isSameOrInside("/a/b/c/d.png", root: "/a/b"))
        XCTAssertFalse(Paths.isSameOrInside("/a/bc/x.png", root: "/a/b"))
        XCTAssertFalse(Paths.isSameOrInside("/a/b-c", root: "/a/b"))
        XCTAssertFalse(Paths.isSameOrInside("/a", root: "/a/b"))
        XCTAssertFalse(Paths.isSameOrInside("/a/c", root: "/a/b"))
        XCTAssertTrue(Paths.isSameOrInside(Self.nfdFolder + "/a.png", root: Self.nfdFolder))
        XCTAssertTrue(Paths.isSameOrInside(Self.nfcFolder, root: Self.nfcFolder))
        XCTAssertFalse(Paths.isSameOrInside(Self.nfdFolder + "/a.png", root: Self.nfcFolder))
        XCTAssertFalse(Paths.isSameOrInside(Self.nfcFolder + "/b.png", root: Self.nfdFolder))
        XCTAssertFalse(Paths.isSameOrInside(Self.nfcFolder, root: Self.nfdFolder))
        // A combining mark after "/" makes one Character with it in Swift; bytes still see the "/".
        XCTAssertTrue(Paths.isSameOrInside("/a/b/\u{301}x", root: "/a/b"))

        XCTAssertEqual(Paths.relocated("/a/b/c/d.png", from: "/a/b", to: "/x"), "/x/c/d.png")
        XCTAssertEqual(Paths.relocated("/a/b", from: "/a/b", to: "/x"), "/x")
        XCTAssertNil(Paths.relocated("/a/bc", from: "/a/b", to: "/x"))
        XCTAssertNil(Paths.relocated(Self.nfdFolder + "/a.png", from: Self.nfcFolder, to: "/x"))
        XCTAssertEqual(Paths.relocated(Self.nfdFolder + "/a.png", from: Self.nfdFolder, to: "/x").map { Array($0.utf8) }, Array("/x/a.png".utf8))
        XCTAssertEqual(Paths.relocated("/x/a.png", from: "/x", to: Self.nfdFolder).map { Array($0.utf8) }, Array((Self.nfdFolder + "/a.png").utf8))
    }

    /// Two files whose names differ only in normalization are two records to
    /// reconcile: keyed by String, the second overwrote the first, so a
    /// deleted one was never seen as gone beside its look-alike.
    func testFileStatesKeepLookAlikeNamesApart() throws {
        let s = try store()
        let nfd = Self.nfdFolder + ".png", nfc = Self.nfcFolder + ".png"
        XCTAssertEqual(nfd, nfc, "Swift Strings: canonically equal")
        try s.store(file(nfd)); try s.store(file(nfc))
        let states = try s.fileStates(under: "/x")
        XCTAssertEqual(states.count, 2)
        XCTAssertNotNil(states[PathKey(nfd)]); XCTAssertNotNil(states[PathKey(nfc)])
        XCTAssertNotEqual(PathKey(nfd), PathKey(nfc))
        XCTAssertEqual(Set([PathKey(nfd), PathKey(nfc), PathKey(nfd)]).count, 2)
        XCTAssertTrue(PathKey(nfd) < PathKey(nfc), "byte order: 'e' (0x65) before '\u{E9}' (0xC3 0xA9)")
    }
}
