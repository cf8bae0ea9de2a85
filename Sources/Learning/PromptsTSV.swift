import Foundation

/// `prompts.tsv`: file<TAB>prompt per line after a header; `\\`, `\t`, `\n`
/// and `\r` escapes in both fields (as `SyntheticLibrary.writePromptsTSV`
/// writes them). Line breaks as `TextInput.split` takes them
/// (a CRLF file from a spreadsheet reads as its lines).
public enum PromptsTSV {
    public static func read(path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (number, line) in try PromptCorpus.parse(String(contentsOfFile: path, encoding: .utf8), format: .text, path: path).enumerated()
        where number > 0 || !line.lowercased().hasPrefix("file\t") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { throw PromptCorpus.Failure(path: path, line: nil, reason: "a line without a tab: \(line.prefix(60))") }
            out[unescaped(parts[0])] = unescaped(parts[1])
        }
        return out
    }

    /// Undoes the escapes in one pass, left to right: `\\n` is a backslash
    /// and an "n", not a backslash and a line break. An unknown escape is
    /// kept as written.
    static func unescaped(_ field: Substring) -> String {
        var out = ""
        var pendingBackslash = false
        for ch in field {
            if pendingBackslash {
                switch ch {
                case "\\": out.append("\\")
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                default: out.append("\\"); out.append(ch)
                }
                pendingBackslash = false
            } else if ch == "\\" {
                pendingBackslash = true
            } else {
                out.append(ch)
            }
        }
        if pendingBackslash { out.append("\\") }
        return out
    }
}
