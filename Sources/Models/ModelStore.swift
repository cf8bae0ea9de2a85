import Foundation
import RevsdSystem

/// Where models live on disk. One directory, chosen in this order:
/// `--models DIR`, `$REVSD_MODELS`, systemd's `$STATE_DIRECTORY/models` (the
/// system service), `/var/lib/revsd/models` for root, else the XDG data
/// directory of the user (`$XDG_DATA_HOME/revsd/models`, by default
/// `~/.local/share/revsd/models`).
public struct ModelStore: Sendable, Equatable {
    public let root: URL
    /// Why this directory was chosen, for messages ("--models", "REVSD_MODELS", …).
    public let origin: String

    public init(root: URL, origin: String = "explicit") {
        self.root = root.standardizedFileURL
        self.origin = origin
    }

    public static func resolve(explicit: String? = nil,
                               environment env: [String: String] = ProcessInfo.processInfo.environment,
                               isRoot: Bool = CurrentProcess.isRoot) -> ModelStore {
        func url(_ p: String) -> URL { URL(fileURLWithPath: (p as NSString).expandingTildeInPath) }
        if let explicit, !explicit.isEmpty { return ModelStore(root: url(explicit), origin: "--models") }
        if let v = env["REVSD_MODELS"], !v.isEmpty { return ModelStore(root: url(v), origin: "REVSD_MODELS") }
        if let v = env["STATE_DIRECTORY"], let first = v.split(separator: ":").first, !first.isEmpty {
            return ModelStore(root: url(String(first)).appendingPathComponent("models"), origin: "STATE_DIRECTORY")
        }
        if isRoot { return ModelStore(root: URL(fileURLWithPath: "/var/lib/revsd/models"), origin: "system default") }
        if let v = env["XDG_DATA_HOME"], v.hasPrefix("/") {
            return ModelStore(root: url(v).appendingPathComponent("revsd/models"), origin: "XDG_DATA_HOME")
        }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return ModelStore(root: URL(fileURLWithPath: home).appendingPathComponent(".local/share/revsd/models"),
                          origin: "XDG default")
    }

    public func folder(for model: PinnedModel) -> URL {
        root.appendingPathComponent(model.id, isDirectory: true)
    }

    /// The prompt encoder's folder: `override` when the user named a Hugging
    /// Face folder of the same architecture, else the installed default.
    public func promptEncoderFolder(override: String? = nil) throws -> URL {
        if let override, !override.isEmpty {
            return URL(fileURLWithPath: (override as NSString).expandingTildeInPath, isDirectory: true)
        }
        return try installedFolder(for: ModelCatalog.miniLM)
    }

    /// Whether `model` was installed here (a fetch writes its manifest last).
    public func isInstalled(_ model: PinnedModel) -> Bool {
        FileManager.default.fileExists(atPath: folder(for: model).appendingPathComponent(ModelFetcher.manifestName).path)
    }

    /// The folder of an installed model, or `notInstalled`.
    public func installedFolder(for model: PinnedModel) throws(ModelStoreError) -> URL {
        guard isInstalled(model) else { throw .notInstalled(model: model.id, store: self) }
        return folder(for: model)
    }

    /// The installed EfficientNet-Lite encoders, every variant (all are needed).
    public func imageEncoders() throws -> [EfficientNetLiteEncoder] {
        try EfficientNetLiteVariant.allCases.map { v in
            try EfficientNetLiteEncoder(folder: installedFolder(for: v.pinned), variant: v)
        }
    }
}

public enum ModelStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case notInstalled(model: String, store: ModelStore)
    case downloadFailed(requirement: String, reason: String)
    case unknownModel(String)

    public var description: String {
        switch self {
        case let .notInstalled(model, store):
            return "\(store.root.path): model \(model) is not installed (models directory from \(store.origin)); run `revsdctl models fetch`"
        case let .downloadFailed(requirement, reason):
            return "\(requirement): download failed: \(reason)"
        case let .unknownModel(name):
            return "\(name): no such model; known: \(ModelCatalog.all.map(\.id).joined(separator: ", "))"
        }
    }
}
