import GRDB

extension IndexStore {
    /// How many values one `IN (…)` binds (SQLite's default limit is 32,766
    /// parameters; smaller statements keep each step short).
    static let valuesPerStatement = 500

    /// Runs `sql(marks)` once per chunk of `values`, `marks` being the
    /// chunk's placeholders ("?,?,…") for an `IN (…)`, with `leading`
    /// arguments bound before the chunk's, and hands each row to `body`.
    static func forEachRow<V: DatabaseValueConvertible>(_ db: Database, in values: [V], leading: [any DatabaseValueConvertible] = [],
                                                         _ sql: (_ marks: String) -> String, _ body: (Row) throws -> Void) throws {
        for start in stride(from: 0, to: values.count, by: valuesPerStatement) {
            let part = values[start..<min(values.count, start + valuesPerStatement)]
            let marks = part.map { _ in "?" }.joined(separator: ",")
            let arguments = StatementArguments(leading.map(\.databaseValue) + part.map(\.databaseValue))
            for row in try Row.fetchAll(db, sql: sql(marks), arguments: arguments) { try body(row) }
        }
    }
}
