import Foundation

/// Lines of a text file (or standard input for "-"), one text per line.
/// "\n", "\r\n" and a lone "\r" each end a line; a trailing line break
/// does not make an extra, empty text.
public enum TextInput {
    public static func lines(of path: String) throws -> [String] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = Data(try Syscalls.readFile(path))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TextInputError.notUTF8(path: path == "-" ? "<stdin>" : path)
        }
        return split(text).map(String.init)
    }

    /// The lines of `text`, without their line breaks: "\n", "\r\n" and a
    /// lone "\r" each end one. The one line splitter of revsd (configuration,
    /// corpora, lists, metadata); the tokenizers keep Hugging Face's rules.
    /// Splits the UTF-8 bytes, not Characters: "\r\n" is one Character in
    /// Swift, so a split on Character "\n" never sees a CRLF line end.
    public static func split(_ text: String) -> [Substring] {
        let bytes = text.utf8
        var lines: [Substring] = []
        var start = bytes.startIndex, i = start
        while i != bytes.endIndex {
            let b = bytes[i]
            guard b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") else { i = bytes.index(after: i); continue }
            lines.append(Substring(bytes[start..<i]))
            i = bytes.index(after: i)
            if b == UInt8(ascii: "\r"), i != bytes.endIndex, bytes[i] == UInt8(ascii: "\n") { i = bytes.index(after: i) }
            start = i
        }
        if start != bytes.endIndex { lines.append(Substring(bytes[start...])) }
        return lines
    }
}

public enum TextInputError: Error, CustomStringConvertible, Equatable {
    case notUTF8(path: String)
    public var description: String {
        switch self {
        case .notUTF8(let path): return "\(path): not UTF-8 text"
        }
    }
}

/// Shortest round-trip decimal form of a float, valid in JSON.
public enum JSONNumber {
    public static func format(_ x: Float) -> String {
        guard x.isFinite else { return "null" }
        return x == 0 ? "0" : "\(x)"
    }
}

public enum RevsdVersion {
    public static let string = "0.1.0"
}
