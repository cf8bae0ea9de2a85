import ArgumentParser
import Foundation
import Indexer

struct Caption: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell what prompt most likely made each file (computed here, no daemon needed).",
        discussion: """
            For each file: the generation metadata it carries (A1111, ComfyUI, InvokeAI, NovelAI, \
            Fooocus, SwarmUI, Draw Things, EXIF, stealth alpha, sidecars), a zero-shot caption and \
            keywords from the EfficientNet-Lite ensemble, and the cosine between the predicted prompt \
            embedding and the embedded prompt when there is one. With --json, one JSON object per \
            line per file, in order: path, metadata (null or an object), caption, keywords, \
            known_prompt_cosine (null without a prompt), error (null or a message), and embedding \
            with --embedding. A file that cannot be read gets its error and the others go on; \
            the exit status is then 1.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Image files (PNG, JPEG, WebP).")
    var files: [String]

    @Flag(name: .long, help: "Print one JSON object per file, one per line.")
    var json = false

    @Flag(name: .long, help: "Include the predicted 384-d embedding.")
    var embedding = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    func run() throws {
        let analyzer: ImageAnalyzer
        do { analyzer = try ImageAnalyzer(store: global.store) } catch { throw fail(error) }
        var failed = false
        for path in files {
            let a = analyzer.analyze(path: path, includeEmbedding: embedding)
            if a.error != nil { failed = true }
            if json {
                let data = try JSONSerialization.data(withJSONObject: a.jsonObject(includeEmbedding: embedding),
                                                      options: [.sortedKeys, .withoutEscapingSlashes])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
                continue
            }
            if let error = a.error {
                FileHandle.standardError.write(Data("revsdctl: \(error)\n".utf8))
                continue
            }
            var lines = [path]
            if let m = a.metadata, let p = m.prompt {
                lines.append("  prompt (\(m.source)): \(p.replacingOccurrences(of: "\n", with: " "))")
                if let n = m.negativePrompt, !n.isEmpty { lines.append("  negative: \(n.replacingOccurrences(of: "\n", with: " "))") }
            } else {
                lines.append("  prompt: none embedded")
            }
            lines.append("  caption: \(a.caption ?? "")")
            lines.append("  keywords: \(a.keywords.joined(separator: ", "))")
            if let c = a.knownPromptCosine { lines.append("  cosine to the embedded prompt: \(String(format: "%.3f", c))") }
            if embedding, let e = a.embedding { lines.append("  embedding: " + e.map(JSONNumber.format).joined(separator: " ")) }
            print(lines.joined(separator: "\n"))
        }
        if failed { throw ExitCode.failure }
    }
}
