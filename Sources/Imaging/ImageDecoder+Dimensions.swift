import CWebP

extension ImageDecoder {
    /// The width and height a decode would give, read from the header alone
    /// (PNG's IHDR, the JPEG frame header with its EXIF orientation, WebP's
    /// bitstream header through WebPGetInfo): phase 1 records them before
    /// the pixels are decoded. nil when the header is not readable (the
    /// decode then says why).
    public static func dimensions(_ b: UnsafeRawBufferPointer) -> (width: Int, height: Int)? {
        switch ImageFormat.detect(b) {
        case .png:
            // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), big-endian.
            guard b.count >= 24, b[12] == 0x49, b[13] == 0x48, b[14] == 0x44, b[15] == 0x52 else { return nil }
            func u32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
            let (w, h) = (u32(16), u32(20))
            return w > 0 && h > 0 ? (w, h) : nil
        case .jpeg:
            var size: (Int, Int)?
            JPEGMarkers.forEach(b) { marker, p in
                // SOF0…SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
                guard size == nil, (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker), p.count >= 5 else { return }
                let h = Int(p[1]) << 8 | Int(p[2]), w = Int(p[3]) << 8 | Int(p[4])
                if w > 0 && h > 0 { size = (w, h) }
            }
            guard let (w, h) = size else { return nil }
            // Orientations 5 to 8 turn the picture a quarter (RGBAImage.oriented).
            return ExifOrientation.fromJPEG(b) >= 5 ? (h, w) : (w, h)
        case .webp:
            var w: Int32 = 0, h: Int32 = 0
            guard WebPGetInfo(b.baseAddress?.assumingMemoryBound(to: UInt8.self), b.count, &w, &h) != 0, w > 0, h > 0 else { return nil }
            return (Int(w), Int(h))
        case nil:
            return nil
        }
    }
}
