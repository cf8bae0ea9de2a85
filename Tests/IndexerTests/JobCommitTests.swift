import Foundation
import XCTest
@testable import Store
import GRDB

/// A worker's result is committed against its job as the job is when the
/// result is stored: the watcher may have deleted, moved or requeued it
/// while the file was read (the soak findings 1, 2, 3 and 6 in
/// bench/RESULTS.md). Each test is the interleaving the soak found, played
/// in order on the store.
final class JobCommitTests: XCTestCase {
    let dir = TemporaryDirectory()

    func store() throws -> IndexStore { try IndexStore(path: dir.path("index.sqlite")) }

    /// A result for the file at `path` as a worker read it (its size and mtime then).
    func result(_ path: String, error: String? = nil) throws -> IndexedFile {
        let st = try XCTUnwrap(FileStat.of(path))
        return IndexedFile(path: path, contentHash: "h-" + path, size: st.size, mtimeNs: st.mtimeNs, width: 4, height: 3, format: "png",
                           embeddings: [EmbeddingKind.predicted: [1, 0, 0]], error: error)
    }

    func jobRows(_ s: IndexStore) throws -> [(path: String, started: Bool)] {
        try s.read { db in
            try Row.fetchAll(db, sql: "SELECT path, startedAt FROM job ORDER BY path").map { ($0["path"], ($0["startedAt"] as Double?) != nil) }
        }
    }

    func paths(_ s: IndexStore) throws -> [String] {
        try s.read { db in try String.fetchAll(db, sql: "SELECT path FROM image ORDER BY path") }
    }

    /// Finding 2: `cp x A/new.png; rm A/new.png` while a worker reads it.
    func testAFileDeletedWhileReadIsNotRecorded() throws {
        let s = try store()
        let p = dir.write("A/new.png", "pixels")
        try s.enqueue([p], reason: "changed")
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        let read = try result(p)
        try FileManager.default.removeItem(atPath: p)
        try s.remove(path: p)                     // the delete event
        XCTAssertEqual(try s.store(read, completing: job), .dropped)
        XCTAssertEqual(try paths(s), [], "no record of a deleted file")
        XCTAssertEqual(try s.queuedCount(), 0)
    }

    /// Finding 1: `cp x A/new.png; mv A/new.png A/moved.png`, the worker had read it.
    func testAFileRenamedWhileReadIsStoredAtItsNewPath() throws {
        let s = try store()
        let old = dir.write("A/new.png", "pixels"), new = dir.path("A/moved.png")
        try s.enqueue([old], reason: "changed")
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        let read = try result(old)
        try FileManager.default.moveItem(atPath: old, toPath: new)
        try s.move(from: old, to: new)            // the move event
        try s.enqueue([new], reason: "moved in")  // as IndexingService does when no record moved
        guard case .stored(_, let path) = try s.store(read, completing: job) else { return XCTFail("not stored") }
        XCTAssertEqual(path, new)
        XCTAssertEqual(try paths(s), [new])
        XCTAssertEqual(try s.image(path: new)?.status, .indexed)
        // The "moved in" enqueue marked the running job requeued: it is looked at
        // once more (and then found unchanged), never lost.
        XCTAssertEqual(try jobRows(s).map(\.path), [new])
    }

    /// Finding 1, the other interleaving: the worker found the file gone
    /// (reading failed), the move event rewrote the job's path.
    func testAFailureOfAFileThatMovedIsRetriedAtItsNewPath() throws {
        let s = try store()
        let old = dir.write("A/new.png", "pixels"), new = dir.path("A/moved.png")
        try s.enqueue([old], reason: "changed")
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        var read = try result(old)
        read.error = "\(old): cannot read: no such file"
        try FileManager.default.moveItem(atPath: old, toPath: new)
        try s.move(from: old, to: new)
        XCTAssertEqual(try s.store(read, completing: job), .retried)
        XCTAssertEqual(try paths(s), [], "the old path is not recorded failed")
        XCTAssertEqual(try jobRows(s).map(\.path), [new])
        XCTAssertEqual(try s.claimJobs(limit: 5).map(\.path), [new], "queued again, under its new path")
    }

    /// A moved file that is no longer what was read (rewritten after the move) is analysed again.
    func testAMovedFileThatChangedIsRetried() throws {
        let s = try store()
        let old = dir.write("A/a.png", "pixels"), new = dir.path("A/b.png")
        try s.enqueue([old], reason: "changed")
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        let read = try result(old)
        try FileManager.default.moveItem(atPath: old, toPath: new)
        try s.move(from: old, to: new)
        dir.write("A/b.png", "other, longer pixels")
        XCTAssertEqual(try s.store(read, completing: job), .retried)
        XCTAssertEqual(try paths(s), [])
    }

    /// Finding 3: files still being indexed when their folder moves (`mv N M`).
    func testABatchWhoseFolderMovedIsStoredUnderTheNewFolder() throws {
        let s = try store()
        let files = (1...3).map { dir.write("N/n\($0).png", "pixels \($0)") }
        try s.enqueue(files, reason: "changed")
        let jobs = try s.claimJobs(limit: 10)
        let reads = try files.map { try result($0) }
        try FileManager.default.moveItem(atPath: dir.path("N"), toPath: dir.path("M"))
        try s.move(from: dir.path("N"), to: dir.path("M"))
        let commits = try s.store(batch: Array(zip(reads, jobs)))
        XCTAssertEqual(commits.count, 3)
        XCTAssertEqual(try paths(s), (1...3).map { dir.path("M/n\($0).png") })
        XCTAssertEqual(try s.queuedCount(), 0)
    }

    /// Finding 6: `reindex A; mv A G` — a worker finds its file missing at the
    /// old path; its job (rewritten to G/…) is queued again, not left started.
    func testAMissingFileWhoseFolderMovedIsQueuedAgainNotWedged() throws {
        let s = try store()
        let p = dir.write("A/x.png", "pixels")
        try s.store(try result(p))
        try s.enqueueReindex(under: dir.path("A"), files: [])
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        try FileManager.default.moveItem(atPath: dir.path("A"), toPath: dir.path("G"))
        try s.move(from: dir.path("A"), to: dir.path("G"))
        XCTAssertEqual(try s.settleMissing(job), .retried)
        XCTAssertEqual(try jobRows(s).map { "\($0.path) \($0.started)" }, [dir.path("G/x.png") + " false"])
        let again = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        XCTAssertEqual(again.path, dir.path("G/x.png"))
        XCTAssertTrue(again.isReindex, "still a reindex")
        XCTAssertEqual(try paths(s), [dir.path("G/x.png")], "the record moved with its folder and was kept")
    }

    /// A file missing at its unchanged path: the job ends, the record is the
    /// watcher's to remove (its folder may have moved, its event on the way).
    func testAMissingFileLeavesItsRecordToTheWatcher() throws {
        let s = try store()
        let p = dir.write("A/x.png", "pixels")
        try s.store(try result(p))
        try s.enqueueReindex(under: nil, files: [])
        let job = try XCTUnwrap(try s.claimJobs(limit: 1).first)
        try FileManager.default.moveItem(atPath: dir.path("A"), toPath: dir.path("G"))
        XCTAssertEqual(try s.settleMissing(job), .dropped)
        XCTAssertEqual(try s.queuedCount(), 0)
        try s.move(from: dir.path("A"), to: dir.path("G"))   // the folder's event, late
        XCTAssertEqual(try paths(s), [dir.path("G/x.png")], "not dropped before its folder's move arrived")
    }

    /// A reindex of a file missing from a folder that is still there: the
    /// user asked for the disk's word, and the record goes with the job.
    func testAReindexDropsTheRecordOfAFileGoneFromItsFolder() throws {
        let s = try store()
        let p = dir.write("A/x.png", "pixels"), q = dir.write("A/y.png", "other")
        try s.store(try result(p)); try s.store(try result(q))
        try s.enqueueReindex(under: nil, files: [])
        try FileManager.default.removeItem(atPath: p)
        for job in try s.claimJobs(limit: 2) {
            if job.path == p { XCTAssertEqual(try s.settleMissing(job), .dropped) } else { try s.finish(job) }
        }
        XCTAssertEqual(try paths(s), [q])
        // Not a reindex: the record is the watcher's.
        try s.enqueue([q], reason: "changed")
        try FileManager.default.removeItem(atPath: q)
        let job = try XCTUnwrap(try s.claimJobs(limit: 2).first { $0.path == q })
        XCTAssertEqual(try s.settleMissing(job), .dropped)
        XCTAssertEqual(try paths(s), [q])
    }

    /// A file moved onto a path that has a job of its own: the destination's
    /// job goes with its file (before, the UNIQUE job path made the move fail).
    func testAMoveOntoAQueuedPathReplacesItsJob() throws {
        let s = try store()
        let a = dir.write("A/a.png", "a"), b = dir.write("A/b.png", "b")
        try s.store(try result(a))
        try s.enqueue([a, b], reason: "changed")
        let jobs = try s.claimJobs(limit: 10)
        let readB = try result(b)
        try FileManager.default.moveItem(atPath: a, toPath: b.appending(".tmp"))
        try FileManager.default.removeItem(atPath: b)
        try FileManager.default.moveItem(atPath: b.appending(".tmp"), toPath: b)
        XCTAssertNoThrow(try s.move(from: a, to: b))
        XCTAssertEqual(try paths(s), [b], "a's record now answers for b")
        XCTAssertEqual(try jobRows(s).map(\.path), [b], "one job, a's, under the new path")
        XCTAssertEqual(try s.store(readB, completing: jobs[1]), .dropped, "what b held before is gone")
    }
}
