/// A parsed JSON value that keeps the order of object keys (ComfyUI graphs are
/// read in document order) and the literal text of numbers (seeds exceed what
/// a Double holds exactly).
indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, e.g. "1106257833005336" or "7.5".
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var object: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// A number, or a string holding one ("7.5", "-1").
    var double: Double? {
        switch self {
        case .number(let n): return Double(n)
        case .string(let s): return Double(s.trimmingWhitespaceAndNUL)
        default: return nil
        }
    }

    /// An integral number (or string holding one) that fits an Int.
    var int: Int? {
        switch self {
        case .number(let n), .string(let n):
            let t = n.trimmingWhitespaceAndNUL
            if let i = Int(t) { return i }
            if let d = Double(t), d.rounded() == d, abs(d) < 9.0e18 { return Int(d) }
            return nil
        default: return nil
        }
    }

    /// A non-negative integer (or string holding one) that fits a UInt64.
    var uint64: UInt64? {
        switch self {
        case .number(let n), .string(let n):
            let t = n.trimmingWhitespaceAndNUL
            if let u = UInt64(t) { return u }
            if let d = Double(t), d >= 0, d.rounded() == d, d < 1.8e19 { return UInt64(d) }
            return nil
        default: return nil
        }
    }

    /// Text for a scalar: strings as they are, numbers as written.
    var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }
}

/// A JSON object with its keys in document order. A repeated key keeps its
/// first position and its last value.
struct JSONObject: Equatable, Sendable {
    private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    subscript(key: String) -> JSONValue? { values[key] }

    mutating func set(_ key: String, _ value: JSONValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    var entries: [(key: String, value: JSONValue)] { keys.compactMap { k in values[k].map { (k, $0) } } }
    var isEmpty: Bool { keys.isEmpty }

    /// The value of the first key that matches one of `names` once both are
    /// lower-cased with spaces, "_" and "-" removed ("CFG scale" = "cfg_scale").
    func loose(_ names: [String]) -> JSONValue? {
        let wanted = names.map(JSONObject.looseKey)
        for name in wanted {
            for k in keys where JSONObject.looseKey(k) == name {
                if let v = values[k], v != .null { return v }
            }
        }
        return nil
    }

    static func looseKey(_ k: String) -> String {
        String(k.lowercased().unicodeScalars.filter { $0 != " " && $0 != "_" && $0 != "-" })
    }
}

extension String {
    /// Without leading and trailing whitespace (newlines included) and NUL
    /// bytes, which writers of metadata chunks leave around their text.
    var trimmingWhitespaceAndNUL: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace || f == "\0" { s.removeFirst() }
        while let l = s.last, l.isWhitespace || l == "\0" { s.removeLast() }
        return String(s)
    }
}
