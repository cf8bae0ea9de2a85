/// Walks a WebP (RIFF) file's chunks for EXIF and XMP, in simple, extended
/// (VP8X) and animated files alike.
enum WebPChunks {
    static func read(_ b: UnsafeRawBufferPointer, into scan: inout ContainerScan) {
        let riffEnd = min(b.count, 8 + Int(b.uint32(at: 4, bigEndian: false) ?? 0))
        if riffEnd < b.count { scan.problems.append(.malformed("WebP: \(b.count - riffEnd) bytes after the RIFF data")) }
        var o = 12
        while o + 8 <= riffEnd {
            let fourCC = String(decoding: (0..<4).map { b[o + $0] }, as: UTF8.self)
            let n = Int(b.uint32(at: o + 4, bigEndian: false) ?? 0)
            guard b.contains(offset: o + 8, length: n), o + 8 + n <= riffEnd else {
                scan.problems.append(.truncated("WebP chunk \(fourCC) at offset \(o) declares \(n) bytes, past the end"))
                return
            }
            let d = UnsafeRawBufferPointer(rebasing: b[(o + 8)..<(o + 8 + n)])
            switch fourCC {
            case "EXIF":
                // Some writers keep the JPEG-style "Exif\0\0" prefix.
                let tiff = d.matches("Exif\0", at: 0) && d.count >= 6 ? UnsafeRawBufferPointer(rebasing: d[6...]) : d
                TIFFReader.read(tiff, origin: "WebP EXIF", into: &scan)
            case "XMP ":
                XMPReader.read(TextDecoding.utf8OrLatin1(d), origin: "WebP XMP", into: &scan)
            default:
                break
            }
            o += 8 + n + (n & 1)
        }
        if o < riffEnd { scan.problems.append(.truncated("WebP chunk header at offset \(o)")) }
    }
}
