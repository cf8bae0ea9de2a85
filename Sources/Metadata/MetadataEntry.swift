/// One named piece of text found in a file's container: a PNG text chunk, an
/// EXIF tag, an XMP property, a JPEG comment. Interpretation works on these,
/// whatever container they came from.
struct MetadataEntry: Equatable, Sendable {
    /// The chunk keyword or tag name: "parameters", "prompt", "UserComment",
    /// "ImageDescription", "Make", "XMP:description"...
    var key: String
    var text: String
    /// Where it was found, for notes: "PNG tEXt", "EXIF", "XMP", "JPEG COM".
    var origin: String
}

/// What a container walker collects from one file.
struct ContainerScan {
    var entries: [MetadataEntry] = []
    var problems: [MetadataError] = []
    var inflater = Inflater()

    mutating func add(_ key: String, _ text: String, origin: String) {
        entries.append(MetadataEntry(key: key, text: text, origin: origin))
    }
}
