import CWebP

/// Pixels to a lossy WebP file through libwebp's advanced API (WebPConfig,
/// WebPPicture, WebPEncode into a WebPMemoryWriter), so the speed/size
/// trade-off (`method`) can be chosen; the simple WebPEncodeRGB uses 4.
public enum WebPEncoder {
    /// libwebp's method for thumbnails. On 320 px thumbnails of 30 synthetic
    /// 512 px images, method 2 took 40 % of method 4's time (3.0 against
    /// 7.5 ms each) for files 6 % larger, at quality 80: phase 2 spends
    /// less on a picture nobody looks at closely.
    public static let thumbnailMethod: Int32 = 2

    /// `pixels`: (height, width, 3) RGB or (height, width, 4) straight-alpha RGBA bytes.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Float,
                              method: Int32 = thumbnailMethod, name: String) throws(ImageError) -> [UInt8] {
        precondition(channels == 3 || channels == 4, "3 or 4 channels")
        precondition(pixels.count == width * height * channels, "pixel buffer size")
        // libwebp's limit on either side (WEBP_MAX_DIMENSION).
        guard width > 0, height > 0, width <= 16383, height <= 16383 else {
            throw .tooLarge(path: name, reason: "\(width)×\(height) cannot be written as WebP (1 to 16383 px a side)")
        }
        let failed = ImageError.corrupt(path: name, format: .webp, reason: "libwebp could not encode the thumbnail")
        var config = WebPConfig()
        guard WebPConfigInit(&config) != 0 else { throw failed }
        config.quality = quality
        config.method = method
        var picture = WebPPicture()
        guard WebPPictureInit(&picture) != 0 else { throw failed }
        picture.width = Int32(width)
        picture.height = Int32(height)
        defer { WebPPictureFree(&picture) }
        let imported = pixels.withUnsafeBufferPointer { p in
            channels == 4 ? WebPPictureImportRGBA(&picture, p.baseAddress, Int32(width * 4))
                          : WebPPictureImportRGB(&picture, p.baseAddress, Int32(width * 3))
        }
        guard imported != 0 else { throw failed }
        var writer = WebPMemoryWriter()
        WebPMemoryWriterInit(&writer)
        defer { WebPMemoryWriterClear(&writer) }
        let encoded = withUnsafeMutablePointer(to: &writer) { w -> Int32 in
            picture.writer = WebPMemoryWrite
            picture.custom_ptr = UnsafeMutableRawPointer(w)
            return WebPEncode(&config, &picture)
        }
        guard encoded != 0, let mem = writer.mem, writer.size > 0 else { throw failed }
        return Array(UnsafeBufferPointer(start: mem, count: writer.size))
    }
}
