import Foundation

/// The control socket's framing (docs/PROTOCOL.md): one JSON object per
/// line, at most `maxLineBytes` a line.
public enum ControlFraming {
    public static let protocolVersion = 1
    public static let maxLineBytes = 1 << 20

    /// `object` as one line of JSON (sorted keys), ended by a newline.
    public static func line(_ object: [String: Any]) -> [UInt8] {
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data(#"{"ok":false,"v":1,"error":{"code":"internal","message":"response could not be encoded"}}"#.utf8)
        data.append(0x0A)
        return [UInt8](data)
    }
}
