import CZlib

/// Encodes 8-bit RGB or RGBA pixels as a PNG file: signature, IHDR, text
/// chunks, one IDAT (a zlib stream of filter-0 scanlines), IEND, each chunk
/// with its CRC-32. Text that Latin-1 can hold goes in `tEXt` (as
/// AUTOMATIC1111 writes its `parameters`); other text in an uncompressed UTF-8
/// `iTXt`, as Pillow does.
public enum PNGWriter {
    public enum ColorType: UInt8, Sendable {
        case rgb = 2
        case rgba = 6

        public var channels: Int { self == .rgb ? 3 : 4 }
    }

    /// The largest width or height PNG allows (2³¹ − 1).
    public static let maxDimension = Int(Int32.max)

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The PNG file for `pixels` (row-major, `colorType.channels` bytes per
    /// pixel, top row first) with `text` chunks in order, keyword → text.
    /// `level` is zlib's compression level (0–9; 6 is zlib's default).
    public static func encode(width: Int, height: Int, pixels: [UInt8], colorType: ColorType = .rgb,
                              text: [(keyword: String, text: String)] = [], level: Int32 = 6) throws(SyntheticImageError) -> [UInt8] {
        guard (1...maxDimension).contains(width), (1...maxDimension).contains(height) else {
            throw .invalidSize(width: width, height: height)
        }
        let rowBytes = width * colorType.channels
        let (expected, overflow) = rowBytes.multipliedReportingOverflow(by: height)
        guard !overflow, pixels.count == expected else {
            throw .pixelCountMismatch(expected: overflow ? Int.max : expected, actual: pixels.count)
        }
        var out = signature
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, colorType.rawValue, 0, 0, 0]   // bit depth, colour type, deflate, adaptive filters, no interlace
        appendChunk("IHDR", header, to: &out)
        for entry in text {
            let (type, data) = try textChunk(keyword: entry.keyword, text: entry.text)
            appendChunk(type, data, to: &out)
        }
        appendChunk("IDAT", try zlibStream(scanlines(pixels, rowBytes: rowBytes, height: height), level: level), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// Each row prefixed with filter type 0 (None). Flat drawings compress
    /// well without filtering: deflate finds a repeated row one row back.
    static func scanlines(_ pixels: [UInt8], rowBytes: Int, height: Int) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        raw.withUnsafeMutableBufferPointer { dst in
            pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    let d = dst.baseAddress! + y * (rowBytes + 1) + 1
                    d.update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
                }
            }
        }
        return raw
    }

    /// A zlib-format (RFC 1950) stream of `data`.
    static func zlibStream(_ data: [UInt8], level: Int32) throws(SyntheticImageError) -> [UInt8] {
        var size = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let code = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, uLong(i.count), level) }
        }
        guard code == Z_OK else { throw .compressionFailed(code: code) }
        out.removeSubrange(Int(size)...)
        return out
    }

    /// `tEXt` (keyword NUL Latin-1 text) when the text is Latin-1 without NUL,
    /// else `iTXt` (keyword NUL, uncompressed, no language, UTF-8 text).
    static func textChunk(keyword: String, text: String) throws(SyntheticImageError) -> (String, [UInt8]) {
        guard let key = latin1(keyword), isValidKeyword(key) else { throw .invalidKeyword(keyword) }
        if let body = latin1(text), !body.contains(0) {
            return ("tEXt", key + [0] + body)
        }
        let utf8 = Array(text.utf8).filter { $0 != 0 }
        return ("iTXt", key + [0, 0, 0, 0, 0] + utf8)
    }

    static func isValidKeyword(_ k: [UInt8]) -> Bool {
        guard (1...79).contains(k.count), k.first != 0x20, k.last != 0x20 else { return false }
        for (i, b) in k.enumerated() {
            guard (32...126).contains(b) || (161...255).contains(b) else { return false }
            if b == 0x20, i > 0, k[i - 1] == 0x20 { return false }
        }
        return true
    }

    /// The Latin-1 bytes of `s`, nil when a character is outside U+0000–U+00FF.
    static func latin1(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            guard scalar.value <= 0xFF else { return nil }
            out.append(UInt8(scalar.value))
        }
        return out
    }

    /// Length, type, data, CRC-32 of type and data.
    static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        precondition(typeBytes.count == 4, "PNG chunk types are four letters")
        out.appendBigEndian(UInt32(data.count))
        out += typeBytes
        out += data
        var crc = typeBytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        if !data.isEmpty {   // crc32 with a null buffer returns the initial value, not crc
            crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        }
        out.appendBigEndian(UInt32(truncatingIfNeeded: crc))
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
    }
}
