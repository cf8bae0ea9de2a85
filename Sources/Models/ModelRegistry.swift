import Foundation
import Inference
#if canImport(Glibc)
import Glibc
import RevsdSystem
#endif

/// A model folder the user registered (`revsdctl models add clip PATH`): one
/// more ensemble member beside the pinned models of `ModelCatalog`.
public struct RegisteredModel: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case clip
    }

    /// A weights file as it was when registered.
    public struct File: Sendable, Equatable, Codable {
        public var path: String
        public var size: Int
        public var sha256: String
    }

    /// The name users type, unique among the models.
    public var name: String
    public var kind: Kind
    /// A `CLIPModel` folder, or the folder of one tower.
    public var path: String
    /// The text tower's folder when it is separate from `path`.
    public var textPath: String?
    /// "vision", "text": what the folders hold.
    public var towers: [String]
    public var files: [File]
    /// When it was registered (ISO 8601).
    public var added: String

    enum CodingKeys: String, CodingKey {
        case name, kind, path, textPath = "text_path", towers, files, added
    }

    public var size: Int { files.reduce(0) { $0 + $1.size } }
    /// sha256 of the weights (of the vision tower's when the towers are separate).
    public var sha256: String { files.first?.sha256 ?? "" }
}

/// The registered models of a models directory, kept in
/// `<models>/registered.json` (the daemon reads the same file). Every change
/// is made under a lock and written atomically (temporary file, fsync,
/// rename), so a reader never sees half a file.
public struct ModelRegistry: Sendable {
    public static let fileName = "registered.json"
    public let store: ModelStore

    public init(store: ModelStore) { self.store = store }

    public var url: URL { store.root.appendingPathComponent(Self.fileName) }

    struct Document: Codable {
        var version: Int
        var models: [RegisteredModel]
    }

    /// The registered models; none when the file does not exist.
    public func load() throws -> [RegisteredModel] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let bytes: [UInt8]
        do { bytes = try Syscalls.readFile(url.path, limit: 16 << 20) } catch { throw ModelRegistryError.unreadable(path: url.path, reason: "\(error)") }
        let doc: Document
        do { doc = try JSONDecoder().decode(Document.self, from: Data(bytes)) } catch {
            throw ModelRegistryError.unreadable(path: url.path, reason: "not a registry of models (\(Self.reason(error)))")
        }
        guard doc.version == 1 else { throw ModelRegistryError.unreadable(path: url.path, reason: "version \(doc.version), expected 1") }
        return doc.models
    }

    public func model(named name: String) throws -> RegisteredModel? {
        try load().first { $0.name.lowercased() == name.lowercased() }
    }

    /// Loads the CLIP folder(s) completely (configuration, every tensor, the
    /// tokenizer, the preprocessing), then registers them under `name`
    /// (default: the folder's name). A folder that does not load is refused
    /// with the loader's error.
    @discardableResult
    public func addCLIP(folder: URL, textFolder: URL? = nil, name: String? = nil, now: Date = Date()) throws -> RegisteredModel {
        let folder = folder.standardizedFileURL, textFolder = textFolder?.standardizedFileURL
        let name = name ?? folder.lastPathComponent
        try Self.validate(name: name)
        let encoder = try CLIPEncoder(folder: folder, textFolder: textFolder, name: name)
        var files: [RegisteredModel.File] = []
        for dir in [folder, textFolder].compactMap({ $0 }) {
            let path = dir.appendingPathComponent("model.safetensors").path
            let digest: String
            do { digest = try SHA256.hex(ofFile: path) } catch { throw ModelRegistryError.unreadable(path: path, reason: "\(error)") }
            files.append(.init(path: path, size: Syscalls.fileSize(path) ?? 0, sha256: digest))
        }
        let model = RegisteredModel(name: name, kind: .clip, path: folder.path, textPath: textFolder?.path,
                                    towers: (encoder.hasVision ? ["vision"] : []) + (encoder.hasText ? ["text"] : []),
                                    files: files, added: ISO8601DateFormatter().string(from: now))
        try update { models in
            if let other = models.first(where: { $0.name.lowercased() == name.lowercased() }) {
                throw ModelRegistryError.duplicateName(name: name, path: other.path)
            }
            models.append(model)
        }
        return model
    }

    /// Forgets a registered model (its files are left alone).
    public func remove(named name: String) throws {
        try update { models in
            guard let i = models.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw ModelRegistryError.notRegistered(name: name, registry: url.path)
            }
            models.remove(at: i)
        }
    }

    /// The encoder of a registered CLIP model.
    public func clipEncoder(_ model: RegisteredModel) throws -> CLIPEncoder {
        try CLIPEncoder(folder: URL(fileURLWithPath: model.path, isDirectory: true),
                        textFolder: model.textPath.map { URL(fileURLWithPath: $0, isDirectory: true) }, name: model.name)
    }

    /// Problems with a registered model's weights now (empty when they are
    /// the files that were registered).
    public static func verify(_ model: RegisteredModel) -> [String] {
        var problems: [String] = []
        for file in model.files {
            guard let size = Syscalls.fileSize(file.path) else { problems.append("\(file.path): missing"); continue }
            guard size == file.size else { problems.append("\(file.path): \(size) bytes, registered with \(file.size)"); continue }
            do {
                let digest = try SHA256.hex(ofFile: file.path)
                if digest != file.sha256 { problems.append(ModelError.checksumMismatch(path: file.path, expected: file.sha256, actual: digest).description) }
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }

    /// Read, change, write back atomically, under an exclusive lock.
    func update(_ change: (inout [RegisteredModel]) throws -> Void) throws {
        try Syscalls.makeDirectories(store.root.path)
        let lock = try Syscalls.lockFile(url.path + ".lock")
        defer { Syscalls.close(lock) }
        var models = try load()
        try change(&models)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Document(version: 1, models: models)) + Data("\n".utf8)
        try AtomicFile.write(data, to: url.path)
    }

    /// Letters, digits, '.', '_', '-'; not the name of a pinned model.
    static func validate(name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
        guard !name.isEmpty, name.count <= 100, allowed, !name.hasPrefix(".") else { throw ModelRegistryError.invalidName(name) }
        if ModelCatalog.model(named: name) != nil { throw ModelRegistryError.reservedName(name) }
    }

    static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong value at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "invalid JSON"
        }
    }
}

public enum ModelRegistryError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case duplicateName(name: String, path: String)
    case notRegistered(name: String, registry: String)
    case invalidName(String)
    case reservedName(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "\(path): \(reason)"
        case let .duplicateName(name, path): return "\(name): already registered (\(path)); choose another --name or `revsdctl models remove \(name)`"
        case let .notRegistered(name, registry): return "\(name): not a registered model (\(registry))"
        case let .invalidName(name): return "\(name.debugDescription): invalid model name (letters, digits, '.', '_', '-')"
        case let .reservedName(name): return "\(name): the name of a built-in model; choose another --name"
        }
    }
}
