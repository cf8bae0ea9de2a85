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
        if let env = ProcessInfo.processInfo.environment["REVSD_SOCKET"], !env.isEmpty { return env }
        let mine = DaemonConfig.defaults().socketPath
        if FileManager.default.fileExists(atPath: mine) { return mine }
        return FileManager.default.fileExists(atPath: "/run/revsd/revsdd.sock") ? "/run/revsd/revsdd.sock" : mine
    }

    func call(_ request: [String: Any], passing fd: Int32? = nil) throws -> [String: Any] {
        do { return try ControlClient(socketPath: path).call(request, passing: fd) } catch { throw fail(error) }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank indexed images by how well their (predicted or known) prompt matches a text.",
        discussion: """
            --json prints {"query": …, "results": [{"path", "score", "caption", "prompt", "alignment", "tier"}]}, best first. \
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
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if !(1...1000).contains(k) { throw ValidationError("-k must be from 1 to 1000") }
        if (query ?? "").isEmpty && maxAlignment == nil && tier == nil { throw ValidationError("give a QUERY (or --max-alignment / --tier)") }
        if let tier, !["easy", "medium", "hard"].contains(tier) { throw ValidationError("--tier must be easy, medium or hard") }
        for d in [since, until].compactMap({ $0 }) where Search.date(d) == nil { throw ValidationError("'\(d)' is not a YYYY-MM-DD date") }
    }

    static func date(_ s: String) -> Double? {
        let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd"; f.timeZone = .current; f.locale = Locale(identifier: "en_US_POSIX")
        return f.date(from: s)?.timeIntervalSince1970
    }

    func run() throws {
        var r: [String: Any] = ["op": "search", "query": query ?? "", "k": k]
        if let maxAlignment { r["max_alignment"] = maxAlignment }
        if let tier { r["tier"] = tier }
        if let folder { r["folder"] = URL(fileURLWithPath: folder).standardizedFileURL.path }
        if let hasPrompt { r["has_prompt"] = hasPrompt }
        if let since { r["since"] = Search.date(since) }
        if let until { r["until"] = Search.date(until) }
        if let model { r["model"] = model }
        if let text { r["text"] = text }
        let result = try daemon.call(r)
        if json { try printJSON(result); return }
        printResults(result["results"] as? [[String: Any]] ?? [])
    }
}

func printResults(_ results: [[String: Any]]) {
    if results.isEmpty { print("no match"); return }
    printTable(header: ["SCORE", "PATH", "PROMPT (or caption)"], rows: results.map { r in
        let prompt = (r["prompt"] as? String) ?? (r["caption"] as? String).map { "~ " + $0 } ?? ""
        return [String(format: "%.3f", r["score"] as? Double ?? 0), r["path"] as? String ?? "",
                String(prompt.replacingOccurrences(of: "\n", with: " ").prefix(100))]
    })
}

struct Similar: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Indexed images whose prompt is closest to an indexed image's.")
    @OptionGroup var daemon: SocketOptions
    @Argument(help: "An indexed image.") var file: String
    @Option(name: .shortAndLong, help: "How many results.") var k = 10
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let result = try daemon.call(["op": "similar", "path": URL(fileURLWithPath: file).standardizedFileURL.path, "k": k])
        if json { try printJSON(result); return }
        printResults(result["results"] as? [[String: Any]] ?? [])
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
        var s = try daemon.call(["op": "status"])
        if json { try printJSON(s); return }
        let live = Syscalls.isTerminal(1) && !once
        var drew = false
        while live, let queued = s["queued"] as? Int, queued > 0 {
            let done = (s["indexed"] as? Int ?? 0) + (s["failed"] as? Int ?? 0)
            let total = done + queued
            let width = 30
            let filled = total > 0 ? width * done / total : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardOutput.write(Data("\r\(bar) \(done)/\(total) indexed, \(s["failed"] as? Int ?? 0) failed   ".utf8))
            drew = true
            Thread.sleep(forTimeInterval: 0.5)
            s = try daemon.call(["op": "status"])
        }
        if drew { print("") }
        let rows: [[String]] = [
            ["indexed", "\(s["indexed"] ?? 0)"], ["with prompt", "\(s["with_prompt"] ?? 0)"], ["queued", "\(s["queued"] ?? 0)"],
            ["failed", "\(s["failed"] ?? 0)"], ["watches", (s["watches"] as? [String] ?? []).joined(separator: ", ")],
            ["models", (s["models"] as? [String] ?? []).joined(separator: ", ")],
        ] + ((s["watch_limit"] as? String).map { [["warning", $0]] } ?? []) + Status.learningRows(s["learning"] as? [String: Any])
        for r in rows { print(r[0].padding(toLength: 12, withPad: " ", startingAt: 0) + r[1]) }
    }
}

extension Status {
    /// The learning state in words: the run going on, the last one's numbers, its error.
    static func learningRows(_ l: [String: Any]?) -> [[String]] {
        guard let l else { return [] }
        var rows: [[String]] = []
        switch l["state"] as? String {
        case "training"?: rows.append(["learning", "training \(Int((l["fraction"] as? Double ?? 0) * 100)) % (\(l["phase"] as? String ?? ""))"])
        case "predicting"?: rows.append(["learning", "predicting \(l["done"] as? Int ?? 0)/\(l["total"] as? Int ?? 0) images"])
        default: break
        }
        if let n = l["examples"] as? Int {
            rows.append(["trained", String(format: "on %d labelled images, validation mean cosine %.3f (constant %.3f)", n,
                                          l["validation_mean_cosine"] as? Double ?? 0, l["constant_mean_cosine"] as? Double ?? 0)])
        } else if rows.isEmpty {
            rows.append(["learning", "not trained yet (zero-shot predictions; `revsdctl train`)"])
        }
        if let e = l["last_error"] as? String { rows.append(["last error", e]) }
        if let bank = l["prompt_bank"] as? Int { rows.append(["prompt bank", "\(bank) prompts"]) }
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
            let r = try daemon.call(["op": "watch_add", "path": URL(fileURLWithPath: folder).standardizedFileURL.path])
            if json { try printJSON(r) } else { (r["watches"] as? [String] ?? []).forEach { print($0) } }
        }
    }
    struct Rm: ParsableCommand {
        @OptionGroup var daemon: SocketOptions
        @Argument(help: "Folder to stop watching.") var folder: String
        @Flag(help: "Print JSON.") var json = false
        func run() throws {
            let r = try daemon.call(["op": "watch_remove", "path": URL(fileURLWithPath: folder).standardizedFileURL.path])
            if json { try printJSON(r) } else { (r["watches"] as? [String] ?? []).forEach { print($0) } }
        }
    }
    struct Ls: ParsableCommand {
        @OptionGroup var daemon: SocketOptions
        @Flag(help: "Print JSON.") var json = false
        func run() throws {
            let r = try daemon.call(["op": "watch_list"])
            if json { try printJSON(r) } else { (r["watches"] as? [String] ?? []).forEach { print($0) } }
        }
    }
}

struct Reindex: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Index watched files again (all, or under a path).")
    @OptionGroup var daemon: SocketOptions
    @Argument(help: "Only files under this path.") var path: String?
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        var r: [String: Any] = ["op": "reindex"]
        if let path { r["path"] = URL(fileURLWithPath: path).standardizedFileURL.path }
        let result = try daemon.call(r)
        if json { try printJSON(result) } else { print("queued \(result["queued"] ?? 0) files") }
    }
}
