import Daemon
import Foundation

/// revsd-web's settings: the daemon's configuration file (its socket, its
/// `[web]` section), then the command line (which wins).
public struct WebSettings: Sendable, Equatable {
    public var socketPath: String
    public var listen: ListenAddress
    public var tokenFile: String
    /// Also serve [::1] on the same port (the default listen address only).
    public var alsoIPv6Loopback: Bool
    /// Host names the Host check allows besides loopback (the listen host, with --allow-remote).
    public var extraHosts: Set<String>
    /// What the user should know (listening beyond loopback).
    public var warnings: [String]

    public static func resolve(socket: String?, listen: String?, tokenFile: String?, configFile: String?, allowRemote: Bool,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(GalleryConfigError) -> WebSettings {
        var config = DaemonConfig.defaults(environment: environment)
        do { try config.apply(file: configFile ?? DaemonConfig.defaultFile(environment: environment), required: configFile != nil) } catch {
            throw GalleryConfigError(error.description)
        }
        let listenText = listen ?? config.webListen
        let address = try ListenAddress.parse(listenText)
        var warnings: [String] = []
        var extra: Set<String> = []
        if !address.isLoopback {
            guard allowRemote, case let .tcp(host, _) = address else {
                throw GalleryConfigError("listen \(address): not a loopback address; the page would be reachable from other machines (pass --allow-remote if you mean it)")
            }
            warnings.append("warning: listening on \(address), beyond this machine: anyone who can reach it and has the token can see the library")
            extra.insert(host.lowercased())
        }
        return WebSettings(socketPath: socket ?? config.socketPath, listen: address, tokenFile: tokenFile ?? config.webTokenPath,
                           alsoIPv6Loopback: listen == nil && listenText == DaemonConfig.defaultWebListen,
                           extraHosts: extra, warnings: warnings)
    }
}
