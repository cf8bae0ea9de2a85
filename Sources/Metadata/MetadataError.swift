/// A problem in the metadata of one file. Reading goes on past most of them;
/// `MetadataReader` turns each into a note that names the file.
public enum MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A structure (chunk, segment, IFD, string...) runs past the end of its data.
    case truncated(String)
    /// A structure is present but malformed.
    case malformed(String)
    /// A PNG chunk whose stored CRC-32 does not match its content.
    case badCRC(chunk: String, offset: Int)
    /// Decompressed or declared data larger than the limit.
    case tooLarge(String, limit: Int)
    /// zlib/gzip data that does not inflate.
    case badCompression(String)
    /// Text that was expected to be JSON and is not.
    case invalidJSON(String)
    /// JSON nested deeper than the limit.
    case nestingTooDeep(limit: Int)

    public var description: String {
        switch self {
        case .truncated(let what): return "truncated: \(what)"
        case .malformed(let what): return "malformed: \(what)"
        case .badCRC(let chunk, let offset): return "bad CRC in PNG chunk \(chunk) at offset \(offset)"
        case .tooLarge(let what, let limit): return "\(what) exceeds the limit of \(limit) bytes"
        case .badCompression(let what): return "bad compressed data: \(what)"
        case .invalidJSON(let what): return "invalid JSON: \(what)"
        case .nestingTooDeep(let limit): return "JSON nested deeper than \(limit) levels"
        }
    }
}

/// Limits that keep hostile files from costing much memory or time.
enum MetadataLimits {
    /// Decompressed bytes per file, all chunks together (zTXt/iTXt, stealth gzip).
    static let inflatedBytes = 64 << 20
    /// Largest JSON document parsed, and most values in it (memory stays a
    /// small multiple of the text's size).
    static let jsonBytes = 16 << 20
    static let jsonValues = 1 << 20
    /// Deepest JSON nesting accepted.
    static let jsonDepth = 128
    /// Largest sidecar caption file read.
    static let captionBytes = 1 << 20
    /// Largest DiffusionDB part file read (a real one is under 1 MiB).
    static let diffusionDBBytes = jsonBytes
    /// IFDs visited per TIFF (IFD0, Exif, a few more), and entries per IFD.
    static let ifdCount = 8
    static let ifdEntries = 4096
}
