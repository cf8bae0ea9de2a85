import Foundation

/// The fields of a query string or an `application/x-www-form-urlencoded`
/// body: `+` is a space, `%XX` a byte; a malformed escape is kept as it is.
/// Keys repeat as they came; `subscript` gives the first.
public struct FormFields: Sendable, Equatable {
    public var pairs: [(key: String, value: String)]

    public init(_ encoded: some StringProtocol) {
        pairs = encoded.split(separator: "&", omittingEmptySubsequences: true).map { item in
            if let eq = item.firstIndex(of: "=") {
                return (Self.decode(item[..<eq]), Self.decode(item[item.index(after: eq)...]))
            }
            return (Self.decode(item), "")
        }
    }

    public static func == (a: FormFields, b: FormFields) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public subscript(_ key: String) -> String? { pairs.first { $0.key == key }?.value }

    /// The value, or nil when absent or only whitespace.
    public func nonEmpty(_ key: String) -> String? {
        guard let v = self[key]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        return v
    }

    static func decode(_ s: some StringProtocol) -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") { bytes.append(0x20); continue }
            if b == UInt8(ascii: "%"), it.count >= 2, let hi = hexValue(it[it.startIndex]), let lo = hexValue(it[it.startIndex + 1]) {
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
                continue
            }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x61...0x66: b - 0x61 + 10
        case 0x41...0x46: b - 0x41 + 10
        default: nil
        }
    }

    /// `s` percent-encoded for a query component (unreserved characters kept).
    public static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `key=value&…` of the non-empty pairs, encoded.
    public static func query(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { k, v in v.flatMap { $0.isEmpty ? nil : encode(k) + "=" + encode($0) } }.joined(separator: "&")
    }
}

/// An image id as a URL names it: `[1-9][0-9]{0,18}` within Int64, or
/// nothing (a 404 that never reaches the daemon).
public enum ImageID {
    public static func parse(_ s: some StringProtocol) -> Int64? {
        let u = Array(s.utf8)
        guard (1...19).contains(u.count), (0x31...0x39).contains(u[0]), u.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int64(String(s))
    }
}
