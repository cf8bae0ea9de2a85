/// The ways a user's copy of an image differs from the file it came from:
/// opened and saved again by another program, so its bytes, its metadata
/// and often its size differ while the picture does not. `eval`'s
/// near-duplicate rule is measured and tested against these
/// (`revsd-bench neardup`, NearDuplicateTests).
public enum ResavedCopy: String, CaseIterable, Sendable {
    /// Saved again as a high-quality JPEG, metadata gone.
    case jpeg95
    /// Saved again as an ordinary JPEG (quality 75).
    case jpeg75
    /// Resized to half its width and height (bicubic), JPEG 90.
    case half
    /// Resized so its long side is 512 px, then WebP quality 75 (what a
    /// web page or a chat program serves).
    case web512
    /// A quarter of its width and height, JPEG 60: a small, lossy preview.
    case quarter

    /// The copy's file bytes.
    public func bytes(of image: RGBAImage, name: String) throws(ImageError) -> [UInt8] {
        switch self {
        case .jpeg95: return try JPEGEncoder.encode(image.pixels, width: image.width, height: image.height, quality: 95, name: name)
        case .jpeg75: return try JPEGEncoder.encode(image.pixels, width: image.width, height: image.height, quality: 75, name: name)
        case .half:
            let r = Self.resized(image, scale: 0.5)
            return try JPEGEncoder.encode(r.pixels, width: r.width, height: r.height, quality: 90, name: name)
        case .web512:
            let r = Self.resized(image, scale: min(1, 512 / Double(max(image.width, image.height))))
            return try WebPEncoder.encode(r.pixels, width: r.width, height: r.height, channels: 4, quality: 75, name: name)
        case .quarter:
            let r = Self.resized(image, scale: 0.25)
            return try JPEGEncoder.encode(r.pixels, width: r.width, height: r.height, quality: 60, name: name)
        }
    }

    /// The file extension the copy is written with.
    public var fileExtension: String { self == .web512 ? "webp" : "jpg" }

    static func resized(_ image: RGBAImage, scale: Double) -> RGBAImage {
        let w = max(1, Int((Double(image.width) * scale).rounded())), h = max(1, Int((Double(image.height) * scale).rounded()))
        if w == image.width && h == image.height { return image }
        return RGBAImage(width: w, height: h, pixels: PILResample.bicubicRGBA(image, width: w, height: h))
    }
}
