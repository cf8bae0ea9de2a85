/// Reads the generation metadata that image files carry: PNG text and EXIF
/// chunks, JPEG EXIF/XMP/comments, WebP EXIF/XMP, in the formats of
/// AUTOMATIC1111 and its forks, ComfyUI, InvokeAI, NovelAI, Fooocus, SwarmUI,
/// Draw Things and others. Pure Swift over the file's bytes; pixels are never
/// decoded here (see `stealth` for the copy hidden in them).
public enum MetadataReader {
    enum Container { case png, jpeg, webp }

    static func container(_ b: UnsafeRawBufferPointer) -> Container? {
        if b.count >= 8, (0..<8).allSatisfy({ b[$0] == PNGChunks.signature[$0] }) { return .png }
        if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF { return .jpeg }
        if b.matches("RIFF", at: 0), b.matches("WEBP", at: 8) { return .webp }
        return nil
    }

    /// Metadata from a whole image file's bytes (PNG, JPEG or WebP, told apart
    /// by content, not extension). Never fails: problems become notes.
    public static func read(_ bytes: UnsafeRawBufferPointer, path: String) -> MetadataReport {
        var scan = ContainerScan()
        switch container(bytes) {
        case .png: PNGChunks.read(bytes, into: &scan)
        case .jpeg: JPEGSegments.read(bytes, into: &scan)
        case .webp: WebPChunks.read(bytes, into: &scan)
        case nil:
            let what = bytes.isEmpty ? "the file is empty" : "not a PNG, JPEG or WebP file"
            return MetadataReport(metadata: nil, notes: ["\(path): \(what)"])
        }
        var problems = scan.problems
        let metadata = MetadataInterpreter.interpret(scan.entries, problems: &problems)
        return MetadataReport(metadata: metadata, notes: problems.map { "\(path): \($0)" })
    }

    /// The "stealth" copy hidden in the alpha channel's least significant bits
    /// (or the RGB ones), from decoded RGBA8 pixels (row-major, 4 bytes per
    /// pixel, width*height*4 bytes). nil when absent or unreadable.
    public static func stealth(width: Int, height: Int, rgba: UnsafeRawBufferPointer) -> GenerationMetadata? {
        stealthReport(width: width, height: height, rgba: rgba, path: "").metadata
    }

    /// `stealth` with the problems met (a damaged payload) as notes.
    public static func stealthReport(width: Int, height: Int, rgba: UnsafeRawBufferPointer, path: String) -> MetadataReport {
        let payload: StealthDecoder.Payload?
        do throws(MetadataError) {
            payload = try StealthDecoder.decode(width: width, height: height, rgba: rgba)
        } catch {
            return MetadataReport(metadata: nil, notes: ["\(path): stealth metadata: \(error)"])
        }
        guard let payload else { return MetadataReport(metadata: nil, notes: []) }
        let origin = "stealth \(payload.signature)"
        let entries = [MetadataEntry(key: "parameters", text: payload.text, origin: origin)]
        var problems: [MetadataError] = []
        let metadata = MetadataInterpreter.interpret(entries, problems: &problems)
        return MetadataReport(metadata: metadata, notes: problems.map { "\(path): \($0)" })
    }

    /// Sidecars next to an image: a DiffusionDB part JSON in the same folder
    /// ({"image.webp": {"p": prompt, "se": seed, "c": cfg, "st": steps, "sa": sampler}},
    /// files named like part-000001.json), or a same-named .txt caption file
    /// (image.png → image.txt). nil when none.
    public static func sidecar(forImageAt path: String) -> GenerationMetadata? {
        SidecarReader.read(forImageAt: path)
    }
}
