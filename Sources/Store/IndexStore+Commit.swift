import Foundation
import GRDB
import RevsdSystem

/// A worker's result is committed against its job as the job is *now*, not
/// as it was when the worker claimed it. The job row is the worker's lease
/// on a path: while the file is read and analysed, the watcher may delete
/// the job (the file was deleted, its folder unwatched), rewrite its path
/// (the file or a folder above it moved), or mark it `requeued` (the file
/// changed again). Committing by the claimed path instead recreated records
/// of deleted files, kept old paths after a folder move, and left jobs whose
/// path had moved started for ever (the soak findings in bench/RESULTS.md).
extension IndexStore {
    /// What became of a worker's result.
    public enum Commit: Sendable, Equatable {
        /// Stored at `path`: the job's path now (the claimed one, or where
        /// the file moved to meanwhile, when it is still the file that was read).
        case stored(id: Int64, path: String)
        /// Not stored: the job is gone (the file was deleted, or its folder
        /// is no longer watched, while it was being read).
        case dropped
        /// Not stored: the file moved meanwhile and what is at its new path is
        /// not what was read (or reading it failed because it moved); the job
        /// is queued again under its new path.
        case retried
    }

    /// Stores a result (success or failure) as it is, with no job.
    @discardableResult
    public func store(_ f: IndexedFile) throws -> Int64 {
        try write { db in try Self.upsert(f, db) }
    }

    /// Stores a worker's result against its job as the job is now (see
    /// `Commit`); the job completes in the same transaction.
    @discardableResult
    public func store(_ f: IndexedFile, completing job: Job) throws -> Commit {
        try write { db in try Self.commit(f, for: job, db) }
    }

    /// Stores a batch of results against their jobs, in one transaction.
    @discardableResult
    public func store(batch: [(file: IndexedFile, job: Job)]) throws -> [Commit] {
        guard !batch.isEmpty else { return [] }
        return try write { db in try batch.map { try Self.commit($0.file, for: $0.job, db) } }
    }

    /// Drops a job whose file needs no work (unchanged), unless the file
    /// changed meanwhile (see `complete`). A record moved with its file
    /// moved with the job.
    public func finish(_ job: Job) throws {
        try write { db in try Self.complete(jobID: job.id, db) }
    }

    /// A job whose file was not there when its worker looked. Its record is
    /// left alone: removals are the watcher's (the delete or move event, or
    /// the reconciliation after an overflow), because a file missing at its
    /// path may have moved with its folder, whose event is still on its way.
    /// Except for a reindex, where the user asked for the disk's word: the
    /// record of a file missing from a folder that is still there goes (a
    /// file moved on its own is queued at its destination, which has no
    /// record); when the folder is not there either, it may have moved,
    /// and the record waits for its event as above. The job completes, or,
    /// when its path changed meanwhile, is queued again under the new one.
    @discardableResult
    public func settleMissing(_ job: Job) throws -> Commit {
        try write { db in
            guard let current = try Self.currentPath(of: job, db) else { return .dropped }
            if current != job.path { try Self.retry(jobID: job.id, db); return .retried }
            if job.isReindex, (try? Syscalls.status(Paths.parent(of: job.path)))?.kind == .directory {
                try db.execute(sql: "DELETE FROM image WHERE path = ?", arguments: [job.path])
            }
            try Self.complete(jobID: job.id, db)
            return .dropped
        }
    }

    static func currentPath(of job: Job, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT path FROM job WHERE id = ?"), arguments: [job.id])
    }

    static func commit(_ f: IndexedFile, for job: Job, _ db: Database) throws -> Commit {
        guard let current = try currentPath(of: job, db) else { return .dropped }
        var f = f
        if current != job.path {
            // Moved (a rename keeps size and mtime): still the file that was
            // read, so its result holds at the new path. Anything else is
            // looked at again there.
            guard f.error == nil, let st = FileStat.of(current), st.size == f.size, st.mtimeNs == f.mtimeNs else {
                try retry(jobID: job.id, db)
                return .retried
            }
            f.path = current
        }
        let id = try upsert(f, db)
        try complete(jobID: job.id, db)
        return .stored(id: id, path: f.path)
    }

    /// Puts a started job back in the queue as a fresh one.
    static func retry(jobID: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE job SET startedAt = NULL, attempts = 0, requeued = 0 WHERE id = ?").execute(arguments: [jobID])
    }
}
