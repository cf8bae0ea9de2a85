import Foundation

/// The XMP properties SD tools use, found by name in the packet without a full
/// XML parser: exif:UserComment (Draw Things' JSON), dc:description,
/// xmp:CreatorTool, and an A1111-style "parameters" property where present.
enum XMPReader {
    static let properties: [(name: String, key: String)] = [
        ("exif:UserComment", "XMP:UserComment"), ("dc:description", "XMP:description"),
        ("xmp:CreatorTool", "XMP:CreatorTool"), ("sd:parameters", "parameters"),
    ]

    static func read(_ xml: String, origin: String, into scan: inout ContainerScan) {
        for (name, key) in properties {
            if let v = value(of: name, in: xml), !v.isEmpty { scan.add(key, v, origin: origin) }
        }
    }

    /// The text of property `name`: element content (the first rdf:li inside
    /// an rdf:Alt/Seq when there is one) or attribute value.
    static func value(of name: String, in xml: String) -> String? {
        if let open = xml.range(of: "<\(name)"), let gt = xml[open.upperBound...].firstIndex(of: ">") {
            let selfClosing = gt > xml.startIndex && xml[xml.index(before: gt)] == "/"
            if !selfClosing, let close = xml[gt...].range(of: "</\(name)>") {
                var inner = xml[xml.index(after: gt)..<close.lowerBound]
                if let li = inner.range(of: "<rdf:li"), let liGT = inner[li.upperBound...].firstIndex(of: ">"),
                   let liEnd = inner[liGT...].range(of: "</rdf:li>") {
                    inner = inner[inner.index(after: liGT)..<liEnd.lowerBound]
                }
                return TextDecoding.xmlUnescape(String(inner)).trimmingWhitespaceAndNUL
            }
        }
        for quote in ["\"", "'"] {
            if let attr = xml.range(of: "\(name)=\(quote)"),
               let end = xml[attr.upperBound...].firstIndex(of: Character(quote)) {
                return TextDecoding.xmlUnescape(String(xml[attr.upperBound..<end]))
            }
        }
        return nil
    }
}
