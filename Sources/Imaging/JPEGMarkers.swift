/// Walks the marker segments of a JPEG stream up to the image data.
enum JPEGMarkers {
    static func forEach(_ b: UnsafeRawBufferPointer, _ body: (UInt8, UnsafeRawBufferPointer) -> Void) {
        var o = 2
        while o + 4 <= b.count {
            guard b[o] == 0xFF else { return }
            let marker = b[o + 1]
            if marker == 0xFF { o += 1; continue }                       // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { o += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return }               // start of scan / end
            let len = Int(b[o + 2]) << 8 | Int(b[o + 3])
            guard len >= 2, o + 2 + len <= b.count else { return }
            body(marker, UnsafeRawBufferPointer(rebasing: b[(o + 4)..<(o + 2 + len)]))
            o += 2 + len
        }
    }
}

/// The EXIF orientation tag (0x0112) of a JPEG's APP1 segment; 1 when absent.
enum ExifOrientation {
    static func fromJPEG(_ b: UnsafeRawBufferPointer) -> Int {
        var result = 1
        JPEGMarkers.forEach(b) { marker, p in
            guard marker == 0xE1, p.count > 14, Array(p[0..<6]) == [0x45, 0x78, 0x69, 0x66, 0, 0] else { return }
            if let o = fromTIFF(UnsafeRawBufferPointer(rebasing: p[6...])) { result = o }
        }
        return result
    }

    static func fromTIFF(_ t: UnsafeRawBufferPointer) -> Int? {
        guard t.count >= 8 else { return nil }
        let little: Bool
        if t[0] == 0x49 && t[1] == 0x49 { little = true } else if t[0] == 0x4D && t[1] == 0x4D { little = false } else { return nil }
        func u16(_ o: Int) -> Int? { guard o >= 0, o + 2 <= t.count else { return nil }; return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1]) }
        func u32(_ o: Int) -> Int? { guard let a = u16(o), let b = u16(o + 2) else { return nil }; return little ? a | b << 16 : a << 16 | b }
        guard let ifd = u32(4), let n = u16(ifd) else { return nil }
        for i in 0..<min(n, 512) {
            let e = ifd + 2 + i * 12
            guard let tag = u16(e) else { return nil }
            if tag == 0x0112, let v = u16(e + 8), (1...8).contains(v) { return v }
        }
        return nil
    }
}
