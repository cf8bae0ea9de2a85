/// Server-rendered markup whose string interpolation escapes by default.
///
/// A literal written in the source is trusted markup; every interpolated
/// `String` (a prompt, a path, an error message, a query) is escaped for
/// both text and double-quoted attribute values (`& < > " '`). Only another
/// `HTML` value interpolates as markup, so text from the index can reach a
/// page only escaped; `HTML.raw` is the one explicit way around that, for
/// markup this program produced itself.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation {
    public private(set) var markup: String

    public init(stringLiteral value: String) { markup = value }

    public init(stringInterpolation: Interpolation) { markup = stringInterpolation.markup }

    /// Trusted markup, inserted as it is. Never pass text from the index or a request.
    public static func raw(_ trustedMarkup: String) -> HTML {
        var html = HTML(stringLiteral: "")
        html.markup = trustedMarkup
        return html
    }

    /// The empty fragment.
    public static let empty: HTML = ""

    /// `text` escaped for an element's content or a double-quoted attribute value.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public struct Interpolation: StringInterpolationProtocol {
        var markup = ""

        public init(literalCapacity: Int, interpolationCount: Int) { markup.reserveCapacity(literalCapacity + 16 * interpolationCount) }

        public mutating func appendLiteral(_ literal: String) { markup += literal }

        /// Text: escaped.
        public mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }

        /// Text: escaped.
        public mutating func appendInterpolation(_ text: Substring) { markup += HTML.escape(String(text)) }

        /// Markup built by this program: as it is.
        public mutating func appendInterpolation(_ html: HTML) { markup += html.markup }

        /// Fragments one after another.
        public mutating func appendInterpolation(_ fragments: [HTML]) {
            for f in fragments { markup += f.markup }
        }

        public mutating func appendInterpolation(_ n: Int) { markup += String(n) }

        public mutating func appendInterpolation(_ n: Int64) { markup += String(n) }

        /// A number with `digits` decimals.
        public mutating func appendInterpolation(_ x: Double, digits: Int) { markup += HTML.format(x, digits: digits) }
    }

    /// `x` with `digits` decimals, without Foundation's locale.
    static func format(_ x: Double, digits: Int) -> String {
        guard x.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<max(0, digits) { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        let whole = Int(scaled / scale)
        let frac = Int(scaled - Double(whole) * scale)
        let sign = x < 0 && scaled > 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let f = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - f.count) + f
    }
}

extension Array where Element == HTML {
    /// The fragments with `separator` between them.
    func joined(separator: HTML) -> HTML {
        var out = HTML.empty
        for (i, f) in enumerated() { out = i == 0 ? f : "\(out)\(separator)\(f)" }
        return out
    }
}
