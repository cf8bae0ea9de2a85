import ArgumentParser
import Foundation
import Models
import RevsdSystem

@main
struct RevsdCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revsdctl",
        abstract: "Ask revsd what prompt made an image, and manage its models.",
        discussion: """
            Exit status: 0 on success, 1 when the work failed (a missing model, an \
            unreadable file), 64 for a usage error.
            """,
        version: RevsdVersion.string,
        subcommands: [Search.self, Caption.self, Similar.self, Status.self, Watch.self, Reindex.self, Train.self, Eval.self, Prompts.self, Embed.self, Models.self]
    )
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
