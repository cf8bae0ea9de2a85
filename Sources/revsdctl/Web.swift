import ArgumentParser
import Daemon
import Foundation
import RevsdSystem

/// `revsdctl web`: the gallery's address with its token, as Jupyter prints
/// its own: opening it once sets the page's cookie.
struct Web: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the gallery's address with its token (open it in a browser).",
        discussion: """
            The address is the configuration's [web] listen (default 127.0.0.1:8277, where revsd-web.socket \
            listens); the token is [web] token_file (default STATE/web-token, made by revsdd; for the system \
            service /etc/revsd/web-token, made by `make install`, readable by the group revsd). \
            Says on stderr when nothing answers there, and how to start it. \
            --json prints {"url", "listening"}.
            """)

    @OptionGroup var daemon: SocketOptions
    @Option(name: .customLong("token-file"), help: ArgumentHelp("The page's token file.", valueName: "path")) var tokenFile: String?
    @Option(help: ArgumentHelp("revsdd's configuration file (default: this user's, else /etc/revsd/revsdd.toml).", valueName: "path"))
    var config: String?
    @Flag(help: "Print JSON.") var json = false

    /// The system service's token (make install), when this talks to it.
    static let systemTokenFile = "/etc/revsd/web-token"

    func run() throws {
        var c = DaemonConfig.defaults()
        do { try c.apply(file: config ?? DaemonConfig.defaultFile(), required: config != nil) } catch { throw fail(error) }
        let tokenPath = tokenFile ?? c.webTokenFile ?? (daemon.path == "/run/revsd/revsdd.sock" ? Self.systemTokenFile : c.webTokenPath)
        let token: String
        do { token = try WebToken.read(path: tokenPath) } catch { throw fail(error) }
        // Under systemd revsd-web listens on a Unix socket behind revsd-web.socket's loopback port.
        let address = c.webListen.hasPrefix("unix:") ? DaemonConfig.defaultWebListen : c.webListen
        guard let (host, port) = Self.hostAndPort(address) else {
            throw fail(ValidationError("[web] listen '\(c.webListen)' is not HOST:PORT or [IPV6]:PORT"))
        }
        let urlHost = host.contains(":") ? "[\(host)]" : host
        let url = "http://\(urlHost):\(port)/?token=\(token)"
        let listening = LoopbackProbe.answers(host: host, port: port)
        if json {
            print(#"{"listening":\#(listening),"url":"\#(url)"}"#)
        } else {
            print(url)
        }
        if !listening {
            FileHandle.standardError.write(Data("""
                revsdctl: nothing answers on \(urlHost):\(port) yet: start the page with `systemctl --user start revsd-web.socket` \
                (system: `sudo systemctl start revsd-web.socket`), or run `revsd-web` in a terminal\n
                """.utf8))
        }
    }

    /// "127.0.0.1:8277" or "[::1]:8277" → (host, port).
    static func hostAndPort(_ s: String) -> (String, UInt16)? {
        guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]), port > 0 else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
