import ArgumentParser
import Dispatch
import Foundation
import Inference
import Logging
import ServiceLifecycle
import Analysis
import Daemon
import Models
import RevsdSystem
import Store
import RevsdProtocol

/// revsdd: watches folders of generated images, indexes them, answers on a
/// Unix socket. Thin: the work lives in Indexer (IndexingService,
/// ControlServer, ControlHandler); this file wires it to systemd and signals.
@main
struct Revsdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revsdd",
        abstract: "The revsd indexing daemon.",
        discussion: """
            Settings come from defaults (system service or user instance), then the TOML file \
            (/etc/revsd/revsdd.toml for root or the system service, $XDG_CONFIG_HOME/revsd/revsdd.toml \
            for a user), then these flags. SIGTERM drains the current work and exits; SIGHUP reloads \
            the file's watched folders.
            """,
        version: RevsdVersion.string)

    @Option(name: .long, help: ArgumentHelp("Configuration file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Folder to watch (repeatable; replaces the file's list).", valueName: "dir"))
    var watch: [String] = []

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Where the index lives.", valueName: "dir"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("Control socket path (ignored under socket activation).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Models directory.", valueName: "dir"))
    var models: String?

    @Option(name: .long, help: "Worker threads.")
    var workers: Int?

    @Flag(name: .long, help: "Load every model, print what was loaded, and exit.")
    var checkModels = false

    func settings() throws(ConfigError) -> DaemonConfig {
        var c = DaemonConfig.defaults()
        try c.apply(file: config ?? DaemonConfig.defaultFile(), required: config != nil)
        if !watch.isEmpty { c.watch = watch.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath).standardizedFileURL.path } }
        if let stateDir { c.stateDirectory = URL(fileURLWithPath: stateDir).standardizedFileURL.path }
        if let socket { c.socketPath = URL(fileURLWithPath: socket).standardizedFileURL.path }
        if let models { c.modelsDirectory = models }
        if let workers { c.workers = max(1, workers) }
        return c
    }

    func run() async throws {
        let underSystemd = Systemd.stderrIsJournal
        LoggingSystem.bootstrap { label -> any LogHandler in underSystemd ? JournalLogHandler(label: label) : StderrLogHandler() }
        let logger = Logger(label: "revsdd")
        let c: DaemonConfig
        do { c = try settings() } catch { throw fail("\(error)") }
        let modelStore = ModelStore.resolve(explicit: c.modelsDirectory)

        if checkModels {
            do {
                let analyzer = try ImageAnalyzer(store: modelStore, clipFolders: c.clipFolders)
                for m in analyzer.clip { print("clip:\(m.encoder.name): ok") }
                print("\(ModelCatalog.miniLM.id): ok (\(analyzer.promptEncoder.dimension)-d)")
                for e in analyzer.predictor.imageEncoders { print("\(e.variant.id): ok (\(e.variant.imageSize) px)") }
                return
            } catch { throw fail("\(error)") }
        }

        do { try Syscalls.makeDirectories(c.stateDirectory, mode: 0o750) } catch { throw fail("\(error)") }
        Systemd.notify("STATUS=loading the index and the models")
        let service: IndexingService
        do {
            let store = try IndexStore(path: c.stateDirectory + "/index.sqlite")
            let analyzer = try ImageAnalyzer(store: modelStore, clipFolders: c.clipFolders)
            service = try IndexingService(store: store, analyzer: analyzer, workers: c.workers, batchSize: c.batchSize, logger: logger)
            service.learner = LearningService(store: store, promptEncoder: analyzer.promptEncoder, encoders: analyzer.featureNames,
                                              stateDirectory: c.stateDirectory,
                                              options: c.training, retrainAfter: c.retrainAfter, logger: logger)
            try service.start(watching: c.watch)
        } catch { throw fail("\(error)") }

        let listener: UnixSocket
        if let fd = Systemd.activatedSocket() {
            listener = UnixSocket(fd: fd, path: c.socketPath)
            logger.info("using the socket passed by systemd")
        } else {
            do { listener = try UnixSocket.listen(path: c.socketPath, group: c.socketGroup) } catch { throw fail("\(error)") }
            logger.info("listening", metadata: ["socket": "\(c.socketPath)"])
        }
        let modelNames = [ModelCatalog.miniLM.id] + service.analyzer.predictor.imageEncoders.map(\.variant.id)
            + service.analyzer.clip.map { "clip:" + $0.encoder.name }
        let handler = ControlHandler(service: service, models: modelNames)
        let server = ControlServer(listening: listener, logger: logger) { request, fds, peer throws(ControlError) in
            try handler.handle(request, &fds, peer)
        }
        server.start()

        // Services start in this order and stop in reverse on SIGTERM/SIGINT:
        // the socket stops accepting, then the workers finish their files,
        // then the watchdog goes quiet.
        let runtime = DaemonRuntime(service: service, logger: logger, configFile: config ?? DaemonConfig.defaultFile(), flagsWatch: !watch.isEmpty)
        runtime.installReload()
        let services: [any Service] = [WatchdogService(service: service), IndexingRunner(service: service, logger: logger),
                                       ControlRunner(server: server, runtime: runtime)]
        var groupConfig = ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(100)
        try await ServiceGroup(configuration: groupConfig).run()
        logger.info("stopped cleanly")
    }

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("revsdd: \(message)\n".utf8))
        Systemd.notify("STATUS=failed: \(message)")
        return ExitCode.failure
    }
}

/// The control socket as a service: READY=1 once it serves; on shutdown it
/// stops accepting first.
struct ControlRunner: Service {
    let server: ControlServer
    let runtime: DaemonRuntime
    func run() async throws {
        runtime.announceReady()
        try? await gracefulShutdown()
        Systemd.notify("STOPPING=1\nSTATUS=stopping: finishing the current files")
        server.stop()
    }
}

/// The workers as a service: on shutdown they finish the files in progress
/// (results stored) and leave the rest queued.
struct IndexingRunner: Service {
    let service: IndexingService
    let logger: Logger
    func run() async throws {
        try? await gracefulShutdown()
        logger.info("stopping: finishing the current files")
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { service.drain(); done.resume() }
        }
    }
}

/// WATCHDOG=1 at half of WatchdogSec=, only while the work loop is healthy
/// (idle, or progressing): a stuck worker stops the pings and systemd restarts us.
struct WatchdogService: Service {
    let service: IndexingService
    func run() async throws {
        guard let interval = Systemd.watchdogPingInterval else { try? await gracefulShutdown(); return }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if service.isHealthy(within: interval * 2) { Systemd.notify("WATCHDOG=1") }
            }
        }
    }
}

/// Readiness, STATUS= and SIGHUP reloads.
final class DaemonRuntime: @unchecked Sendable {
    let service: IndexingService
    let logger: Logger
    let configFile: String
    let flagsWatch: Bool
    let queue = DispatchQueue(label: "revsdd.status")
    var reloadSource: DispatchSourceSignal?
    var lastStatus = ""

    init(service: IndexingService, logger: Logger, configFile: String, flagsWatch: Bool) {
        self.service = service; self.logger = logger; self.configFile = configFile; self.flagsWatch = flagsWatch
    }

    func installReload() {
        signal(SIGHUP, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        s.setEventHandler { [self] in reload() }
        s.resume()
        reloadSource = s
    }

    func announceReady() {
        service.onProgress = { [weak self] in self?.updateStatus() }
        service.learner?.onProgress = { [weak self] in self?.updateStatus() }
        updateStatus()
        Systemd.notify("READY=1")
        logger.info("ready", metadata: ["watches": "\(service.watchRoots.joined(separator: ", "))"])
    }

    func updateStatus() {
        guard let c = try? service.store.counts() else { return }
        let total = c.indexed + c.failed + c.queued
        var s = "indexed \(c.indexed)/\(total), \(c.failed) error\(c.failed == 1 ? "" : "s")"
        if c.queued == 0 { s += ", idle" }
        switch service.learner?.state {
        case let .training(phase, fraction, _)?: s += "; training \(Int(fraction * 100)) % (\(phase))"
        case let .predicting(done, total)?: s += "; predicting \(done)/\(total)"
        default: break
        }
        if let limit = service.watcher.limitMessage { s += "; " + limit }
        let status = s
        queue.async { [self] in
            guard status != lastStatus else { return }
            lastStatus = status
            Systemd.notify("STATUS=" + status)
        }
    }

    func reload() {
        Systemd.notify("RELOADING=1\nSTATUS=reloading \(configFile)")
        var c = DaemonConfig.defaults()
        do {
            try c.apply(file: configFile, required: false)
            if !flagsWatch {
                let wanted = Set(c.watch)
                for root in service.watchRoots where !wanted.contains(root) { try service.removeRoot(root) }
                for root in wanted where !service.watchRoots.contains(root) { try service.addRoot(root) }
            }
            logger.info("reloaded the configuration", metadata: ["file": "\(configFile)"])
        } catch {
            logger.error("configuration not reloaded", metadata: ["error": "\(error)"])
        }
        Systemd.notify("READY=1")
        updateStatus()
    }
}
