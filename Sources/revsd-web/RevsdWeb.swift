import ArgumentParser
import Foundation
import Gallery
import Logging

/// revsd-web: the library as a local web page, over revsdd's control socket.
@main
struct RevsdWeb: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revsd-web",
        abstract: "Serve the revsd library as a local web page (talks to revsdd only through its socket).",
        discussion: "The first line on stdout is the page's address with its token. Defaults come from revsdd's configuration file ([web] listen, token_file).")

    @Option(help: "revsdd's control socket (default: the daemon's configuration).")
    var socket: String?

    @Option(help: "HOST:PORT, [IPV6]:PORT or unix:/path (default: [web] listen, 127.0.0.1:8277).")
    var listen: String?

    @Option(name: .customLong("token-file"), help: "The page's token file (default: [web] token_file, STATE/web-token).")
    var tokenFile: String?

    @Option(help: "revsdd's configuration file (default: /etc/revsd/revsdd.toml or ~/.config/revsd/revsdd.toml).")
    var config: String?

    @Flag(name: .customLong("allow-remote"), help: "Allow listening on an address other machines can reach.")
    var allowRemote = false

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "revsd-web")
        logger.logLevel = .notice
        let settings: WebSettings
        let token: SessionToken
        do {
            settings = try WebSettings.resolve(socket: socket, listen: listen, tokenFile: tokenFile, configFile: config, allowRemote: allowRemote)
            token = try SessionToken.load(path: settings.tokenFile)
        } catch {
            FileHandle.standardError.write(Data("revsd-web: \(error)\n".utf8))
            throw ExitCode(2)
        }
        for w in settings.warnings { FileHandle.standardError.write(Data("revsd-web: \(w)\n".utf8)) }
        do {
            try await WebServer.run(settings: settings, token: token, logger: logger) { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        } catch let e as GalleryConfigError {
            FileHandle.standardError.write(Data("revsd-web: \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}
