import ArgumentParser
import Foundation
import Analysis
import Learning
import RevsdProtocol
import RevsdSystem

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the prompt predictors on the library's labelled images (through revsdd), with progress.",
        discussion: """
            Images whose metadata carries their prompt teach revsd to predict the prompts of the \
            others: ridge and MLP heads (+MLC, +curriculum) per image encoder, k-NN, DAKL and their \
            ensemble. revsdd swaps the new heads in when the run succeeds and predicts every image \
            again. --json prints the daemon's learning status when the run ends (or at once with --no-wait).
            """)
    @OptionGroup var daemon: SocketOptions
    @Flag(inversion: .prefixedNo, help: "Wait for the run to end, showing progress.") var wait = true
    @Flag(help: "Cancel the running training.") var cancel = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        if cancel { let r = try daemon.call(TrainRequest(cancel: true)); if json { try printResult(r) }; return }
        let r = try daemon.call(TrainRequest())
        if r.started != true, !json { print("a training run is already going on; following it") }
        guard wait else { if json { try printResult(r) } else { print("training started") }; return }
        var last = ""
        var status = r.learning
        while true {
            guard let now = try daemon.call(StatusRequest()).learning else { break }
            status = now
            let line: String
            switch status.state {
            case .idle: line = ""
            case let .training(phase, fraction, _): line = "training \(Int(fraction * 100)) %: \(phase)"
            case let .predicting(done, total): line = "predicting \(done)/\(total) images"
            }
            if line.isEmpty { break }
            if line != last, !json {
                if Syscalls.isTerminal(1) { FileHandle.standardOutput.write(Data("\r\u{1B}[K\(line)".utf8)) } else { print(line) }
                last = line
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        if Syscalls.isTerminal(1), !json, !last.isEmpty { print("") }
        if json { try printResult(status); return }
        if let e = status.lastError { throw fail(MessageError(e)) }
        let run = status.lastRun
        print("""
            trained on \(run?.examples ?? 0) labelled images\(run?.distinctPrompts.map { ", \($0) distinct prompts" } ?? "")\
            \(run?.excludedTinyImages.map { $0 > 0 ? " (\($0) under 32 px left out)" : "" } ?? "")
            validation mean cosine \(String(format: "%.4f", run?.validationMeanCosine ?? 0)) \
            (constant baseline \(String(format: "%.4f", run?.constantMeanCosine ?? 0))\
            \(run?.zeroShotMeanCosine.map { String(format: ", zero-shot %.4f", $0) } ?? ""))
            members: \((run?.members ?? []).joined(separator: ", "))
            keywords: \(run?.keywordsSource ?? "mlc")
            """)
        if let reason = run?.notAdoptedReason { print(reason) }
        if let run, let ensemble = Status.ensembleLine(run) { print("ensemble: \(ensemble)") }
        if let run, let near = Status.nearEnsembleLine(run) { print("near the library: \(near)") }
        if let run, let dakl = Status.daklLine(run) { print("DAKL: \(dakl)") }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure how well revsd predicts the prompts of a folder of images it did not train on.",
        discussion: """
            The true prompts come from DIR/prompts.tsv (file<TAB>prompt, with a header) or the files' \
            metadata. revsdd scores the paper's metric, the mean cosine between predicted and true \
            prompt embeddings, per encoder, head and technique and for the ensemble, beside the \
            constant baseline and the zero-shot prediction; and 1-NN captions (exact match, mean \
            cosine; RefCLIPScore with a CLIP model). Images of DIR that the heads were trained on are \
            left out of a fresh training run first. --json prints {"images", "rows": [{"encoder", \
            "head", "technique", "mean_cosine"}], "ensemble": {"mean_cosine"}, "constant": \
            {"mean_cosine"}, "zero_shot", "caption": {"exact_match_rate", "mean_cosine"}}.
            """)
    @OptionGroup var daemon: SocketOptions
    @Argument(help: "A folder of images with their true prompts.") var dir: String
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Also list each image's caption and true prompt.") var captions = false

    func run() throws {
        let root = URL(fileURLWithPath: dir).standardizedFileURL
        let tsv = root.appendingPathComponent("prompts.tsv").path
        var given: [String: String] = [:]
        if FileManager.default.fileExists(atPath: tsv) {
            do { given = try PromptsTSV.read(path: tsv) } catch { throw fail(error) }
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { n in
                ["png", "jpg", "jpeg", "webp"].contains((n as NSString).pathExtension.lowercased())
            }.sorted()
        } catch { throw fail(MessageError("\(root.path): cannot list the folder: \((error as NSError).localizedDescription)")) }
        guard !names.isEmpty else { throw fail(MessageError("\(root.path): no PNG, JPEG or WebP images")) }
        let session = UUID().uuidString
        var skipped = 0
        for (i, name) in names.enumerated() {
            let path = root.appendingPathComponent(name).path
            let fd: Int32
            do { fd = try Syscalls.open(path, O_RDONLY) } catch {
                FileHandle.standardError.write(Data("revsdctl: \(path): cannot open: \(error.reason)\n".utf8))
                skipped += 1; continue
            }
            defer { Syscalls.close(fd) }
            let answer = try daemon.call(EvalAddRequest(session: session, name: path, prompt: given[name]), passing: fd)
            if let e = answer.error {
                FileHandle.standardError.write(Data("revsdctl: \(e)\n".utf8)); skipped += 1
            }
            if Syscalls.isTerminal(2) { FileHandle.standardError.write(Data("\r\u{1B}[Kanalysed \(i + 1)/\(names.count)".utf8)) }
        }
        if Syscalls.isTerminal(2) { FileHandle.standardError.write(Data("\n".utf8)) }
        var result = try daemon.call(EvalRunRequest(session: session, captions: captions))
        let table = result.table ?? ""
        result.table = nil
        if json { try printResult(result); return }
        print(table)
        if skipped > 0 { print("\(skipped) file\(skipped == 1 ? "" : "s") left out (see the messages above)") }
        for c in result.captions ?? [] {
            print("\((c.name as NSString).lastPathComponent)\n  true:    \(c.prompt)\n  caption: \(c.caption ?? "-")")
        }
    }
}

struct Prompts: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the prompt bank captions are chosen from.", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add prompts from a corpus to the bank (.txt, .csv/.tsv with a prompt column, .jsonl, DiffusionDB part .json).",
            discussion: "The files are read here (all of them before anything is sent) and sent 1,000 prompts at a time; revsdd embeds the prompts it does not hold yet. A progress bar on standard error when it is a terminal. --json prints {\"read\", \"added\", \"prompt_bank\"}.")
        @OptionGroup var daemon: SocketOptions
        @Argument(help: "Corpus files.") var files: [String]
        @Option(help: ArgumentHelp("The format, when the name does not say it.", valueName: "text|csv|tsv|jsonl|diffusiondb")) var format: String?
        @Option(help: ArgumentHelp("The CSV/TSV column or JSON key holding the prompt.", valueName: "name")) var column: String?
        @Flag(help: "Print JSON.") var json = false
        @Option(help: .hidden) var chunk = 1000

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one FILE") }
            if let format, PromptCorpus.Format(rawValue: format) == nil { throw ValidationError("unknown format '\(format)'") }
        }

        func run() throws {
            // Every file is read (and checked) before anything is sent: a
            // malformed line anywhere stops the import before it starts.
            var corpora: [(source: String, prompts: [String])] = []
            for file in files {
                do { corpora.append(((file as NSString).lastPathComponent, try PromptCorpus.read(path: file, format: format.flatMap(PromptCorpus.Format.init), column: column))) } catch { throw fail(error) }
            }
            let total = corpora.reduce(0) { $0 + $1.prompts.count }
            let progress = ImportProgress(total: total, live: !json && Syscalls.isTerminal(2))
            var read = 0, added = 0, bank = 0
            for (source, prompts) in corpora {
                // One request per chunk (one transaction in revsdd), well
                // under the daemon's 1 MiB line limit; progress after each.
                var start = 0
                while start < prompts.count {
                    var end = start, bytes = 0
                    while end < prompts.count, end - start < max(1, chunk), bytes + prompts[end].utf8.count < 500_000 { bytes += prompts[end].utf8.count + 8; end += 1 }
                    let r: PromptsImportResult
                    do { r = try daemon.call(PromptsImportRequest(prompts: Array(prompts[start..<end]), source: source)) } catch {
                        progress.finish()
                        throw fail(MessageError("\(source): stopped at prompt \(start + 1) of \(prompts.count), the ones before it are stored: \(error)"))
                    }
                    read += r.read; added += r.added; bank = r.promptBank
                    start = end
                    progress.update(done: read, added: added)
                }
            }
            progress.finish()
            if json { try printResult(PromptsImportResult(read: read, added: added, promptBank: bank)); return }
            let seconds = progress.elapsed
            print("read \(read) prompts, \(added) new; the bank holds \(bank)" + (read > 0 && seconds > 0 ? String(format: " (%.1f s, %.0f prompts/s)", seconds, Double(read) / seconds) : ""))
        }
    }
}

/// `prompts import`'s progress: a bar redrawn in place on standard error
/// when it is a terminal (like `status`'s), nothing otherwise.
final class ImportProgress {
    let total: Int
    let live: Bool
    let started = ContinuousClock.now
    private var drew = false

    init(total: Int, live: Bool) { self.total = total; self.live = live }

    var elapsed: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func update(done: Int, added: Int) {
        guard live else { return }
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let eta = left >= 1 ? String(format: ", %.0f s left", left) : ""
        FileHandle.standardError.write(Data("\r\u{1B}[K\(bar) \(done)/\(total) prompts, \(added) new, \(Int(rate.rounded()))/s\(eta)".utf8))
        drew = true
    }

    /// Ends the bar's line (once drawn) so what follows starts on its own.
    func finish() {
        if drew { FileHandle.standardError.write(Data("\n".utf8)); drew = false }
    }
}

/// A one-line error for `fail`.
struct MessageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
