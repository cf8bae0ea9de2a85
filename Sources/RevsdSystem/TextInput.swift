import Foundation

/// Lines of a text file (or standard input for "-"), one text per line.
/// A trailing newline does not make an extra, empty text; CRLF is accepted.
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
        return split(text)
    }

    public static func split(_ text: String) -> [String] {
        // Split scalars, not Characters: "\r\n" is one Character in Swift.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let body = line.last == "\r" ? line.dropLast() : line[...]
            return String(String.UnicodeScalarView(body))
        }
        if lines.last == "" { lines.removeLast() }
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
