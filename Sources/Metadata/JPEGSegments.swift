import Foundation

/// Walks a JPEG file's marker segments up to the first scan: APP1 EXIF
/// ("Exif\0\0" + TIFF), APP1 XMP, and COM comments.
enum JPEGSegments {
    static let xmpSignature = "http://ns.adobe.com/xap/1.0/\0"

    static func read(_ b: UnsafeRawBufferPointer, into scan: inout ContainerScan) {
        var o = 2
        while true {
            // Markers may be preceded by fill bytes 0xFF.
            guard let ff = b.byte(at: o) else { scan.problems.append(.truncated("JPEG ends before its first scan")); return }
            guard ff == 0xFF else { scan.problems.append(.malformed("JPEG: expected a marker at offset \(o)")); return }
            var m = o + 1
            while b.byte(at: m) == 0xFF { m += 1 }
            guard let marker = b.byte(at: m) else { scan.problems.append(.truncated("JPEG marker at offset \(o)")); return }
            o = m + 1
            if marker == 0xD9 || marker == 0xDA { return }            // EOI, SOS: no more metadata
            if marker == 0x01 || marker == 0xD8 || (0xD0...0xD7).contains(marker) { continue }  // no length
            guard let len = b.uint16(at: o, bigEndian: true), len >= 2, b.contains(offset: o, length: Int(len)) else {
                scan.problems.append(.truncated(String(format: "JPEG segment FF%02X at offset %d", marker, m - 1)))
                return
            }
            let data = UnsafeRawBufferPointer(rebasing: b[(o + 2)..<(o + Int(len))])
            segment(marker, data, into: &scan)
            o += Int(len)
        }
    }

    private static func segment(_ marker: UInt8, _ d: UnsafeRawBufferPointer, into scan: inout ContainerScan) {
        switch marker {
        case 0xE1 where d.matches("Exif\0", at: 0) && d.count >= 6:
            TIFFReader.read(UnsafeRawBufferPointer(rebasing: d[6...]), origin: "JPEG EXIF", into: &scan)
        case 0xE1 where d.matches(xmpSignature, at: 0):
            let xml = TextDecoding.utf8OrLatin1(d[xmpSignature.utf8.count...])
            XMPReader.read(xml, origin: "JPEG XMP", into: &scan)
        case 0xFE:
            let text = TextDecoding.utf8OrLatin1(TextDecoding.trimmingNULs(Array(d)))
            if !text.isEmpty { scan.add("Comment", text, origin: "JPEG COM") }
        default:
            break
        }
    }
}
