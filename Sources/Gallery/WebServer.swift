import Foundation
import Hummingbird
import Logging
import NIOCore
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
        do { try await group.run() } catch let e as IOError {
            // The main server's bind: one line naming the address and the likely cause.
            throw GalleryConfigError(Self.explain(e, listening: listen))
        }
    }

    /// "127.0.0.1:8277: cannot listen: address already in use (another revsd-web? …)".
    static func explain(_ e: IOError, listening listen: ListenAddress) -> String {
        switch e.errnoCode {
        case EADDRINUSE:
            return "\(listen): cannot listen: address already in use (another revsd-web, or revsd-web.socket, may serve it: `revsdctl web` prints its address; or pick another with --listen)"
        case EACCES:
            return "\(listen): cannot listen: permission denied"
        case EADDRNOTAVAIL:
            return "\(listen): cannot listen: no such address on this machine"
        default:
            return "\(listen): cannot listen: \(e)"
        }
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
