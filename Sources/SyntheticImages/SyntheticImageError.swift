/// What went wrong while encoding or writing synthetic images. Each case says
/// what was expected and, for files, names the path.
public enum SyntheticImageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Width or height is not in 1...PNGWriter.maxDimension.
    case invalidSize(width: Int, height: Int)
    /// The pixel buffer does not hold width × height × channels bytes.
    case pixelCountMismatch(expected: Int, actual: Int)
    /// A text chunk keyword is not 1–79 printable Latin-1 characters without
    /// leading, trailing or repeated spaces (PNG 1.2, 11.3.4.3).
    case invalidKeyword(String)
    /// zlib's `compress2` failed with this return code.
    case compressionFailed(code: Int32)
    /// A file could not be written; `reason` is the underlying error.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidSize(let w, let h): "invalid image size \(w)×\(h): each side must be 1...\(PNGWriter.maxDimension)"
        case .pixelCountMismatch(let e, let a): "pixel buffer has \(a) bytes, expected \(e)"
        case .invalidKeyword(let k): "invalid PNG text keyword \"\(k)\": 1–79 printable Latin-1 characters, no leading, trailing or double spaces"
        case .compressionFailed(let code): "zlib compress2 failed (code \(code))"
        case .io(let path, let reason): "\(path): cannot write: \(reason)"
        }
    }
}
