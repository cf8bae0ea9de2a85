import ArgumentParser
import Foundation
import Daemon
import RevsdProtocol
import RevsdSystem

/// How to reach revsdd: --socket, $REVSD_SOCKET, this user's instance, else the system service.
struct SocketOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("revsdd's control socket (default: $REVSD_SOCKET, this user's instance, else /run/revsd/revsdd.sock).", valueName: "path"))
    var socket: String?

    var path: String {
        if let socket { return socket }
        if let root = RootArguments.socket.withLock({ $0 }) { return root }
        if let env = ProcessInfo.processInfo.environment["REVSD_SOCKET"], !env.isEmpty { return env }
        let mine = DaemonConfig.defaults().socketPath
        if FileManager.default.fileExists(atPath: mine) { return mine }
        return FileManager.default.fileExists(atPath: "/run/revsd/revsdd.sock") ? "/run/revsd/revsdd.sock" : mine
    }

    func call<R: ControlRequest>(_ request: R, passing fd: Int32? = nil) throws -> R.Result {
        do { return try ControlClient(socketPath: path).call(request, passing: fd) } catch { throw fail(error) }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank indexed images by how well their (predicted or known) prompt matches a text.",
        discussion: """
            --json prints {"query": …, "results": [{"path", "score", "caption", "prompt", "alignment", "tier", "paths"}]}, best first \
            (identical copies are one result; "paths" lists the others). \
            Without a query, --max-alignment and --tier list the labelled images whose picture drifted furthest \
            from their prompt (lowest alignment first; score is then the alignment).
            """)

    @OptionGroup var daemon: SocketOptions
    @Argument(help: "What to look for, in words (optional with --max-alignment or --tier).") var query: String?
    @Option(name: .shortAndLong, help: "How many results (1–1000).") var k = 10
    @Option(help: ArgumentHelp("Only images under this folder.", valueName: "dir")) var folder: String?
    @Flag(inversion: .prefixedNo, help: "Only images that carry (or do not carry) their prompt.") var hasPrompt: Bool?
    @Option(help: ArgumentHelp("Only files modified at or after this date (YYYY-MM-DD).", valueName: "date")) var since: String?
    @Option(help: ArgumentHelp("Only files modified before this date (YYYY-MM-DD).", valueName: "date")) var until: String?
    @Option(help: ArgumentHelp("Only images made with this checkpoint name (prefix).", valueName: "name")) var model: String?
    @Option(help: ArgumentHelp("Only images whose known prompt contains these words (full-text).", valueName: "words")) var text: String?
    @Option(help: ArgumentHelp("Only labelled images whose alignment (out-of-fold cosine between prediction and prompt) is at most this.", valueName: "x"))
    var maxAlignment: Double?
    @Option(help: ArgumentHelp("Only labelled images of this curriculum tier.", valueName: "easy|medium|hard")) var tier: String?
    @Flag(help: "Every image its own result (by default images of one prompt, seed variations, are one result: \"+3 variations\").")
    var all = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if !(1...1000).contains(k) { throw ValidationError("-k must be from 1 to 1000") }
        if (query ?? "").isEmpty && maxAlignment == nil && tier == nil { throw ValidationError("give a QUERY (or --max-alignment / --tier)") }
        if let tier, Tier(rawValue: tier) == nil { throw ValidationError("--tier must be easy, medium or hard") }
        for d in [since, until].compactMap({ $0 }) where Search.date(d) == nil { throw ValidationError("'\(d)' is not a YYYY-MM-DD date") }
    }

    static func date(_ s: String) -> Double? {
        let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd"; f.timeZone = .current; f.locale = Locale(identifier: "en_US_POSIX")
        return f.date(from: s)?.timeIntervalSince1970
    }

    func run() throws {
        let r = SearchRequest(query: query, k: k, folder: folder.map { URL(fileURLWithPath: $0).standardizedFileURL.path },
                              hasPrompt: hasPrompt, since: since.flatMap(Search.date), until: until.flatMap(Search.date), model: model,
                              text: text, maxAlignment: maxAlignment, tier: tier.flatMap(Tier.init(rawValue:)), all: all ? true : nil)
        let result = try daemon.call(r)
        if json { try printResult(result); return }
        printResults(result.results)
    }
}

func printResults(_ results: [SearchHit]) {
    if results.isEmpty { print("no match"); return }
    printTable(header: ["SCORE", "PATH", "PROMPT (or caption)"], rows: results.map { r in
        let prompt = r.prompt ?? r.caption.map { "~ " + $0 } ?? ""
        // Identical copies and variations of one prompt are one hit: the others are counted after the path.
        var path = r.path
        if !r.paths.isEmpty { path += " +\(r.paths.count) cop\(r.paths.count == 1 ? "y" : "ies")" }
        if !r.variations.isEmpty { path += " +\(r.variations.count) variation\(r.variations.count == 1 ? "" : "s")" }
        return [String(format: "%.3f", r.score ?? 0), path, String(prompt.replacingOccurrences(of: "\n", with: " ").prefix(100))]
    })
}

struct Similar: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Indexed images whose prompt is closest to an indexed image's.")
    @OptionGroup var daemon: SocketOptions
    @Argument(help: "An indexed image.") var file: String
    @Option(name: .shortAndLong, help: "How many results.") var k = 10
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let result = try daemon.call(SimilarRequest(path: URL(fileURLWithPath: file).standardizedFileURL.path, k: k))
        if json { try printResult(result); return }
        printResults(result.results)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What revsdd is doing; a live progress bar while it indexes (on a terminal).",
        discussion: "--json prints an object with at least indexed, queued, failed, watches, models.")
    @OptionGroup var daemon: SocketOptions
    @Flag(help: "Print JSON (once).") var json = false
    @Flag(help: "Print once, even on a terminal while indexing.") var once = false

    func run() throws {
        var s = try daemon.call(StatusRequest())
        if json { try printResult(s); return }
        let live = Syscalls.isTerminal(1) && !once
        var drew = false
        while live, s.queued > 0 || (s.analysisQueued ?? 0) > 0 {
            // Both phases: a file counts once when stored (phase 1) and once
            // when analysed (phase 2; a copy of analysed content is both at once).
            let queuedAnalyses = s.analysisQueued ?? 0
            let stored = s.indexed + s.failed, analysed = s.analysed.map { $0 + s.failed } ?? stored
            let done = stored + analysed
            let total = 2 * (stored + s.queued)
            let width = 30
            let filled = total > 0 ? min(width, width * done / total) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardOutput.write(Data("\r\(bar) \(stored)/\(stored + s.queued) indexed, \(s.searchable.map { "\($0) searchable, " } ?? "")\(queuedAnalyses) to analyse, \(s.failed) failed   ".utf8))
            drew = true
            Thread.sleep(forTimeInterval: 0.5)
            s = try daemon.call(StatusRequest())
        }
        if drew { print("") }
        var rows: [[String]] = [
            ["indexed", "\(s.indexed)"], ["with prompt", "\(s.withPrompt)"], ["queued", "\(s.queued)"],
            ["failed", "\(s.failed)"],
        ]
        if let searchable = s.searchable, let analysed = s.analysed {
            rows.append(["searchable", "\(searchable)"])
            rows.append(["analysed", "\(analysed)" + ((s.analysisQueued ?? 0) > 0 ? " (\(s.analysisQueued ?? 0) queued)" : "")])
        }
        rows += [["watches", s.watches.joined(separator: ", ")], ["models", s.models.joined(separator: ", ")]]
        if let limit = s.watchLimit { rows.append(["warning", limit]) }
        for m in s.missingWatches { rows.append(["missing", "\(m) (watched for its return)"]) }
        if let last = s.failedFiles.first { rows.append(["last failed", last.error + " (`revsdctl failed` lists them all)"]) }
        rows += Status.learningRows(s.learning)
        for r in rows { print(r[0].padding(toLength: 12, withPad: " ", startingAt: 0) + r[1]) }
    }
}

struct Failed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The files revsdd could not index, and why, most recent first.",
        discussion: "--json prints {\"total\", \"offset\", \"files\": [{\"path\", \"error\", \"at\"}]} (at: seconds since the epoch).")
    @OptionGroup var daemon: SocketOptions
    @Option(help: "How many files (1–1000).") var limit = 100
    @Option(help: "Skip this many of the most recent.") var offset = 0
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if !(1...1000).contains(limit) { throw ValidationError("--limit must be from 1 to 1000") }
        if offset < 0 { throw ValidationError("--offset must be at least 0") }
    }

    func run() throws {
        let r = try daemon.call(FailedRequest(limit: limit, offset: offset))
        if json { try printResult(r); return }
        if r.files.isEmpty { print(r.total == 0 ? "no failed files" : "no failed files from \(offset) on (\(r.total) in all)"); return }
        let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd HH:mm:ss"; f.locale = Locale(identifier: "en_US_POSIX")
        printTable(header: ["WHEN", "PATH", "ERROR"], rows: r.files.map { file in
            let prefix = file.path + ": "
            let reason = file.error.hasPrefix(prefix) ? String(file.error.dropFirst(prefix.count)) : file.error
            return [f.string(from: Date(timeIntervalSince1970: file.at)), file.path, reason.replacingOccurrences(of: "\n", with: " ")]
        })
        if r.offset + r.files.count < r.total { print("… \(r.total - r.offset - r.files.count) more (--offset \(r.offset + r.files.count))") }
    }
}

extension Status {
    /// The ensemble's heaviest members and how much of the fitted weights it keeps.
    static func ensembleLine(_ run: LearningStatus.Run) -> String? {
        guard let weights = run.weights, weights.count == run.members.count else { return nil }
        let share = run.weightsFittedShare.map { String(format: "weights %.0f %% fitted, %.0f %% equal", $0 * 100, (1 - $0) * 100) }
        return [share, "heaviest: " + heaviest(run.members, weights)].compactMap { $0 }.joined(separator: "; ")
    }

    /// The four heaviest members with their weights ("a 0.40, b 0.25, …").
    static func heaviest(_ members: [String], _ weights: [Double]) -> String {
        zip(members, weights).filter { $0.1 >= 0.005 }.sorted { $0.1 > $1.1 }.prefix(4)
            .map { "\($0.0) \(String(format: "%.2f", $0.1))" }.joined(separator: ", ")
    }

    /// The weights of images near a labelled prompt, when they differ from the others'.
    static func nearEnsembleLine(_ run: LearningStatus.Run) -> String? {
        guard let weights = run.nearWeights, weights.count == run.members.count, let similarity = run.nearSimilarity else { return nil }
        let share = run.nearWeightsFittedShare.map { String(format: ", %.0f %% their own", $0 * 100) } ?? ""
        return String(format: "images at feature cosine ≥ %.3f to a labelled prompt", similarity) + share + "; heaviest: " + heaviest(run.members, weights)
    }

    /// An image encoder out of fold: its best member against not learning.
    static func encoderLine(_ e: LearningStatus.EncoderScore) -> String {
        let baselines = String(format: "constant %.3f", e.constantMeanCosine) + (e.zeroShotMeanCosine.map { String(format: ", zero-shot %.3f", $0) } ?? "")
        return "\(e.encoder): " + String(format: "%.3f", e.meanCosine) + " out of fold (\(e.member); \(baselines))"
    }

    /// Where DAKL's k-means ran, when DAKL is a member.
    static func daklLine(_ run: LearningStatus.Run) -> String? {
        guard let centroids = run.daklCentroids else { return nil }
        let images = run.daklUnlabelledImages ?? 0
        return run.daklDomain == "unlabelled"
            ? "\(centroids) centroids over \(images) unlabelled images (the target domain)"
            : "\(centroids) centroids over the training rows (\(images) unlabelled images, too few for the target domain)"
    }

    /// The learning state in words: the run going on, the last one's numbers, its error.
    static func learningRows(_ l: LearningStatus?) -> [[String]] {
        guard let l else { return [] }
        var rows: [[String]] = []
        switch l.state {
        case let .training(phase, fraction, _): rows.append(["learning", "training \(Int(fraction * 100)) % (\(phase))"])
        case let .predicting(done, total): rows.append(["learning", "predicting \(done)/\(total) images"])
        case .idle: break
        }
        if let run = l.lastRun {
            rows.append(["trained", String(format: "on %d labelled images, validation mean cosine %.3f (constant %.3f", run.examples,
                                          run.validationMeanCosine, run.constantMeanCosine)
                                    + (run.zeroShotMeanCosine.map { String(format: ", zero-shot %.3f", $0) } ?? "") + ")"])
            if let reason = run.notAdoptedReason { rows.append(["predictions", reason]) }
            if run.isAdopted { rows.append(["keywords", run.keywordsSource == "zero_shot" ? "zero-shot classes (the MLC head did not beat word frequency)" : "MLC head"]) }
            if let ensemble = ensembleLine(run) { rows.append(["ensemble", ensemble]) }
            if let near = nearEnsembleLine(run) { rows.append(["near library", near]) }
            for e in run.encoders ?? [] { rows.append(["encoder", encoderLine(e)]) }
            if let dakl = daklLine(run) { rows.append(["DAKL", dakl]) }
        } else if rows.isEmpty {
            rows.append(["learning", "not trained yet (zero-shot predictions; `revsdctl train`)"])
        }
        if let e = l.lastError { rows.append(["last error", e]) }
        rows.append(["prompt bank", "\(l.promptBank) prompts"])
        return rows
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add, remove or list watched folders.", subcommands: [Add.self, Rm.self, Ls.self])

    struct Add: ParsableCommand {
        @OptionGroup var daemon: SocketOptions
        @Argument(help: "Folder to watch.") var folder: String
        @Flag(help: "Print JSON.") var json = false
        func run() throws {
            let r = try daemon.call(WatchAddRequest(path: URL(fileURLWithPath: folder).standardizedFileURL.path))
            if json { try printResult(r) } else { r.watches.forEach { print($0) } }
        }
    }
    struct Rm: ParsableCommand {
        @OptionGroup var daemon: SocketOptions
        @Argument(help: "Folder to stop watching.") var folder: String
        @Flag(help: "Print JSON.") var json = false
        func run() throws {
            let r = try daemon.call(WatchRemoveRequest(path: URL(fileURLWithPath: folder).standardizedFileURL.path))
            if json { try printResult(r) } else { r.watches.forEach { print($0) } }
        }
    }
    struct Ls: ParsableCommand {
        @OptionGroup var daemon: SocketOptions
        @Flag(help: "Print JSON.") var json = false
        func run() throws {
            let r = try daemon.call(WatchListRequest())
            if json { try printResult(r) } else { r.watches.forEach { print($0) } }
        }
    }
}

struct Reindex: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Index watched files again (all, or under a path).")
    @OptionGroup var daemon: SocketOptions
    @Argument(help: "Only files under this path.") var path: String?
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let result = try daemon.call(ReindexRequest(path: path.map { URL(fileURLWithPath: $0).standardizedFileURL.path }))
        if json { try printResult(result) } else { print("queued \(result.queued) files") }
    }
}
