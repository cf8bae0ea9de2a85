import Foundation
import GRDB
import Synchronization

/// The index: one SQLite database (WAL, through GRDB) holding every image
/// revsd knows, its embeddings, the watched folders and a persistent job
/// queue. One writer, a pool of readers.
///
/// Crash safety: a job is marked started (attempts + 1) in its own
/// transaction before work begins, and its result is written together with
/// the job's deletion in one transaction. After `kill -9`, a job found
/// started is retried, and after `maxAttempts` starts it is recorded as
/// failed ("crashed the indexer") instead of crashing it forever.
public final class IndexStore: Sendable {
    public static let maxAttempts = 3

    public let path: String
    let pool: DatabasePool
    /// The counts of `status`, as the triggers of `index_counts` keep them:
    /// read at open, refreshed inside every write transaction and published
    /// when it commits, so reading them never touches the database.
    let cachedCounts = Mutex(StoredCounts())
    /// Where committed changes of search rows go (the search matrix); see
    /// `observeSearchRows`.
    let searchSink = Mutex<(@Sendable (SearchRowsChange) -> Void)?>(nil)

    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.label = "revsd-index"
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
            let mode = try pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
            guard mode?.lowercased() == "wal" else { throw StoreError.notWAL(path: path, mode: mode ?? "?") }
            let counts = try pool.read(Self.storedCounts)
            cachedCounts.withLock { $0 = counts }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.database(path: path, reason: "\(error)")
        }
    }

    /// Every write goes through here: after `body`, in the same transaction,
    /// the counts are re-read and the search rows it changed are collected;
    /// both are published once the transaction commits, while the writer is
    /// still held, so the search matrix sees changes in commit order.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write { db in
                let result = try body(db)
                try publishAfterCommit(db)
                return result
            }
        } catch let e as StoreError { throw e } catch {
            throw StoreError.database(path: path, reason: "\(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let e as StoreError { throw e } catch {
            throw StoreError.database(path: path, reason: "\(error)")
        }
    }
}

public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case database(path: String, reason: String)
    case notWAL(path: String, mode: String)

    public var description: String {
        switch self {
        case let .database(path, reason): return "\(path): database error: \(reason)"
        case let .notWAL(path, mode): return "\(path): journal mode is \(mode), expected WAL (is the file on a filesystem without shared memory?)"
        }
    }
}
