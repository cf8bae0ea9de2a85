/// The gallery's small picture of an image: the decoded image as displayed
/// (EXIF orientation already applied by the decoder), shrunk with the
/// preprocessing's Pillow-exact bicubic resampler so its long side is at
/// most `longSide` (never enlarged), alpha kept when the image has any, and
/// written as lossy WebP.
public enum Thumbnail {
    public static let defaultLongSide = 320
    public static let defaultQuality: Float = 80

    /// The thumbnail's size for an image of `width` × `height`: the aspect
    /// kept (rounded, at least 1 px a side), never larger than the image.
    public static func size(width: Int, height: Int, longSide: Int = defaultLongSide) -> (width: Int, height: Int) {
        let long = max(width, height)
        guard long > longSide else { return (width, height) }
        let scale = Double(longSide) / Double(long)
        func side(_ s: Int) -> Int { s == long ? longSide : max(1, Int((Double(s) * scale).rounded())) }
        return (side(width), side(height))
    }

    /// WebP bytes of the thumbnail of `decoded` (`name` is for errors).
    public static func webp(_ decoded: DecodedImage, name: String, longSide: Int = defaultLongSide,
                            quality: Float = defaultQuality) throws(ImageError) -> [UInt8] {
        let image = decoded.image
        let (w, h) = size(width: image.width, height: image.height, longSide: longSide)
        if !decoded.hasAlpha {
            let rgb = PILResample.bicubic(image, width: w, height: h)
            return try WebPEncoder.encode(rgb, width: w, height: h, channels: 3, quality: quality, name: name)
        }
        // Premultiplied while filtered (as Pillow resizes RGBA), so the
        // colour of fully transparent pixels does not bleed into the edges.
        let rgba = unpremultiplied(PILResample.bicubicRGBA(premultiplied(image), width: w, height: h))
        return try WebPEncoder.encode(rgba, width: w, height: h, channels: 4, quality: quality, name: name)
    }

    static func premultiplied(_ image: RGBAImage) -> RGBAImage {
        var p = image.pixels
        for i in stride(from: 0, to: p.count, by: 4) {
            let a = UInt32(p[i + 3])
            guard a != 255 else { continue }
            for c in 0..<3 { p[i + c] = UInt8((UInt32(p[i + c]) * a + 127) / 255) }
        }
        return RGBAImage(width: image.width, height: image.height, pixels: p)
    }

    static func unpremultiplied(_ pixels: [UInt8]) -> [UInt8] {
        var p = pixels
        for i in stride(from: 0, to: p.count, by: 4) {
            let a = UInt32(p[i + 3])
            guard a != 255 else { continue }
            for c in 0..<3 { p[i + c] = a == 0 ? 0 : UInt8(min(255, (UInt32(p[i + c]) * 255 + a / 2) / a)) }
        }
        return p
    }
}
