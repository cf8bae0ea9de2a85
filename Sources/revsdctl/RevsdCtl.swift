import ArgumentParser
import Foundation
import Models
import RevsdSystem
import Synchronization

@main
struct RevsdCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revsdctl",
        abstract: "Ask revsd what prompt made an image, and manage its models.",
        discussion: """
            --socket PATH may also come before the subcommand (revsdctl --socket PATH status). \
            Exit status: 0 on success, 1 when the work failed (a missing model, an \
            unreadable file), 64 for a usage error.
            """,
        version: RevsdVersion.string,
        subcommands: [Search.self, Caption.self, Similar.self, Status.self, Failed.self, Watch.self, Reindex.self, Train.self, Eval.self, Prompts.self, Embed.self, Models.self, Web.self]
    )

    /// `--socket PATH` (or `--socket=PATH`) before the subcommand is taken
    /// out here and used by every subcommand that talks to revsdd (a
    /// subcommand's own --socket wins); ArgumentParser would reject it there.
    static func main() {
        let (socket, rest) = RootArguments.split(Array(CommandLine.arguments.dropFirst()))
        RootArguments.socket.withLock { $0 = socket }
        main(rest)
    }
}

/// Options given before the subcommand.
enum RootArguments {
    static let socket = Mutex<String?>(nil)

    /// Takes `--socket PATH` / `--socket=PATH` out of the arguments that come
    /// before the first one that is not an option (the subcommand). A
    /// `--socket` with nothing after it is left for ArgumentParser to report.
    static func split(_ args: [String]) -> (socket: String?, rest: [String]) {
        var socket: String?
        var rest: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" || !a.hasPrefix("-") { rest += args[i...]; break }
            if a == "--socket", i + 1 < args.count {
                socket = args[i + 1]; i += 2; continue
            }
            if a.hasPrefix("--socket=") { socket = String(a.dropFirst("--socket=".count)); i += 1; continue }
            rest.append(a); i += 1
        }
        return (socket, rest)
    }
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Models directory (default: $REVSD_MODELS, else the system or XDG data directory).", valueName: "dir"))
    var models: String?

    var store: ModelStore { ModelStore.resolve(explicit: models) }
}

/// Prints one line to stderr and exits 1: the error names the file and the problem.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("revsdctl: \(error)\n".utf8))
    return ExitCode.failure
}
