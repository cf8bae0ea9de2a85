import Foundation
import RevsdSystem
import Synchronization

/// Metadata kept beside an image rather than in it: a DiffusionDB part file
/// (part-000001.json: {"image.webp": {"p": prompt, "se": seed, "c": cfg,
/// "st": steps, "sa": sampler}}) in the same folder, or a same-named .txt
/// caption (image.png → image.txt).
enum SidecarReader {
    static func read(forImageAt path: String) -> GenerationMetadata? {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        if let m = diffusionDB(folder: folder, imageName: name) { return m.bounded() }
        return caption(url.deletingPathExtension().appendingPathExtension("txt").path)?.bounded()
    }

    /// "part-" digits ".json"
    static func isPartFile(_ name: String) -> Bool {
        guard name.hasPrefix("part-"), name.hasSuffix(".json") else { return false }
        let digits = name.dropFirst(5).dropLast(5)
        return !digits.isEmpty && digits.allSatisfy(\.isNumber)
    }

    static func diffusionDB(folder: String, imageName: String) -> GenerationMetadata? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return nil }
        for part in names.filter(isPartFile).sorted() {
            let partPath = (folder as NSString).appendingPathComponent(part)
            guard let table = DiffusionDBCache.shared.table(at: partPath), let entry = table[imageName]?.object else { continue }
            guard let prompt = entry["p"]?.string else { continue }
            var m = GenerationMetadata(prompt: prompt, source: "diffusiondb", raw: "")
            m.seed = entry["se"]?.uint64
            m.cfgScale = entry["c"]?.double
            m.steps = entry["st"]?.int
            m.sampler = entry["sa"]?.scalarText
            m.width = entry["w"]?.int
            m.height = entry["h"]?.int
            m.raw = "\(part): \(imageName)"
            return m
        }
        return nil
    }

    static func caption(_ path: String) -> GenerationMetadata? {
        guard let size = Syscalls.fileSize(path), size <= MetadataLimits.captionBytes,
              let bytes = try? Syscalls.readFile(path, limit: MetadataLimits.captionBytes) else { return nil }
        let text = TextDecoding.utf8OrLatin1(bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes)
        let trimmed = text.trimmingWhitespaceAndNUL
        guard !trimmed.isEmpty else { return nil }
        var m = A1111Parameters.parse(trimmed)?.metadata(raw: text, source: "caption-txt")
            ?? GenerationMetadata(prompt: trimmed, source: "caption-txt", raw: text)
        if m.prompt?.isEmpty == true { m.prompt = nil }
        return m
    }
}

/// The last DiffusionDB part file parsed, kept while its size and modification
/// time stay the same: a folder of a thousand images shares one part file.
final class DiffusionDBCache: Sendable {
    static let shared = DiffusionDBCache()
    private struct Entry {
        var key: (path: String, size: Int, modified: Date)?
        var table: JSONObject?
    }
    /// Held while a part file is read and parsed: workers asking for the same
    /// file wait for the one parse instead of each doing it.
    private let entry = Mutex(Entry())

    func table(at path: String) -> JSONObject? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue, size <= MetadataLimits.diffusionDBBytes,
              let modified = attributes[.modificationDate] as? Date else { return nil }
        return entry.withLock { e -> JSONObject? in
            if let k = e.key, k.path == path, k.size == size, k.modified == modified { return e.table }
            guard let bytes = try? Syscalls.readFile(path, limit: MetadataLimits.diffusionDBBytes),
                  let table = try? JSONParser.object(String(decoding: bytes, as: UTF8.self)) else { return nil }
            e.key = (path, size, modified)
            e.table = table
            return table
        }
    }
}
