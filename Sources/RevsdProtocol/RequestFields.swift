/// Strict reading of request fields: a field of the wrong type is a
/// `bad_request` that names it, never silently ignored. A missing or null
/// optional field is absent; fields this daemon does not know are ignored
/// (a newer client may send them).
protocol RequestField: Decodable {
    /// How a message says what the field must hold ("a number").
    static var expected: String { get }
    /// How a message names a missing field of this type ("a "path" string").
    static var noun: String { get }
    /// True for a value that counts as missing where the field is required ("").
    var isBlank: Bool { get }
}

extension RequestField {
    var isBlank: Bool { false }
}

extension String: RequestField {
    static var expected: String { "a string" }
    static var noun: String { "string" }
    var isBlank: Bool { isEmpty }
}

extension Bool: RequestField {
    static var expected: String { "true or false" }
    static var noun: String { "boolean" }
}

extension Int: RequestField {
    static var expected: String { "an integer" }
    static var noun: String { "integer" }
}

extension Double: RequestField {
    static var expected: String { "a number" }
    static var noun: String { "number" }
}

extension Array: RequestField where Element == String {
    static var expected: String { "an array of strings" }
    static var noun: String { "array of strings" }
}

extension Tier: RequestField {
    static var expected: String { "easy, medium or hard" }
    static var noun: String { "tier" }
}

extension KeyedDecodingContainer {
    /// The field at `key`; nil when missing or null; `bad_request` naming
    /// the field when it holds something else.
    func field<T: RequestField>(_ key: Key, must expected: String = T.expected) throws(ControlError) -> T? {
        do { return try decodeIfPresent(T.self, forKey: key) } catch {
            throw ControlError(.badRequest, "\"\(key.stringValue)\" must be \(expected)")
        }
    }

    /// A field `op` cannot do without (an empty string counts as missing).
    func required<T: RequestField>(_ key: Key, of op: Operation) throws(ControlError) -> T {
        let value: T? = try field(key)
        guard let value, !value.isBlank else {
            throw ControlError(.badRequest, "'\(op.rawValue)' needs a \"\(key.stringValue)\" \(T.noun)")
        }
        return value
    }

    /// How many results (`k`, a page's `limit`): 1…`max`, `default` when missing.
    func limit(_ key: Key, max: Int = 1000, default fallback: Int = 10) throws(ControlError) -> Int {
        let k: Int? = try field(key, must: "an integer from 1 to \(max)")
        guard let k else { return fallback }
        guard (1...max).contains(k) else { throw ControlError(.badRequest, "\"\(key.stringValue)\" must be an integer from 1 to \(max) (got \(k))") }
        return k
    }

    /// How many to skip (a page's `offset`): at least 0, 0 when missing.
    func offset(_ key: Key) throws(ControlError) -> Int {
        let n: Int? = try field(key, must: "an integer of at least 0")
        guard let n else { return 0 }
        guard n >= 0 else { throw ControlError(.badRequest, "\"\(key.stringValue)\" must be an integer of at least 0 (got \(n))") }
        return n
    }
}
