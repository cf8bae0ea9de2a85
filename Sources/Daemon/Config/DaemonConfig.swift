import Foundation
#if canImport(Glibc)
import Glibc
import Learning
import Models
import RevsdSystem
#endif

/// revsdd's settings: defaults for the system service or a user instance,
/// then the TOML file, then command-line flags (which win).
public struct DaemonConfig: Sendable, Equatable {
    public var watch: [String]
    public var stateDirectory: String
    public var modelsDirectory: String?
    public var socketPath: String
    /// Group owning the socket (mode 0660); nil keeps the daemon's group.
    public var socketGroup: String?
    public var workers: Int
    public var batchSize: Int
    public var imageEncoders: [String]
    public var clipFolders: [String]
    /// Retrain on its own once this many new labelled images arrived since the
    /// last training (0: only on `revsdctl train`).
    public var retrainAfter: Int = 200
    public var training = TrainingOptions()
    /// How much a search's lexical evidence adds to an image's score: the
    /// share of the query's words its known prompt holds, times this
    /// (`[search] lexical_weight`; 0: the vector ranking alone). The default
    /// is the best of those measured by bench/relevance.sh (bench/RESULTS.md).
    public var lexicalWeight: Float = DaemonConfig.defaultLexicalWeight
    public static let defaultLexicalWeight: Float = 0.2
    /// Where revsd-web listens (`[web] listen`): HOST:PORT, [IPV6]:PORT or unix:/path.
    public var webListen = DaemonConfig.defaultWebListen
    public static let defaultWebListen = "127.0.0.1:8277"
    /// The web page's token file (`[web] token_file`; nil: `web-token` in the state directory).
    public var webTokenFile: String?
    /// The token file revsd-web reads and revsdd creates.
    public var webTokenPath: String { webTokenFile ?? stateDirectory + "/web-token" }
    /// The gallery's thumbnail cache bound, MiB (`[web] thumbnail_cache_mib`):
    /// past it the least recently served thumbnails go (ThumbnailCache).
    public var thumbnailCacheMiB: Int = DaemonConfig.defaultThumbnailCacheMiB
    public static let defaultThumbnailCacheMiB = 1024

    public static let knownImageEncoders = EfficientNetLiteVariant.allCases.map(\.id)

    /// Defaults: the system service (root, or systemd's StateDirectory=) keeps
    /// state in /var/lib/revsd and listens on /run/revsd/revsdd.sock; a user
    /// instance uses $XDG_STATE_HOME/revsd and $XDG_RUNTIME_DIR/revsd/revsdd.sock.
    public static func defaults(environment env: [String: String] = ProcessInfo.processInfo.environment,
                                isRoot: Bool = CurrentProcess.isRoot) -> DaemonConfig {
        let home = env["HOME"] ?? NSHomeDirectory()
        let state: String
        let socket: String
        if let s = env["STATE_DIRECTORY"]?.split(separator: ":").first {
            state = String(s)
        } else if isRoot {
            state = "/var/lib/revsd"
        } else {
            state = (env["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.local/state") + "/revsd"
        }
        if let r = env["RUNTIME_DIRECTORY"]?.split(separator: ":").first {
            socket = String(r) + "/revsdd.sock"
        } else if isRoot {
            socket = "/run/revsd/revsdd.sock"
        } else {
            socket = env["XDG_RUNTIME_DIR"].flatMap { $0.hasPrefix("/") ? $0 + "/revsd/revsdd.sock" : nil } ?? state + "/revsdd.sock"
        }
        return DaemonConfig(watch: [], stateDirectory: state, modelsDirectory: nil, socketPath: socket, socketGroup: nil,
                            workers: max(1, ProcessInfo.processInfo.activeProcessorCount), batchSize: 8,
                            imageEncoders: knownImageEncoders, clipFolders: [])
    }

    /// Where the configuration file is looked for when none is named.
    public static func defaultFile(environment env: [String: String] = ProcessInfo.processInfo.environment,
                                   isRoot: Bool = CurrentProcess.isRoot) -> String {
        if isRoot || env["STATE_DIRECTORY"] != nil { return "/etc/revsd/revsdd.toml" }
        let home = env["HOME"] ?? NSHomeDirectory()
        return (env["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? home + "/.config") + "/revsd/revsdd.toml"
    }

    /// Applies a TOML file over these settings. A missing file is no error
    /// when `required` is false; an invalid one always is, with its line.
    public mutating func apply(file path: String, required: Bool) throws(ConfigError) {
        let data: Data
        do { data = Data(try Syscalls.readFile(path, limit: 1 << 20)) } catch {
            if error.errno == ENOENT && !required { return }
            throw ConfigError(path: path, line: nil, reason: "cannot read the file: \(error.reason)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigError(path: path, line: nil, reason: "not UTF-8 text") }
        let tables: [String: [String: TOMLEntry]]
        do { tables = try TOMLSubset.parse(text) } catch { throw ConfigError(path: path, line: error.line, reason: error.reason) }
        for (table, entries) in tables {
            for (key, entry) in entries {
                func bad(_ r: String) -> ConfigError { ConfigError(path: path, line: entry.line, reason: r) }
                func string() throws(ConfigError) -> String {
                    guard case .string(let s) = entry.value else { throw bad("'\(key)' must be a string") }
                    return s
                }
                func strings() throws(ConfigError) -> [String] {
                    guard case .array(let items) = entry.value else { throw bad("'\(key)' must be an array of strings") }
                    var out: [String] = []
                    for item in items { guard case .string(let s) = item else { throw bad("'\(key)' must be an array of strings") }; out.append(s) }
                    return out
                }
                func positive() throws(ConfigError) -> Int {
                    guard case .integer(let n) = entry.value, n > 0, n <= 1024 else { throw bad("'\(key)' must be an integer from 1 to 1024") }
                    return n
                }
                switch (table, key) {
                case ("", "watch"): watch = try strings().map(Self.absolute)
                case ("", "state_dir"): stateDirectory = Self.absolute(try string())
                case ("", "models_dir"): modelsDirectory = Self.absolute(try string())
                case ("", "socket"): socketPath = Self.absolute(try string())
                case ("", "socket_group"): socketGroup = try string()
                case ("", "workers"): workers = try positive()
                case ("", "batch_size"): batchSize = try positive()
                case ("models", "image_encoders"):
                    let list = try strings()
                    if let unknown = list.first(where: { !Self.knownImageEncoders.contains($0) }) {
                        throw bad("unknown image encoder '\(unknown)' (known: \(Self.knownImageEncoders.joined(separator: ", ")))")
                    }
                    imageEncoders = list
                case ("models", "clip"): clipFolders = try strings().map(Self.absolute)
                case ("learning", "retrain_after"):
                    guard case .integer(let n) = entry.value, n >= 0 else { throw bad("'\(key)' must be a non-negative integer") }
                    retrainAfter = n
                case ("learning", "vocabulary_size"): training.vocabularySize = try positive()
                case ("learning", "dakl_gamma"), ("learning", "dakl_alpha"):
                    let value: Float
                    switch entry.value {
                    case .integer(let n): value = Float(n)
                    case .float(let f): value = Float(f)
                    default: throw bad("'\(key)' must be a positive number")
                    }
                    guard value > 0 else { throw bad("'\(key)' must be a positive number") }
                    if key == "dakl_gamma" { training.daklGammas = [value] } else { training.daklAlpha = value }
                case ("learning", "max_epochs"): training.maxEpochs = try positive()
                case ("learning", "adoption_margin"):
                    // Negative margins adopt a model that loses to zero-shot: refused.
                    switch entry.value {
                    case .integer(let n) where n >= 0 && n <= 2: training.adoptionMargin = Float(n)
                    case .float(let f) where f >= 0 && f <= 2: training.adoptionMargin = Float(f)
                    default: throw bad("'\(key)' must be a number from 0 to 2 (how much the learned model must beat zero-shot by)")
                    }
                case ("learning", "curriculum"):
                    guard case .array(let items) = entry.value, !items.isEmpty else { throw bad("'\(key)' must be an array of fractions, e.g. [0.333, 0.5, 1.0]") }
                    var fractions: [Float] = []
                    for item in items {
                        switch item {
                        case .float(let f): fractions.append(Float(f))
                        case .integer(let n): fractions.append(Float(n))
                        default: throw bad("'\(key)' must be an array of fractions, e.g. [0.333, 0.5, 1.0]")
                        }
                    }
                    guard fractions.allSatisfy({ $0 > 0 && $0 <= 1 }), fractions == fractions.sorted() else {
                        throw bad("'\(key)' fractions must grow and lie in (0, 1]")
                    }
                    training.curriculumFractions = fractions
                case ("search", "lexical_weight"):
                    let value: Float
                    switch entry.value {
                    case .integer(let n): value = Float(n)
                    case .float(let f): value = Float(f)
                    default: throw bad("'\(key)' must be a number from 0 to 1")
                    }
                    guard value >= 0, value <= 1 else { throw bad("'\(key)' must be a number from 0 to 1") }
                    lexicalWeight = value
                case ("web", "listen"): webListen = try string()
                case ("web", "token_file"): webTokenFile = Self.absolute(try string())
                case ("web", "thumbnail_cache_mib"):
                    guard case .integer(let n) = entry.value, n >= 1, n <= 1 << 20 else {
                        throw bad("'\(key)' must be an integer from 1 to \(1 << 20) (MiB)")
                    }
                    thumbnailCacheMiB = n
                case ("learning", "ensemble_weights"):
                    switch try string() {
                    case "fitted": training.fitEnsembleWeights = true
                    case "equal": training.fitEnsembleWeights = false
                    default: throw bad("'\(key)' must be \"fitted\" or \"equal\"")
                    }
                default:
                    throw bad(table.isEmpty ? "unknown setting '\(key)'" : "unknown setting '\(key)' in [\(table)]")
                }
            }
        }
    }

    static func absolute(_ p: String) -> String {
        let expanded = (p as NSString).expandingTildeInPath
        return URL(fileURLWithPath: expanded).standardizedFileURL.path
    }
}

public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let line: Int?
    public let reason: String
    public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
}
