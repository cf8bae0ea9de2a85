import CZlib

/// Walks a PNG file's chunks for text (tEXt, zTXt, iTXt) and EXIF (eXIf),
/// wherever they sit, before or after IDAT. The CRC-32 of each chunk read is
/// checked (image data is skipped unread); a mismatch is reported and the
/// chunk still read, since its text may be only slightly damaged.
enum PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func read(_ b: UnsafeRawBufferPointer, into scan: inout ContainerScan) {
        var o = 8
        var sawEnd = false
        while !sawEnd {
            guard let length = b.uint32(at: o, bigEndian: true), b.contains(offset: o + 4, length: 4) else {
                if o < b.count { scan.problems.append(.truncated("PNG chunk header at offset \(o)")) }
                else { scan.problems.append(.truncated("PNG file has no IEND chunk")) }
                return
            }
            let type = String(decoding: (0..<4).map { b[o + 4 + $0] }, as: UTF8.self)
            let n = Int(length)
            guard length < 0x8000_0000, b.contains(offset: o + 8, length: n + 4) else {
                scan.problems.append(.truncated("PNG chunk \(type) at offset \(o) declares \(n) bytes, past the end of the file"))
                return
            }
            let stored = b.uint32(at: o + 8 + n, bigEndian: true) ?? 0
            let typeAndData = UnsafeRawBufferPointer(rebasing: b[(o + 4)..<(o + 8 + n)])
            let computed = UInt32(crc32(0, typeAndData.baseAddress?.assumingMemoryBound(to: Bytef.self), UInt32(4 + n)))
            let isText = ["tEXt", "zTXt", "iTXt", "eXIf"].contains(type)
            if isText, stored != computed {
                scan.problems.append(.badCRC(chunk: type, offset: o))
            }
            if isText {
                let data = UnsafeRawBufferPointer(rebasing: b[(o + 8)..<(o + 8 + n)])
                do throws(MetadataError) {
                    try chunk(type, data, offset: o, into: &scan)
                } catch {
                    scan.problems.append(error)
                }
            }
            sawEnd = type == "IEND"
            o += 12 + n
        }
    }

    private static func chunk(_ type: String, _ d: UnsafeRawBufferPointer, offset: Int,
                              into scan: inout ContainerScan) throws(MetadataError) {
        if type == "eXIf" {
            TIFFReader.read(d, origin: "PNG eXIf", into: &scan)
            return
        }
        guard let nul = d.firstIndex(of: 0) else { throw .malformed("PNG \(type) at offset \(offset) has no keyword terminator") }
        let key = TextDecoding.utf8OrLatin1(d[0..<nul])
        let rest = Array(d[(nul + 1)...])
        switch type {
        case "tEXt":
            emit(key, TextDecoding.utf8OrLatin1(rest), origin: "PNG tEXt", into: &scan)
        case "zTXt":
            guard let method = rest.first else { throw .truncated("PNG zTXt '\(key)' at offset \(offset)") }
            guard method == 0 else { throw .malformed("PNG zTXt '\(key)' uses unknown compression method \(method)") }
            let text = try scan.inflater.inflate(Array(rest.dropFirst()), what: "PNG zTXt '\(key)'")
            emit(key, TextDecoding.utf8OrLatin1(text), origin: "PNG zTXt", into: &scan)
        default:  // iTXt: flag, method, language\0, translated keyword\0, text (UTF-8)
            guard rest.count >= 2 else { throw .truncated("PNG iTXt '\(key)' at offset \(offset)") }
            let compressed = rest[0] != 0
            var i = 2
            for _ in 0..<2 {
                guard let z = rest[i...].firstIndex(of: 0) else { throw .malformed("PNG iTXt '\(key)' at offset \(offset): missing terminator") }
                i = z + 1
            }
            var body = Array(rest[i...])
            if compressed {
                guard rest[1] == 0 else { throw .malformed("PNG iTXt '\(key)' uses unknown compression method \(rest[1])") }
                body = try scan.inflater.inflate(body, what: "PNG iTXt '\(key)'")
            }
            emit(key, TextDecoding.utf8OrLatin1(body), origin: "PNG iTXt", into: &scan)
        }
    }

    /// XMP packets (iTXt "XML:com.adobe.xmp") are read for their properties.
    private static func emit(_ key: String, _ text: String, origin: String, into scan: inout ContainerScan) {
        if key == "XML:com.adobe.xmp" { XMPReader.read(text, origin: "\(origin) XMP", into: &scan) }
        else { scan.add(key, text, origin: origin) }
    }
}
