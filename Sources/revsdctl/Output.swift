import Foundation
import RevsdProtocol

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// A protocol value as one line of JSON, encoded as revsdd sends it (sorted keys).
func printResult(_ value: some Encodable) throws {
    FileHandle.standardOutput.write(Data(try ControlFraming.line(value)))
}

/// Left-aligned columns, two spaces apart.
func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    var widths = [Int](repeating: 0, count: header.count)
    for row in all { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
    for row in all {
        let line = row.enumerated().map { i, c in
            i == row.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
        print(line)
    }
}
