import ArgumentParser
import Foundation
import Indexer
import Inference

/// revsdd, the indexing daemon. This first version only resolves and loads
/// its models (`--check-models`); watching, the index and the socket come
/// with the daemon work.
@main
struct Revsdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revsdd",
        abstract: "The revsd indexing daemon.",
        version: RevsdVersion.string)

    @Option(name: .long, help: ArgumentHelp("Models directory (default: $REVSD_MODELS, $STATE_DIRECTORY/models, /var/lib/revsd/models for root, else XDG).", valueName: "dir"))
    var models: String?

    @Flag(name: .long, help: "Load every model, print what was loaded, and exit.")
    var checkModels = false

    func run() throws {
        let store = ModelStore.resolve(explicit: models)
        guard checkModels else {
            FileHandle.standardError.write(Data("revsdd: watching and indexing are not implemented yet; only --check-models works\n".utf8))
            throw ExitCode.failure
        }
        do {
            let folder = try store.promptEncoderFolder()
            let encoder = try SentenceEncoder(folder: folder)
            print("\(ModelCatalog.miniLM.id): ok (\(folder.path), \(encoder.dimension)-d, max \(encoder.maxSequenceLength) word pieces)")
        } catch {
            FileHandle.standardError.write(Data("revsdd: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
