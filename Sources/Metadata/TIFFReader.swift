/// The few TIFF/EXIF fields that SD tools write text into: IFD0
/// (ImageDescription, Make, Model, Software, and UserComment where some tools
/// misplace it) and the Exif sub-IFD (UserComment). Every offset is checked;
/// IFD loops end at the first repeated offset.
enum TIFFReader {
    static let exifIFDPointer: UInt16 = 0x8769
    static let textTags: [UInt16: String] = [
        0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
        0x9286: "UserComment", 0x9C9C: "XPComment",
    ]

    /// Adds the text fields of the TIFF structure `data` to `scan`.
    static func read(_ data: [UInt8], origin: String, into scan: inout ContainerScan) {
        data.withRaw { b in read(b, origin: origin, into: &scan) }
    }

    static func read(_ b: UnsafeRawBufferPointer, origin: String, into scan: inout ContainerScan) {
        let bigEndian: Bool
        if b.matches("MM\0*", at: 0) { bigEndian = true }
        else if b.matches("II*\0", at: 0) { bigEndian = false }
        else { scan.problems.append(.malformed("\(origin): no TIFF header")); return }
        guard let first = b.uint32(at: 4, bigEndian: bigEndian) else {
            scan.problems.append(.truncated("\(origin): TIFF header")); return
        }
        var pending: [(offset: Int, name: String)] = [(Int(first), "IFD0")]
        var visited = Set<Int>()
        while let (offset, name) = pending.first {
            pending.removeFirst()
            guard visited.count < MetadataLimits.ifdCount else {
                scan.problems.append(.malformed("\(origin): more than \(MetadataLimits.ifdCount) IFDs")); return
            }
            guard visited.insert(offset).inserted else {
                scan.problems.append(.malformed("\(origin): \(name) at offset \(offset) loops back to an IFD already read"))
                continue
            }
            guard let count = b.uint16(at: offset, bigEndian: bigEndian) else {
                scan.problems.append(.truncated("\(origin): \(name) at offset \(offset) lies outside the data")); continue
            }
            let n = min(Int(count), MetadataLimits.ifdEntries)
            for k in 0..<n {
                let e = offset + 2 + 12 * k
                guard let tag = b.uint16(at: e, bigEndian: bigEndian),
                      let type = b.uint16(at: e + 2, bigEndian: bigEndian),
                      let valueCount = b.uint32(at: e + 4, bigEndian: bigEndian),
                      let valueOffset = b.uint32(at: e + 8, bigEndian: bigEndian) else {
                    scan.problems.append(.truncated("\(origin): \(name) entry \(k) of \(count)")); break
                }
                if tag == exifIFDPointer, name == "IFD0" {
                    pending.append((Int(valueOffset), "Exif IFD"))
                    continue
                }
                guard let tagName = textTags[tag] else { continue }
                let size = typeSize(type) * Int(valueCount)
                let start = size <= 4 ? e + 8 : Int(valueOffset)
                guard let bytes = b.bytes(at: start, length: size) else {
                    scan.problems.append(.truncated("\(origin): \(tagName) value (\(size) bytes at offset \(start))")); continue
                }
                if let text = decode(tag: tag, bytes, bigEndian: bigEndian, origin: origin, problems: &scan.problems),
                   !text.isEmpty {
                    scan.add(tagName, text, origin: origin)
                }
            }
        }
    }

    static func typeSize(_ type: UInt16) -> Int {
        switch type {
        case 3, 8: return 2
        case 4, 9, 11, 13: return 4
        case 5, 10, 12: return 8
        default: return 1
        }
    }

    static func decode(tag: UInt16, _ bytes: [UInt8], bigEndian: Bool, origin: String,
                       problems: inout [MetadataError]) -> String? {
        switch tag {
        case 0x9286: return userComment(bytes, bigEndian: bigEndian, origin: origin, problems: &problems)
        case 0x9C9C: return TextDecoding.utf16(TextDecoding.trimmingNULs(bytes), bigEndian: false).text
        default: return TextDecoding.utf8OrLatin1(TextDecoding.trimmingNULs(bytes))
        }
    }

    /// EXIF UserComment: an 8-byte character-code prefix, then the text.
    /// "UNICODE\0" is UTF-16 in the TIFF byte order, except that several tools
    /// write big-endian into little-endian files: the content decides.
    static func userComment(_ bytes: [UInt8], bigEndian: Bool, origin: String,
                            problems: inout [MetadataError]) -> String? {
        let prefix = bytes.prefix(8)
        let body = bytes.dropFirst(8)
        if prefix.elementsEqual("UNICODE\0".utf8) {
            if body.count % 2 == 1 {
                problems.append(.malformed("\(origin): UTF-16 UserComment has an odd length (\(body.count) bytes)"))
            }
            let (text, used) = TextDecoding.utf16(body, bigEndian: bigEndian)
            if used != bigEndian {
                problems.append(.malformed("\(origin): UserComment is UTF-16\(used ? "BE" : "LE") in a \(bigEndian ? "big" : "little")-endian TIFF"))
            }
            return text
        }
        if prefix.elementsEqual("ASCII\0\0\0".utf8) || prefix.elementsEqual([UInt8](repeating: 0, count: 8)) {
            return TextDecoding.utf8OrLatin1(TextDecoding.trimmingNULs(Array(body)))
        }
        if prefix.elementsEqual("JIS\0\0\0\0\0".utf8) {
            problems.append(.malformed("\(origin): JIS-encoded UserComment is not supported"))
            return nil
        }
        // No character code: some savers put the text there directly.
        return TextDecoding.utf8OrLatin1(TextDecoding.trimmingNULs(bytes))
    }
}
