import CWebP

/// Pixels to a lossy WebP file through libwebp's simple encoder
/// (WebPEncodeRGB / WebPEncodeRGBA), the buffer libwebp allocates copied
/// out and freed with WebPFree.
public enum WebPEncoder {
    /// `pixels`: (height, width, 3) RGB or (height, width, 4) straight-alpha RGBA bytes.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Float,
                              name: String) throws(ImageError) -> [UInt8] {
        precondition(channels == 3 || channels == 4, "3 or 4 channels")
        precondition(pixels.count == width * height * channels, "pixel buffer size")
        // libwebp's limit on either side (WEBP_MAX_DIMENSION).
        guard width > 0, height > 0, width <= 16383, height <= 16383 else {
            throw .tooLarge(path: name, reason: "\(width)×\(height) cannot be written as WebP (1 to 16383 px a side)")
        }
        var output: UnsafeMutablePointer<UInt8>? = nil
        let size = pixels.withUnsafeBufferPointer { p in
            channels == 4
                ? WebPEncodeRGBA(p.baseAddress, Int32(width), Int32(height), Int32(width * 4), quality, &output)
                : WebPEncodeRGB(p.baseAddress, Int32(width), Int32(height), Int32(width * 3), quality, &output)
        }
        defer { if let output { WebPFree(output) } }
        guard size > 0, let output else { throw .corrupt(path: name, format: .webp, reason: "libwebp could not encode the thumbnail") }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
