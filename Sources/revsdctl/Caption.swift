import ArgumentParser
import Foundation
import Analysis
import Daemon
import RevsdProtocol
import RevsdSystem
import Imaging

struct Caption: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell what prompt most likely made each file (computed here, no daemon needed).",
        discussion: """
            For each file: the generation metadata it carries (A1111, ComfyUI, InvokeAI, NovelAI, \
            Fooocus, SwarmUI, Draw Things, EXIF, stealth alpha, sidecars), a zero-shot caption and \
            keywords from the EfficientNet-Lite ensemble, and the cosine between the predicted prompt \
            embedding and the embedded prompt when there is one. revsdd computes it (the file's open \
            descriptor is passed over the socket); --local computes it in this process. With --json, one JSON object per \
            line per file, in order: path, metadata (null or an object), caption, keywords, \
            known_prompt_cosine (null without a prompt), error (null or a message), and embedding \
            with --embedding. After training (revsdctl train), the daemon's answer also has \
            prediction ("learned" or "zero-shot"), candidates (the 3 nearest known prompts, \
            [{prompt, cosine}]), confidence (the caption's expected cosine to the true prompt), \
            zero_shot_caption (when that confidence is no better than the constant prediction's), \
            MLC keywords, and for an indexed labelled image its alignment and tier. tags: the keywords as a \
            tag-style caption. A file that cannot be read gets its error and the others go on; \
            the exit status is then 1.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var daemon: SocketOptions

    @Flag(name: .long, help: "Compute here instead of asking revsdd (loads the models in this process).")
    var local = false

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
        var analyzer: ImageAnalyzer? = nil
        if local {
            BLASKernels.useTheCPUsOwn()  // models run here: the CPU's own OpenBLAS kernels (may restart the process)
            do { analyzer = try ImageAnalyzer(store: global.store) } catch { throw fail(error) }
        }
        var failed = false
        for path in files {
            let a: CaptionResult
            if let analyzer {
                a = CaptionResult(analyzer.analyze(path: path, includeEmbedding: embedding), includeEmbedding: embedding)
            } else {
                // The daemon reads exactly what this user may read: the open descriptor travels, not the path.
                do {
                    let fd = try Syscalls.open(path, O_RDONLY)
                    defer { Syscalls.close(fd) }
                    a = try daemon.call(CaptionRequest(name: path, embedding: embedding), passing: fd)
                } catch let error as SystemError {
                    let reason = error.errno == ENOENT ? "no such file" : error.reason
                    a = .failure(path: path, error: "\(ImageError.unreadable(path: path, reason: reason))", includesEmbedding: embedding)
                }
            }
            if a.error != nil { failed = true }
            if json {
                try printResult(a)
                continue
            }
            if let error = a.error {
                FileHandle.standardError.write(Data("revsdctl: \(error)\n".utf8))
                continue
            }
            var lines = [path]
            if let p = a.metadata?.prompt {
                lines.append("  prompt (\(a.metadata?.source ?? "?")): \(p.replacingOccurrences(of: "\n", with: " "))")
                if let n = a.metadata?.negativePrompt, !n.isEmpty { lines.append("  negative: \(n.replacingOccurrences(of: "\n", with: " "))") }
            } else {
                lines.append("  prompt: none embedded")
            }
            lines.append("  caption\(a.prediction == .learned ? "" : " (zero-shot)"): \(a.caption ?? "")"
                         + (a.confidence.map { " (confidence \(String(format: "%.2f", $0)))" } ?? ""))
            if let z = a.zeroShotCaption { lines.append("  zero-shot description: \(z)") }
            let candidates = a.candidates ?? []
            for (i, c) in candidates.enumerated() where i > 0 {
                lines.append("  candidate \(i + 1): \(c.prompt.replacingOccurrences(of: "\n", with: " ")) (\(String(format: "%.3f", c.cosine)))")
            }
            if let first = candidates.first { lines.append("  caption cosine: \(String(format: "%.3f", first.cosine))") }
            lines.append("  tags: \(a.tags)")
            if let al = a.indexedScore?.alignment {
                lines.append("  alignment: \(String(format: "%.3f", al))\(a.indexedScore?.tier.map { " (\($0.rawValue))" } ?? "")")
            }
            if let c = a.knownPromptCosine { lines.append("  cosine to the embedded prompt: \(String(format: "%.3f", c))") }
            if let e = a.embedding { lines.append("  embedding: " + e.map { JSONNumber.format(Float($0)) }.joined(separator: " ")) }
            print(lines.joined(separator: "\n"))
        }
        if failed { throw ExitCode.failure }
    }
}
