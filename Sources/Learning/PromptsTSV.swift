import Foundation

/// `prompts.tsv`: file<TAB>prompt per line after a header; "\n", "\t" and
/// "\\" escapes in the prompt. Line breaks as `TextInput.split` takes them
/// (a CRLF file from a spreadsheet reads as its lines).
public enum PromptsTSV {
    public static func read(path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (number, line) in try PromptCorpus.parse(String(contentsOfFile: path, encoding: .utf8), format: .text, path: path).enumerated()
        where number > 0 || !line.lowercased().hasPrefix("file\t") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { throw PromptCorpus.Failure(path: path, line: nil, reason: "a line without a tab: \(line.prefix(60))") }
            out[String(parts[0])] = String(parts[1]).replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
                .replacingOccurrences(of: "\\\\", with: "\\")
        }
        return out
    }
}
