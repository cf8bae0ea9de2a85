/// Why an image could not be used. Each case names the file and the problem
/// in one line; bad input is a value, never a crash.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unknownFormat(path: String)
    case tooLarge(path: String, reason: String)
    case corrupt(path: String, format: ImageFormat, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .unknownFormat(path): return "\(path): not a PNG, JPEG or WebP image"
        case let .tooLarge(path, reason): return "\(path): refused: \(reason)"
        case let .corrupt(path, format, reason): return "\(path): broken \(format.rawValue.uppercased()): \(reason)"
        }
    }
}

import RevsdSystem

extension ImageError {
    /// A file that could not be read whole, as the image error it is.
    public init(_ e: FileReadError) {
        switch e {
        case .tooLarge: self = .tooLarge(path: e.path, reason: e.reason)
        default: self = .unreadable(path: e.path, reason: e.reason)
        }
    }
}

public enum ImageFormat: String, Sendable, Codable {
    case png, jpeg, webp

    /// The format from the first bytes, whatever the file is named.
    public static func detect(_ b: UnsafeRawBufferPointer) -> ImageFormat? {
        if b.count >= 8 && b[0] == 0x89 && b[1] == 0x50 && b[2] == 0x4E && b[3] == 0x47
            && b[4] == 0x0D && b[5] == 0x0A && b[6] == 0x1A && b[7] == 0x0A { return .png }
        if b.count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF { return .jpeg }
        if b.count >= 12 && b[0] == 0x52 && b[1] == 0x49 && b[2] == 0x46 && b[3] == 0x46
            && b[8] == 0x57 && b[9] == 0x45 && b[10] == 0x42 && b[11] == 0x50 { return .webp }
        return nil
    }
}

/// Bounds that keep a hostile file from exhausting memory.
public struct ImageLimits: Sendable, Equatable {
    public var maxFileBytes: Int
    public var maxPixels: Int
    public var maxSide: Int

    public init(maxFileBytes: Int = 256 << 20, maxPixels: Int = 80_000_000, maxSide: Int = 32_768) {
        self.maxFileBytes = maxFileBytes; self.maxPixels = maxPixels; self.maxSide = maxSide
    }

    func check(width: Int, height: Int, path: String) throws(ImageError) {
        guard width > 0, height > 0 else { throw .tooLarge(path: path, reason: "image is \(width)×\(height)") }
        guard width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw .tooLarge(path: path, reason: "\(width)×\(height) pixels exceeds the limit of \(maxPixels) pixels, \(maxSide) a side (decompression bomb?)")
        }
    }
}
