/// Turning the bytes of metadata fields into text.
enum TextDecoding {
    /// UTF-8 when the bytes are valid UTF-8, else Latin-1. PNG tEXt is Latin-1
    /// by spec, but most SD tools write UTF-8 into it.
    static func utf8OrLatin1(_ bytes: some Collection<UInt8>) -> String {
        if let s = validUTF8(bytes) { return s }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// The text when `bytes` are valid UTF-8, else nil.
    static func validUTF8(_ bytes: some Collection<UInt8>) -> String? {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var scalars = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let v): scalars.append(v)
            case .emptyInput: return String(scalars)
            case .error: return nil
            }
        }
    }

    /// `bytes` without NUL bytes at either end (C strings, padded EXIF fields).
    static func trimmingNULs(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var lo = 0, hi = bytes.count
        while lo < hi, bytes[lo] == 0 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0 { hi -= 1 }
        return bytes[lo..<hi]
    }

    /// UTF-16 text. A byte-order mark wins; otherwise the byte order is the one
    /// the content clearly shows (ASCII-heavy text has its zero bytes on one
    /// side), falling back to `bigEndian`. Returns the text and the byte order used.
    static func utf16(_ bytes: ArraySlice<UInt8>, bigEndian preferred: Bool) -> (text: String, bigEndian: Bool) {
        var b = Array(bytes)
        if b.count % 2 == 1 { b.removeLast() }
        var bigEndian = preferred
        var start = 0
        if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { bigEndian = true; start = 2 }
        else if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { bigEndian = false; start = 2 }
        else {
            var zeroEven = 0, zeroOdd = 0
            var i = 0
            while i + 1 < b.count {
                if b[i] == 0 { zeroEven += 1 }
                if b[i + 1] == 0 { zeroOdd += 1 }
                i += 2
            }
            // A clear majority only: CJK text has few zero bytes on either side.
            if zeroEven > 2 * zeroOdd + 1 { bigEndian = true }
            else if zeroOdd > 2 * zeroEven + 1 { bigEndian = false }
        }
        var units: [UInt16] = []
        units.reserveCapacity((b.count - start) / 2)
        var i = start
        while i + 1 < b.count {
            let u = bigEndian ? UInt16(b[i]) << 8 | UInt16(b[i + 1]) : UInt16(b[i + 1]) << 8 | UInt16(b[i])
            units.append(u)
            i += 2
        }
        while units.last == 0 { units.removeLast() }
        return (String(decoding: units, as: UTF16.self), bigEndian)
    }

    /// Replaces XML character and entity references (&amp; &#xA; ...).
    static func xmlUnescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let afterAmp = rest.index(after: amp)
            guard let semi = rest[afterAmp...].prefix(12).firstIndex(of: ";") else {
                out += "&"; rest = rest[afterAmp...]; continue
            }
            let name = rest[afterAmp..<semi]
            var replacement: String?
            switch name {
            case "amp": replacement = "&"
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16) {
                    replacement = Unicode.Scalar(v).map { String(Character($0)) }
                } else if name.hasPrefix("#"), let v = UInt32(name.dropFirst()) {
                    replacement = Unicode.Scalar(v).map { String(Character($0)) }
                }
            }
            if let r = replacement {
                out += r
                rest = rest[rest.index(after: semi)...]
            } else {
                out += "&"
                rest = rest[afterAmp...]
            }
        }
        out += rest
        return out
    }
}
