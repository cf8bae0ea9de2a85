import ArgumentParser
import Foundation
import Daemon
import Inference
import RevsdSystem

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the all-MiniLM-L6-v2 embedding of each text (computed here, no daemon needed).",
        discussion: """
            Texts come from the arguments, then from --file (one per line, - for standard input). \
            Without --json each vector is one line of 384 space-separated numbers, in input order; \
            with --json the output is one JSON array holding one array per text.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Option(name: .long, help: ArgumentHelp("Read one text per line from this file (- for standard input).", valueName: "file"))
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Use this Hugging Face sentence-transformers folder (BERT family) instead of the installed model.", valueName: "dir"))
    var modelFolder: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Option(name: .long, help: "Texts per forward pass.")
    var batchSize = 32

    func validate() throws {
        if texts.isEmpty && file == nil { throw ValidationError("give at least one TEXT or --file") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        BLASKernels.useTheCPUsOwn()  // models run here: the CPU's own OpenBLAS kernels (may restart the process)
        var all = texts
        if let file {
            do { all += try TextInput.lines(of: file) } catch { throw fail(error) }
        }
        let encoder: SentenceEncoder
        do {
            encoder = try SentenceEncoder(folder: global.store.promptEncoderFolder(override: modelFolder))
        } catch { throw fail(error) }
        let vectors = encoder.embed(all, batchSize: batchSize)
        var out = ""
        if json {
            out = "[" + vectors.map { "[" + $0.map(JSONNumber.format).joined(separator: ",") + "]" }.joined(separator: ",") + "]\n"
        } else {
            for v in vectors { out += v.map(JSONNumber.format).joined(separator: " ") + "\n" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
