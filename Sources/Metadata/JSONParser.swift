/// A small JSON parser for metadata: bounded input size and nesting depth,
/// ordered objects, and lenient where real files are (NaN/Infinity, NUL
/// padding and whitespace after the value).
struct JSONParser {
    private let b: [UInt8]
    private var i = 0
    private let maxDepth: Int
    private var valuesLeft = MetadataLimits.jsonValues

    /// Parses `text`, which must hold one JSON value.
    static func parse(_ text: String, maxDepth: Int = MetadataLimits.jsonDepth) throws(MetadataError) -> JSONValue {
        let bytes = Array(text.utf8)
        guard bytes.count <= MetadataLimits.jsonBytes else { throw .tooLarge("JSON text", limit: MetadataLimits.jsonBytes) }
        var p = JSONParser(b: bytes, maxDepth: maxDepth)
        let v = try p.value(depth: 0)
        p.skipSpace()
        while p.i < p.b.count, p.b[p.i] == 0 { p.i += 1; p.skipSpace() }
        guard p.i == p.b.count else { throw .invalidJSON("unexpected data after the value at byte \(p.i)") }
        return v
    }

    /// Parses `text` when it looks like a JSON object; nil when it is not JSON.
    static func object(_ text: String) throws(MetadataError) -> JSONObject? {
        guard text.trimmingWhitespaceAndNUL.hasPrefix("{") else { return nil }
        return try parse(text).object
    }

    private init(b: [UInt8], maxDepth: Int) { self.b = b; self.maxDepth = maxDepth }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private func fail(_ what: String) -> MetadataError { .invalidJSON("\(what) at byte \(i)") }

    private mutating func value(depth: Int) throws(MetadataError) -> JSONValue {
        guard depth < maxDepth else { throw .nestingTooDeep(limit: maxDepth) }
        valuesLeft -= 1
        guard valuesLeft >= 0 else { throw .invalidJSON("more than \(MetadataLimits.jsonValues) values") }
        skipSpace()
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"): return .object(try object(depth: depth))
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected , or ]")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"): try literal("NaN"); return .number("nan")
        case UInt8(ascii: "I"): try literal("Infinity"); return .number("inf")
        default: return .number(try number())
        }
    }

    private mutating func object(depth: Int) throws(MetadataError) -> JSONObject {
        i += 1
        var o = JSONObject()
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return o }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let k = try string()
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected :") }
            i += 1
            o.set(k, try value(depth: depth + 1))
            skipSpace()
            guard i < b.count else { throw fail("unterminated object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return o }
            throw fail("expected , or }")
        }
    }

    private mutating func literal(_ word: String) throws(MetadataError) {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<(i + w.count)]) == w else { throw fail("unexpected character") }
        i += w.count
    }

    private mutating func number() throws(MetadataError) -> String {
        let start = i
        if i < b.count, b[i] == UInt8(ascii: "-") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "I") { try literal("Infinity"); return "-inf" }
        }
        while i < b.count, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e")
                || b[i] == UInt8(ascii: "E") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            i += 1
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        guard i > start, Double(text) != nil else { throw fail("bad number") }
        return text
    }

    private mutating func hex4() throws(MetadataError) -> UInt16 {
        guard i + 4 <= b.count, let v = UInt16(String(decoding: b[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }

    private mutating func string() throws(MetadataError) -> String {
        i += 1
        var out: [UInt8] = []
        var runStart = i
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                out += b[runStart..<i]
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            guard c == UInt8(ascii: "\\") else { i += 1; continue }
            out += b[runStart..<i]
            i += 1
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try hex4())
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = UInt32(try hex4())
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out += Array(String(Character(s)).utf8)
            default: out.append(e)   // \" \\ \/ and, leniently, anything else
            }
            runStart = i
        }
    }
}
