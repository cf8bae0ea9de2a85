import Foundation
import GRDB
import RevsdSystem

extension IndexStore {
    /// Queues files; a file already queued keeps its place. A file whose job
    /// a worker is running is marked `requeued`: the worker may have read it
    /// before this change (a writer that writes and closes in several steps),
    /// so completing that job queues it again (`complete`) rather than
    /// dropping the change.
    public func enqueue(_ paths: [String], reason: String) throws {
        guard !paths.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try write { db in
            for p in paths {
                try db.execute(sql: """
                    INSERT INTO job (path, reason, enqueuedAt) VALUES (?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET requeued = 1, reason = excluded.reason WHERE startedAt IS NOT NULL
                    """, arguments: [p, reason, now])
            }
        }
    }

    /// A job's work is stored: the job is deleted, or, when its file changed
    /// while it ran (`requeued`), put back in the queue as a fresh job.
    static func complete(jobID: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM job WHERE id = ? AND requeued = 0").execute(arguments: [jobID])
        try retry(jobID: jobID, db)   // still there: it was requeued
    }

    /// Takes up to `limit` jobs in queue order, marking them started. A job
    /// that was interrupted before (attempts > 0: the daemon died while it was
    /// in a batch) is taken alone, so a file that crashes the indexer is
    /// singled out and innocent files of its batch do not pay for it. With
    /// `sharedBy` workers, a short queue is split evenly rather than taken
    /// whole by the first worker.
    public func claimJobs(limit: Int, sharedBy workers: Int = 1) throws -> [Job] {
        try write { db in
            guard let head = try Row.fetchOne(db, sql: "SELECT attempts FROM job WHERE startedAt IS NULL ORDER BY id LIMIT 1") else { return [] }
            let retried = (head["attempts"] as Int) > 0
            var limit = limit
            if workers > 1, limit > 1 {
                let waiting = try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE startedAt IS NULL") ?? 0
                limit = min(limit, (waiting + workers - 1) / workers)
            }
            let rows = try Row.fetchAll(db, sql: retried
                ? "SELECT id, path, reason, attempts FROM job WHERE startedAt IS NULL ORDER BY id LIMIT 1"
                : "SELECT id, path, reason, attempts FROM job WHERE startedAt IS NULL AND attempts = 0 ORDER BY id LIMIT ?",
                arguments: retried ? [] : [max(1, limit)])
            let now = Date().timeIntervalSince1970
            var jobs: [Job] = []
            for r in rows {
                let job = Job(id: r["id"], path: r["path"], reason: r["reason"], attempts: (r["attempts"] as Int) + 1)
                try db.cachedStatement(sql: "UPDATE job SET startedAt = ?, attempts = ? WHERE id = ?").execute(arguments: [now, job.attempts, job.id])
                jobs.append(job)
            }
            return jobs
        }
    }

    /// Puts a claimed job back (e.g. on shutdown before it ran).
    public func release(_ jobs: [Job]) throws {
        try write { db in
            for j in jobs {
                try db.execute(sql: "UPDATE job SET startedAt = NULL, attempts = max(attempts - 1, 0) WHERE id = ?", arguments: [j.id])
            }
        }
    }

    /// After a crash: jobs found started are retried, unless they have been
    /// started `maxAttempts` times, in which case the file is recorded as
    /// failed. Returns the paths given up on.
    @discardableResult
    public func recoverInterruptedJobs() throws -> [String] {
        try write { db in
            var givenUp: [String] = []
            for r in try Row.fetchAll(db, sql: "SELECT id, path, attempts FROM job WHERE startedAt IS NOT NULL") {
                let (id, path, attempts): (Int64, String, Int) = (r["id"], r["path"], r["attempts"])
                if attempts >= Self.maxAttempts {
                    let st = FileStat.of(path)
                    try Self.upsert(IndexedFile(path: path, contentHash: nil, size: st?.size ?? 0, mtimeNs: st?.mtimeNs ?? 0,
                                                error: "\(path): indexing it stopped the daemon \(attempts) times; skipped until the file changes"), db)
                    try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
                    givenUp.append(path)
                } else {
                    try db.execute(sql: "UPDATE job SET startedAt = NULL WHERE id = ?", arguments: [id])
                }
            }
            return givenUp
        }
    }

    public func queuedCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM job") ?? 0 }
    }

    // MARK: Watches

    public func addWatch(_ path: String) throws {
        try write { db in
            try db.execute(sql: "INSERT INTO watch (path, addedAt) VALUES (?, ?) ON CONFLICT(path) DO NOTHING",
                           arguments: [path, Date().timeIntervalSince1970])
        }
    }

    public func removeWatch(_ path: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM watch WHERE path = ?", arguments: [path]) }
    }

    public func watches() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT path FROM watch ORDER BY path") }
    }
}

/// Size and modification time of a regular file.
public struct FileStat: Sendable, Equatable {
    public var size: Int64
    public var mtimeNs: Int64

    public static func of(_ path: String) -> FileStat? {
        guard let st = try? Syscalls.status(path), st.kind == .regular else { return nil }
        return FileStat(size: st.size, mtimeNs: st.modifiedNs)
    }
}
