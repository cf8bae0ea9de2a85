import Foundation
import XCTest
@testable import RevsdSystem

/// The wrappers of RevsdSystem on the cases that matter: a bad descriptor
/// from outside is an error value (EBADF traps only for our own bugs).
final class SyscallsTests: XCTestCase {
    func testAWriteOnlyDescriptorIsAnErrorNotACrash() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("image.png", "not really")
        let fd = try Syscalls.open(path, O_WRONLY)
        defer { Syscalls.close(fd) }
        XCTAssertThrowsError(try Syscalls.readWhole(descriptor: fd, path: "fd", limit: 1 << 20)) { error in
            guard case .system(let e)? = error as? FileReadError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.errno, EBADF)
            XCTAssertEqual(e.call, "pread (not open for reading)")
        }
    }

    func testStatusListingAndHeads() throws {
        let dir = TemporaryDirectory()
        _ = dir.write("sub/a.txt", "abc")
        _ = dir.write("b.txt", "0123456789abcdef")
        XCTAssertEqual(try Syscalls.directoryEntries(dir.url.path).sorted(), ["b.txt", "sub"])
        XCTAssertEqual(try Syscalls.status(dir.path("sub")).kind, .directory)
        XCTAssertEqual(try Syscalls.status(dir.path("b.txt")).size, 16)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link"), withDestinationPath: dir.path("b.txt"))
        XCTAssertEqual(try Syscalls.status(dir.path("link"), followLinks: false).kind, .symbolicLink)
        XCTAssertEqual(try Syscalls.status(dir.path("link")).kind, .regular)
        XCTAssertEqual(try Syscalls.readHead(dir.path("b.txt"), count: 4), Array("0123".utf8))
        XCTAssertEqual(try Syscalls.readHead(dir.path("sub/a.txt"), count: 12), Array("abc".utf8))
        XCTAssertThrowsError(try Syscalls.readHead(dir.path("sub"), count: 12)) { XCTAssertEqual(($0 as? SystemError)?.errno, EISDIR) }
        XCTAssertThrowsError(try Syscalls.status(dir.path("gone"))) { error in
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
            XCTAssertEqual("\(error)", "\(dir.path("gone")): stat failed: No such file or directory")
        }
    }

    func testInotifyNudgeWakesOnceAndAStopStillWins() throws {
        let inotify = try Inotify()
        inotify.nudge(); inotify.nudge()
        XCTAssertEqual(try inotify.wait(timeout: nil), .nudged)
        XCTAssertEqual(try inotify.wait(timeout: .milliseconds(10)), .timedOut, "a nudge is not sticky")
        inotify.nudge(); inotify.wake()
        XCTAssertEqual(try inotify.wait(timeout: nil), .woken)
        XCTAssertEqual(try inotify.wait(timeout: nil), .woken)
    }

    func testStateDirectoryLockFileIsExclusiveAcrossDescriptors() throws {
        let dir = TemporaryDirectory()
        let first = try XCTUnwrap(try Syscalls.tryLockFile(dir.path("revsdd.lock")))
        XCTAssertNil(try Syscalls.tryLockFile(dir.path("revsdd.lock")), "a second open file description cannot take it")
        Syscalls.close(first)
        let again = try XCTUnwrap(try Syscalls.tryLockFile(dir.path("revsdd.lock")), "released with the descriptor")
        Syscalls.close(again)
    }

    func testInotifyWakesAWaiterAndStaysWoken() throws {
        let inotify = try Inotify()
        XCTAssertEqual(try inotify.wait(timeout: .milliseconds(10)), .timedOut)
        inotify.wake()
        XCTAssertEqual(try inotify.wait(timeout: nil), .woken)
        XCTAssertEqual(try inotify.wait(timeout: nil), .woken, "a stop is sticky")
        XCTAssertThrowsError(try inotify.addWatch("/nonexistent-\(UUID())", mask: 0x100)) {
            XCTAssertEqual(($0 as? SystemError)?.errno, ENOENT)
        }
    }
}
