import RevsdSystem

/// A reader for the part of TOML that revsd's configuration uses: comments,
/// `[table]` headers, `key = value` with basic and literal strings,
/// integers, floats, booleans and (multi-line) arrays of those. Anything
/// else is refused with the line number and the reason, never guessed at.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
}

/// A value with the line it was written on, for error messages.
public struct TOMLEntry: Equatable, Sendable {
    public let value: TOMLValue
    public let line: Int
}

public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let line: Int
    public let reason: String
    public var description: String { "line \(line): \(reason)" }
}

public enum TOMLSubset {
    /// Table name ("" for the top level) → key → value.
    public static func parse(_ text: String) throws(TOMLError) -> [String: [String: TOMLEntry]] {
        var tables: [String: [String: TOMLEntry]] = ["": [:]]
        var current = ""
        let lines = TextInput.split(text)
        var i = 0
        while i < lines.count {
            let number = i + 1
            var line = lines[i]
            i += 1
            line = line.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.first == "#" { continue }
            if line.first == "[" {
                guard !line.hasPrefix("[[") else { throw TOMLError(line: number, reason: "arrays of tables are not supported") }
                guard let close = line.firstIndex(of: "]") else { throw TOMLError(line: number, reason: "unterminated table header") }
                let name = line[line.index(after: line.startIndex)..<close].trimmingTOMLWhitespace
                let rest = line[line.index(after: close)...].trimmingTOMLWhitespace
                guard rest.isEmpty || rest.first == "#" else { throw TOMLError(line: number, reason: "unexpected text after the table header") }
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }) else {
                    throw TOMLError(line: number, reason: "invalid table name '\(name)'")
                }
                guard tables[name] == nil else { throw TOMLError(line: number, reason: "table [\(name)] is defined twice") }
                tables[name] = [:]
                current = name
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw TOMLError(line: number, reason: "expected key = value") }
            var key = line[..<eq].trimmingTOMLWhitespace
            if key.count >= 2, key.first == "\"", key.last == "\"" { key = String(key.dropFirst().dropLast()) }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw TOMLError(line: number, reason: "invalid key '\(key)'")
            }
            var valueText = String(line[line.index(after: eq)...])
            // Arrays may span lines until their closing bracket.
            if valueText.trimmingTOMLWhitespace.hasPrefix("[") {
                while !Self.arrayIsClosed(valueText) {
                    guard i < lines.count else { throw TOMLError(line: number, reason: "unterminated array") }
                    valueText += "\n" + lines[i]
                    i += 1
                }
            }
            var scanner = Scanner(text: Array(valueText.unicodeScalars), line: number)
            let value = try scanner.value()
            try scanner.endOfLine()
            guard tables[current]?[key] == nil else { throw TOMLError(line: number, reason: "key '\(key)' is defined twice") }
            tables[current, default: [:]][key] = TOMLEntry(value: value, line: number)
        }
        return tables
    }

    static func arrayIsClosed(_ s: String) -> Bool {
        var depth = 0, inString: Unicode.Scalar? = nil, escaped = false, comment = false
        for c in s.unicodeScalars {
            if comment { if c == "\n" { comment = false }; continue }
            if let q = inString {
                if escaped { escaped = false } else if c == "\\" && q == "\"" { escaped = true } else if c == q { inString = nil }
                continue
            }
            switch c {
            case "\"", "'": inString = c
            case "#": comment = true
            case "[": depth += 1
            case "]": depth -= 1; if depth == 0 { return true }
            default: break
            }
        }
        return false
    }

    struct Scanner {
        let text: [Unicode.Scalar]
        var line: Int
        var i = 0

        init(text: [Unicode.Scalar], line: Int) { self.text = text; self.line = line }

        func fail(_ r: String) -> TOMLError { TOMLError(line: line, reason: r) }

        mutating func skipSpace(newlines: Bool = false) {
            while i < text.count {
                let c = text[i]
                if c == " " || c == "\t" || (newlines && (c == "\n" || c == "\r")) { i += 1; if c == "\n" { line += 1 }; continue }
                if newlines && c == "#" { while i < text.count && text[i] != "\n" { i += 1 }; continue }
                break
            }
        }

        mutating func endOfLine() throws(TOMLError) {
            skipSpace()
            if i < text.count && text[i] != "#" { throw fail("unexpected text after the value") }
        }

        mutating func value() throws(TOMLError) -> TOMLValue {
            skipSpace()
            guard i < text.count else { throw fail("missing value") }
            switch text[i] {
            case "\"": return .string(try basicString())
            case "'": return .string(try literalString())
            case "[":
                i += 1
                var items: [TOMLValue] = []
                while true {
                    skipSpace(newlines: true)
                    guard i < text.count else { throw fail("unterminated array") }
                    if text[i] == "]" { i += 1; return .array(items) }
                    items.append(try value())
                    skipSpace(newlines: true)
                    guard i < text.count else { throw fail("unterminated array") }
                    if text[i] == "," { i += 1; continue }
                    if text[i] == "]" { i += 1; return .array(items) }
                    throw fail("expected ',' or ']' in array")
                }
            case "{": throw fail("inline tables are not supported")
            default:
                var word = ""
                while i < text.count, !" \t#,]\n".unicodeScalars.contains(text[i]) { word.unicodeScalars.append(text[i]); i += 1 }
                if word == "true" { return .bool(true) }
                if word == "false" { return .bool(false) }
                let digits = word.replacingOccurrences(of: "_", with: "")
                if let n = Int(digits) { return .integer(n) }
                if let d = Double(digits), digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .float(d) }
                throw fail("invalid value '\(word)' (strings need quotes)")
            }
        }

        mutating func basicString() throws(TOMLError) -> String {
            if i + 2 < text.count && text[i + 1] == "\"" && text[i + 2] == "\"" { throw fail("multi-line strings are not supported") }
            i += 1
            var out = ""
            while i < text.count {
                let c = text[i]; i += 1
                switch c {
                case "\"": return out
                case "\n": throw fail("unterminated string")
                case "\\":
                    guard i < text.count else { throw fail("unterminated string") }
                    let e = text[i]; i += 1
                    switch e {
                    case "\"": out += "\""
                    case "\\": out += "\\"
                    case "n": out += "\n"
                    case "t": out += "\t"
                    case "r": out += "\r"
                    case "u", "U":
                        let n = e == "u" ? 4 : 8
                        guard i + n <= text.count, let v = UInt32(String(String.UnicodeScalarView(text[i..<(i + n)])), radix: 16),
                              let s = Unicode.Scalar(v) else { throw fail("invalid \\\(e) escape") }
                        out.unicodeScalars.append(s); i += n
                    default: throw fail("invalid escape \\\(e)")
                    }
                default: out.unicodeScalars.append(c)
                }
            }
            throw fail("unterminated string")
        }

        mutating func literalString() throws(TOMLError) -> String {
            i += 1
            var out = ""
            while i < text.count {
                let c = text[i]; i += 1
                if c == "'" { return out }
                if c == "\n" { break }
                out.unicodeScalars.append(c)
            }
            throw fail("unterminated string")
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing TOML whitespace (space and tab only).
    fileprivate var trimmingTOMLWhitespace: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
