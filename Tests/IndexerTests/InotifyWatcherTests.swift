import Foundation
import XCTest
@testable import Watch

final class InotifyWatcherTests: XCTestCase {
    func e(_ mask: InotifyMask, _ name: String = "x.png", cookie: UInt32 = 0) -> InotifyEvent {
        InotifyEvent(wd: 1, mask: mask, cookie: cookie, name: name)
    }

    func testClassificationRules() {
        let d = "/w"
        XCTAssertEqual(WatchAction.classify(e(.closeWrite), directory: d), .fileReady("/w/x.png"))
        XCTAssertEqual(WatchAction.classify(e(.create), directory: d), .ignore, "a file is indexed when closed, not when created")
        XCTAssertEqual(WatchAction.classify(e([.create, .isDirectory], "sub"), directory: d), .directoryAppeared("/w/sub"))
        XCTAssertEqual(WatchAction.classify(e([.movedTo], cookie: 7), directory: d), .arrived("/w/x.png", cookie: 7, isDirectory: false))
        XCTAssertEqual(WatchAction.classify(e([.movedTo, .isDirectory], "sub", cookie: 7), directory: d), .arrived("/w/sub", cookie: 7, isDirectory: true))
        XCTAssertEqual(WatchAction.classify(e([.movedFrom], cookie: 9), directory: d), .gone("/w/x.png", cookie: 9))
        XCTAssertEqual(WatchAction.classify(e(.delete), directory: d), .gone("/w/x.png", cookie: nil))
        XCTAssertEqual(WatchAction.classify(e(.queueOverflow, ""), directory: nil), .overflow)
        XCTAssertEqual(WatchAction.classify(e(.ignored, ""), directory: d), .watchLost(1))
        XCTAssertEqual(WatchAction.classify(e(.moveSelf, ""), directory: d), .watchLost(1))
        XCTAssertEqual(WatchAction.classify(e(.deleteSelf, ""), directory: d), .ignore, "IN_IGNORED follows")
        XCTAssertEqual(WatchAction.classify(e(.closeWrite), directory: nil), .ignore, "unknown watch descriptor")
        XCTAssertEqual(WatchAction.classify(e(.closeWrite, "x"), directory: "/"), .fileReady("/x"))
    }

    func testParsesRecordsWithPaddedNames() {
        var bytes: [UInt8] = []
        func record(_ wd: Int32, _ mask: UInt32, _ cookie: UInt32, _ name: String, pad: Int) {
            withUnsafeBytes(of: wd) { bytes += $0 }; withUnsafeBytes(of: mask) { bytes += $0 }; withUnsafeBytes(of: cookie) { bytes += $0 }
            let n = Array(name.utf8) + [UInt8](repeating: 0, count: pad)
            withUnsafeBytes(of: UInt32(n.count)) { bytes += $0 }
            bytes += n
        }
        record(3, InotifyMask.closeWrite.rawValue, 0, "a.png", pad: 11)
        record(4, InotifyMask.queueOverflow.rawValue, 0, "", pad: 0)
        record(5, InotifyMask.movedTo.rawValue, 42, "ü.webp", pad: 1)
        let events = bytes.withUnsafeBytes { InotifyEvent.parse($0) }
        XCTAssertEqual(events, [
            InotifyEvent(wd: 3, mask: .closeWrite, cookie: 0, name: "a.png"),
            InotifyEvent(wd: 4, mask: .queueOverflow, cookie: 0, name: ""),
            InotifyEvent(wd: 5, mask: .movedTo, cookie: 42, name: "ü.webp"),
        ])
        XCTAssertEqual(Array(bytes.prefix(20)).withUnsafeBytes { InotifyEvent.parse($0) }, [], "a cut record is not read")
    }

    /// Waits (bounded) until `count` changes arrived.
    func collect(_ w: InotifyWatcher, until done: @escaping @Sendable ([WatchChange]) -> Bool) async -> [WatchChange] {
        await withTaskGroup(of: [WatchChange].self) { group in
            group.addTask {
                var seen: [WatchChange] = []
                for await c in w.changes { seen.append(c); if done(seen) { break } }
                return seen
            }
            group.addTask { try? await Task.sleep(for: .seconds(10)); return [] }
            let first = await group.next() ?? []
            group.cancelAll()
            return first
        }
    }

    func testLiveTreeFollowsWritesMovesDeletesAndNewFolders() async throws {
        let dir = TemporaryDirectory()
        let root = dir.url.path
        try FileManager.default.createDirectory(atPath: root + "/old", withIntermediateDirectories: true)
        _ = dir.write("old/existing.png", "x")
        let w = try InotifyWatcher()
        XCTAssertEqual(w.addRoot(root), [root + "/old/existing.png"])
        XCTAssertEqual(w.watchCount, 2)
        w.start()
        defer { w.stop() }

        // A slow writer: nothing until the file is closed.
        // (FileManager.createFile writes a temporary file and renames it; open(2) does not.)
        let slowFD = open(root + "/slow.png", O_WRONLY | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(slowFD, 0)
        let fh = FileHandle(fileDescriptor: slowFD, closeOnDealloc: false)
        fh.write(Data("part 1".utf8))
        fh.write(Data("part 2".utf8))
        try fh.close()
        try FileManager.default.moveItem(atPath: root + "/old/existing.png", toPath: root + "/moved.png")
        try FileManager.default.createDirectory(atPath: root + "/new", withIntermediateDirectories: true)
        try FileManager.default.removeItem(atPath: root + "/slow.png")
        try FileManager.default.moveItem(atPath: root + "/old", toPath: root + "/renamed")
        let seen = await collect(w) { $0.contains(.move(from: root + "/old", to: root + "/renamed", isDirectory: true)) }
        XCTAssertEqual(Array(seen.prefix(5)), [
            .index(root + "/slow.png"),
            .move(from: root + "/old/existing.png", to: root + "/moved.png", isDirectory: false),
            .scan(root + "/new"),
            .remove(root + "/slow.png"),
            .move(from: root + "/old", to: root + "/renamed", isDirectory: true),
        ])
        XCTAssertEqual(Set(w.watchedDirectories()), [root, root + "/renamed"], "the renamed folder keeps its watch under its new name")
        // Events inside the renamed folder carry its new path.
        _ = dir.write("renamed/inside.png", "y")
        let more = await collect(w) { $0.contains(.index(root + "/renamed/inside.png")) }
        XCTAssertEqual(more.last, .index(root + "/renamed/inside.png"))
        // The whole watched root going away makes it missing (records kept),
        // and its return is noticed without anyone adding it again.
        try FileManager.default.removeItem(atPath: root)
        let gone = await collect(w) { $0.contains(.rootMissing(root)) }
        XCTAssert(gone.contains(.rootMissing(root)), "\(gone)")
        XCTAssertEqual(w.missingRoots, [root])
        XCTAssertEqual(w.watchCount, 0, "no watch is left on the removed tree")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let back = await collect(w) { $0.contains(.rootReturned(root)) }
        XCTAssertEqual(back.last, .rootReturned(root))
        XCTAssertEqual(w.missingRoots, [])
    }

    func testARootMovedAwayAndBackIsMissingThenReturnsAndStopsFollowingTheMovedTree() async throws {
        let dir = TemporaryDirectory()
        let root = dir.url.path + "/lib", away = dir.url.path + "/away"
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        let w = try InotifyWatcher()
        XCTAssertEqual(w.addRoot(root), [])
        XCTAssertNil(w.addRoot(dir.url.path + "/not-yet"), "a missing root is accepted and polled for")
        XCTAssertEqual(w.missingRoots, [dir.url.path + "/not-yet"])
        w.start()
        defer { w.stop() }
        try FileManager.default.moveItem(atPath: root, toPath: away)
        let gone = await collect(w) { $0.contains(.rootMissing(root)) }
        XCTAssert(gone.contains(.rootMissing(root)), "\(gone)")
        // Files written in the moved tree are no longer reported under the old path.
        _ = dir.write("away/sub/late.png", "z")
        try FileManager.default.moveItem(atPath: away, toPath: root)
        let back = await collect(w) { $0.contains(.rootReturned(root)) }
        XCTAssertFalse(back.contains(.index(root + "/sub/late.png")), "\(back)")
        XCTAssert(back.contains(.rootReturned(root)), "\(back)")
        XCTAssertEqual(w.addRoot(root), [root + "/sub/late.png"])
        XCTAssertEqual(Set(w.watchedDirectories()), [root, root + "/sub"])
    }
}
