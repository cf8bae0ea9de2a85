/// Decoded pixels: 8-bit RGBA, row-major, straight (not premultiplied) alpha.
public struct RGBAImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 4, "RGBA buffer size")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// EXIF orientation 1–8 applied, so the image stands as its author saw it.
    public func oriented(_ orientation: Int) -> RGBAImage {
        guard (2...8).contains(orientation) else { return self }
        let swap = orientation >= 5
        let (W, H) = swap ? (height, width) : (width, height)
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<H {
                    for x in 0..<W {
                        // (x, y) in the output comes from (sx, sy) in the stored image.
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (width - 1 - x, y)
                        case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
                        case 4: (sx, sy) = (x, height - 1 - y)
                        case 5: (sx, sy) = (y, x)
                        case 6: (sx, sy) = (y, height - 1 - x)
                        case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
                        default: (sx, sy) = (width - 1 - y, x)   // 8
                        }
                        let s = (sy * width + sx) * 4, d = (y * W + x) * 4
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]; dst[d + 3] = src[s + 3]
                    }
                }
            }
        }
        return RGBAImage(width: W, height: H, pixels: out)
    }
}

/// A decoded file: its pixels as displayed and what it was.
public struct DecodedImage: Sendable {
    public var image: RGBAImage
    public var format: ImageFormat
    /// Size as stored, before orientation (the file's own size, even when
    /// `image` is a reduced decode).
    public var storedWidth: Int
    public var storedHeight: Int
    public var orientation: Int
    public var hasAlpha: Bool
    public var animated: Bool

    /// The file's size as displayed (orientation applied), whatever size
    /// the pixels were decoded at.
    public var width: Int { (5...8).contains(orientation) ? storedHeight : storedWidth }
    public var height: Int { (5...8).contains(orientation) ? storedWidth : storedHeight }
    /// Whether `image` is smaller than the file (a `ReducedDecode`).
    public var isReduced: Bool { image.width != width || image.height != height }
}
