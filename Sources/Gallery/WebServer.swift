import Foundation
import Hummingbird
import Logging
import RevsdSystem
import ServiceLifecycle
import UnixSignals

/// revsd-web's lifetime: one server (two with the default address: also
/// [::1], as long as this machine has it), stopped by SIGTERM or SIGINT.
public enum WebServer {
    /// Runs until a signal; `announce` gets the page's address (with its
    /// token) once, as soon as the main server listens.
    public static func run(settings: WebSettings, token: SessionToken, logger: Logger,
                           announce: @escaping @Sendable (String) -> Void) async throws {
        let gallery = Gallery(backend: SocketBackend(socketPath: settings.socketPath), token: token,
                              hosts: HostCheck(extraHosts: settings.extraHosts))
        if case let .unix(path) = settings.listen { try removeStaleSocket(path) }
        let listen = settings.listen
        var services: [any Service] = [gallery.application(listen: listen, logger: logger) { port in
            announce(listen.url(boundPort: port, token: token))
            // revsd-web.service is Type=notify: the proxy connects only once this listens.
            Systemd.notify("READY=1")
        }]
        if settings.alsoIPv6Loopback, case let .tcp(_, port) = listen {
            services.append(BestEffort(name: "[::1]:\(port)", logger: logger,
                                       service: gallery.application(listen: .tcp(host: "::1", port: port), logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// A socket file left by an earlier run is removed (binding would fail);
    /// anything else at that path is left alone, and binding then says so.
    static func removeStaleSocket(_ path: String) throws(SystemError) {
        guard let st = try? Syscalls.status(path, followLinks: false), st.kind == .socket else { return }
        try Syscalls.unlink(path)
    }
}

/// A service whose failure is logged instead of ending the group (the
/// [::1] server where the machine has no IPv6 loopback); it then waits for
/// the group's shutdown.
struct BestEffort<S: Service>: Service {
    let name: String
    let logger: Logger
    let service: S

    func run() async throws {
        do { try await service.run() } catch is CancellationError { return } catch {
            logger.warning("revsd-web: not listening on \(name) too: \(error)")
            try? await gracefulShutdown()
        }
    }
}
