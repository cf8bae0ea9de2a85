import Foundation
import RevsdSystem

/// Reads prompt corpora a user imports into the prompt bank (`revsdctl
/// prompts import FILE`): plain text (one prompt per line), CSV or TSV with a
/// prompt column, JSON Lines, and DiffusionDB part files
/// (`part-000001.json`: `{"image.png": {"p": prompt, …}, …}`).
/// Prompts are trimmed, empty ones dropped, duplicates kept once (first
/// occurrence order). A malformed file gives one error naming it and, where
/// it applies, the line.
public enum PromptCorpus {
    public enum Format: String, Sendable, CaseIterable {
        case text, csv, tsv, jsonl, diffusionDB = "diffusiondb"
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let line: Int?
        public let reason: String
        public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
        public init(path: String, line: Int?, reason: String) { self.path = path; self.line = line; self.reason = reason }
    }

    /// Longest prompt kept (characters); longer lines are cut there. MiniLM
    /// reads 256 tokens at most, so nothing useful is lost.
    public static let maxPromptCharacters = 4_000
    /// Largest file read (bytes).
    public static let maxFileBytes = 2 << 30

    /// The format a file's name says (`.txt`, `.csv`, `.tsv`, `.jsonl`/`.ndjson`,
    /// `part-*.json` or any `.json` holding a DiffusionDB table).
    public static func format(of path: String) -> Format? {
        let name = (path as NSString).lastPathComponent.lowercased()
        switch (name as NSString).pathExtension {
        case "txt", "text", "prompts": return .text
        case "csv": return .csv
        case "tsv", "tab": return .tsv
        case "jsonl", "ndjson": return .jsonl
        case "json": return .diffusionDB
        default: return nil
        }
    }

    /// Reads the prompts of `path`. `column` picks the CSV/TSV column or JSON
    /// key by name; by default the first of prompt, text, caption, p.
    public static func read(path: String, format: Format? = nil, column: String? = nil) throws(Failure) -> [String] {
        guard let format = format ?? Self.format(of: path) else {
            throw Failure(path: path, line: nil, reason: "unknown corpus format (use .txt, .csv, .tsv, .jsonl or a DiffusionDB part .json, or say --format)")
        }
        let data: Data
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxFileBytes else { throw Failure(path: path, line: nil, reason: "file is \(size) bytes, over the \(maxFileBytes)-byte limit") }
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch let f as Failure {
            throw f
        } catch {
            throw Failure(path: path, line: nil, reason: "cannot read: \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure(path: path, line: nil, reason: "not UTF-8 text")
        }
        return try parse(text, format: format, column: column, path: path)
    }

    /// Parses corpus text (testable without files).
    public static func parse(_ text: String, format: Format, column: String? = nil, path: String = "<text>") throws(Failure) -> [String] {
        var prompts = Collector()
        switch format {
        case .text:
            for line in lines(text) { prompts.add(line.text) }
        case .csv, .tsv:
            let rows = try DelimitedRows.parse(text, separator: format == .csv ? "," : "\t", quoted: format == .csv, path: path)
            guard let header = rows.first else { return [] }
            let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            let wanted = column.map { [$0.lowercased()] } ?? ["prompt", "text", "caption", "p"]
            guard let col = wanted.lazy.compactMap({ names.firstIndex(of: $0) }).first else {
                throw Failure(path: path, line: 1, reason: "no prompt column in the header (looked for \(wanted.joined(separator: ", ")); name one with --column")
            }
            for row in rows.dropFirst() where col < row.fields.count { prompts.add(row.fields[col]) }
        case .jsonl:
            let keys = column.map { [$0] } ?? ["prompt", "text", "caption", "p"]
            for line in lines(text) {
                let t = line.text.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { continue }
                guard let v = try? JSONSerialization.jsonObject(with: Data(t.utf8), options: [.fragmentsAllowed]) else {
                    throw Failure(path: path, line: line.number, reason: "not a JSON value")
                }
                if let s = v as? String { prompts.add(s); continue }
                guard let o = v as? [String: Any] else { throw Failure(path: path, line: line.number, reason: "expected a JSON object or string") }
                guard let s = keys.lazy.compactMap({ o[$0] as? String }).first else {
                    throw Failure(path: path, line: line.number, reason: "no \(keys.map { "\"\($0)\"" }.joined(separator: "/")) string in the object")
                }
                prompts.add(s)
            }
        case .diffusionDB:
            guard let v = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let table = v as? [String: Any] else {
                throw Failure(path: path, line: nil, reason: "not a JSON object (a DiffusionDB part file maps image names to {\"p\": prompt, …})")
            }
            let key = column ?? "p"
            for name in table.keys.sorted() {
                guard let entry = table[name] as? [String: Any] else {
                    throw Failure(path: path, line: nil, reason: "entry \"\(name)\" is not an object")
                }
                if let s = entry[key] as? String { prompts.add(s) }
            }
        }
        return prompts.prompts
    }

    /// Lines with their 1-based numbers; "\n", "\r\n" and a lone "\r" each end a line.
    static func lines(_ text: String) -> [(number: Int, text: String)] {
        TextInput.split(text).enumerated().map { (number: $0.offset + 1, text: String($0.element)) }
    }

    struct Collector {
        var prompts: [String] = []
        var seen = Set<String>()
        mutating func add(_ s: String) {
            var t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty { return }
            if t.count > PromptCorpus.maxPromptCharacters { t = String(t.prefix(PromptCorpus.maxPromptCharacters)) }
            if seen.insert(t).inserted { prompts.append(t) }
        }
    }
}

/// RFC 4180 rows: quoted fields may hold separators, doubled quotes and line
/// breaks. TSV (as written by spreadsheets and pandas without quoting) takes
/// fields literally.
struct DelimitedRows {
    var fields: [String]
    var line: Int

    static func parse(_ text: String, separator: Character, quoted: Bool, path: String) throws(PromptCorpus.Failure) -> [DelimitedRows] {
        var rows: [DelimitedRows] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1, rowStart = 1
        var atFieldStart = true
        var chars = Array(text.unicodeScalars)
        if chars.last != "\n" { chars.append("\n") }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { field.unicodeScalars.append("\""); i += 1 } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if quoted && c == "\"" && atFieldStart {
                inQuotes = true
            } else if Character(c) == separator {
                fields.append(field); field = ""; atFieldStart = true; i += 1; continue
            } else if c == "\n" || c == "\r" {
                if c == "\r", i + 1 < chars.count, chars[i + 1] == "\n" { i += 1 }
                fields.append(field); field = ""
                if !(fields.count == 1 && fields[0].isEmpty) { rows.append(DelimitedRows(fields: fields, line: rowStart)) }
                fields = []; line += 1; rowStart = line; atFieldStart = true; i += 1; continue
            } else {
                field.unicodeScalars.append(c)
            }
            atFieldStart = false
            i += 1
        }
        if inQuotes { throw PromptCorpus.Failure(path: path, line: rowStart, reason: "a quoted field is never closed") }
        return rows
    }
}
