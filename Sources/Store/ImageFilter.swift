import GRDB
import Learning

/// The filters a library listing (`images`) and a search share, as SQL over
/// the `image` table (or an alias of it, for a correlated subquery): one
/// place that says what "model", "sampler", "since" … mean.
public struct ImageFilter: Sendable, Equatable {
    /// Only files at or under this folder (PathScope: by bytes, index-backed).
    public var folder: String?
    public var hasPrompt: Bool?
    /// Checkpoint name prefix, as stored in the metadata (ASCII case-insensitive).
    public var model: String?
    /// Sampler name, exactly (ASCII case-insensitive).
    public var sampler: String?
    /// File mtime bounds, seconds since the epoch (since inclusive, until exclusive).
    public var since: Double?
    public var until: Double?
    public var tier: Tier?

    public init(folder: String? = nil, hasPrompt: Bool? = nil, model: String? = nil, sampler: String? = nil,
                since: Double? = nil, until: Double? = nil, tier: Tier? = nil) {
        self.folder = folder; self.hasPrompt = hasPrompt; self.model = model; self.sampler = sampler
        self.since = since; self.until = until; self.tier = tier
    }

    /// The conditions (ANDed) on the columns of `table`, and their arguments
    /// in order. Indexed images only.
    func clauses(table t: String = "image") -> (sql: [String], arguments: [DatabaseValue]) {
        var sql = ["\(t).status = 'indexed'"]
        var args: [DatabaseValue] = []
        if let folder {
            let scope = PathScope.sameOrInside(folder, column: "\(t).path")
            sql.append(scope.sql); args += scope.arguments.map(\.databaseValue)
        }
        if let hasPrompt { sql.append(hasPrompt ? "\(t).prompt IS NOT NULL" : "\(t).prompt IS NULL") }
        if let since { sql.append("\(t).mtimeNs >= ?"); args.append(Int64(since * 1e9).databaseValue) }
        if let until { sql.append("\(t).mtimeNs < ?"); args.append(Int64(until * 1e9).databaseValue) }
        if let model {
            // The metadata's JSON holds `"model":"<name>"`: a prefix of the name
            // (a quote in the filter could only end the value early: dropped).
            sql.append("\(t).metadataJSON LIKE ?")
            args.append(("%\"model\":\"" + model.replacingOccurrences(of: "\"", with: "") + "%").databaseValue)
        }
        if let sampler { sql.append("json_extract(\(t).metadataJSON, '$.sampler') = ? COLLATE NOCASE"); args.append(sampler.databaseValue) }
        if let tier { sql.append("\(t).tier = ?"); args.append(tier.rawValue.databaseValue) }
        return (sql, args)
    }
}
