/// The "stealth" copy of the metadata that the A1111 stealth_pnginfo extension
/// and NovelAI hide in pixel least significant bits, so that it survives
/// tools that strip text chunks.
///
/// Bits are read column by column (x outer, y inner), 8 to a byte, most
/// significant first: from each pixel's alpha LSB ("stealth_pnginfo" /
/// "stealth_pngcomp"), or from its R, G and B LSBs in turn ("stealth_rgbinfo" /
/// "stealth_rgbcomp"). After the 15-byte signature comes the payload length in
/// bits (32-bit big-endian), then the payload, gzip-compressed for "*comp".
enum StealthDecoder {
    struct Payload: Equatable {
        var text: String
        var signature: String
    }

    private struct BitStream {
        let rgba: UnsafeRawBufferPointer
        let width: Int, height: Int
        /// Channels read per pixel: [3] for alpha, [0, 1, 2] for RGB.
        let channels: [Int]
        var position = 0
        var available: Int { width * height * channels.count - position }

        mutating func bit() -> UInt8 {
            let pixel = position / channels.count
            let channel = channels[position % channels.count]
            position += 1
            let x = pixel / height, y = pixel % height
            return rgba[(y * width + x) * 4 + channel] & 1
        }

        mutating func bytes(_ n: Int) -> [UInt8]? {
            guard n >= 0, n <= available / 8 else { return nil }
            var out = [UInt8](repeating: 0, count: n)
            for i in 0..<n {
                var v: UInt8 = 0
                for _ in 0..<8 { v = v << 1 | bit() }
                out[i] = v
            }
            return out
        }
    }

    /// The hidden payload, or nil when the pixels carry none (or a damaged one).
    static func decode(width: Int, height: Int, rgba: UnsafeRawBufferPointer) throws(MetadataError) -> Payload? {
        guard width > 0, height > 0 else { return nil }
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        let (size, o2) = pixels.multipliedReportingOverflow(by: 4)
        guard !o1, !o2, size == rgba.count else {
            throw .malformed("RGBA buffer of \(rgba.count) bytes for \(width)×\(height) pixels")
        }
        for (channels, plain, compressed) in [([3], "stealth_pnginfo", "stealth_pngcomp"),
                                              ([0, 1, 2], "stealth_rgbinfo", "stealth_rgbcomp")] {
            var s = BitStream(rgba: rgba, width: width, height: height, channels: channels)
            guard let sig = s.bytes(15).map({ String(decoding: $0, as: UTF8.self) }), sig == plain || sig == compressed else {
                continue
            }
            guard let lengthBytes = s.bytes(4) else { throw .truncated("\(sig): no payload length") }
            let bits = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
            guard bits <= s.available else {
                throw .truncated("\(sig): payload of \(bits) bits, only \(s.available) in the image")
            }
            guard var payload = s.bytes(bits / 8) else { throw .truncated("\(sig) payload") }
            if sig == compressed {
                var inflater = Inflater()
                payload = try inflater.inflate(payload, what: sig)
            }
            guard let text = TextDecoding.validUTF8(payload) else { throw .malformed("\(sig): payload is not UTF-8 text") }
            return Payload(text: text, signature: sig)
        }
        return nil
    }
}
