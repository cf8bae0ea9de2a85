import ArgumentParser
import Foundation
import Inference
import Logging
import ServiceLifecycle
import UnixSignals
import Analysis
import Daemon
import Models
import RevsdSystem
import Search
import Store
import Synchronization
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
        // SIGHUP is trapped first: one that arrives while the models load
        // waits for the reload service instead of killing the daemon.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
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
        // Progress of indexing and learning, for STATUS=: the callbacks are
        // given to the services at init, before any of their threads start.
        let (statusChanges, statusChanged) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let progress: @Sendable () -> Void = { statusChanged.yield() }
        let service: IndexingService
        let learner: LearningService
        do {
            let store = try IndexStore(path: c.stateDirectory + "/index.sqlite")
            let analyzer = try ImageAnalyzer(store: modelStore, clipFolders: c.clipFolders)
            let search = SearchIndex(dimension: analyzer.promptEncoder.dimension)
            learner = LearningService(store: store, promptEncoder: analyzer.promptEncoder, encoders: analyzer.featureNames,
                                      stateDirectory: c.stateDirectory, options: c.training, retrainAfter: c.retrainAfter, logger: logger,
                                      onPrediction: { [search] id, v in search.set(id, kind: .predicted, vector: v) }, onProgress: progress)
            service = try IndexingService(store: store, analyzer: analyzer, search: search, learner: learner, workers: c.workers,
                                          batchSize: c.batchSize, watchdogInterval: Systemd.watchdogPingInterval,
                                          faults: TestFaults.from(environment: ProcessInfo.processInfo.environment),
                                          logger: logger, onProgress: progress)
            try service.prepare(watching: c.watch)
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

        // Services start in this order and stop in reverse, on SIGTERM/SIGINT
        // or when one of them fails: the socket stops accepting, the watcher
        // stops, the workers finish their files (the queue keeps the rest),
        // then a training run stops at its next epoch.
        let runtime = DaemonRuntime(service: service, logger: logger, configFile: config ?? DaemonConfig.defaultFile(),
                                    flagsWatch: !watch.isEmpty, statusChanges: statusChanges, statusChanged: statusChanged)
        let services: [any Service] = [
            LearningLoop(learner: learner),
            IndexingWorkers(service: service, logger: logger),
            WatchFollower(service: service),
            StatusReporter(runtime: runtime),
            ReloadOnHangup(runtime: runtime, hangups: hangups),
            ControlService(server: server, onServing: runtime.announceReady, onStopping: runtime.announceStopping),
        ]
        // A service that ends, by failing or otherwise, shuts the others down
        // gracefully; a failure then makes the group (and revsdd) fail.
        var groupConfig = ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(100)
        do {
            try await ServiceGroup(configuration: groupConfig).run()
        } catch {
            // Non-zero exit: systemd restarts us (Restart=on-failure).
            logger.critical("stopped on a failure", metadata: ["error": "\(error)"])
            throw fail("\(error)")
        }
        logger.info("stopped cleanly")
    }

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("revsdd: \(message)\n".utf8))
        Systemd.notify("STATUS=failed: \(message)")
        return ExitCode.failure
    }
}

/// systemd's view of the daemon: readiness, STATUS= and SIGHUP reloads.
final class DaemonRuntime: Sendable {
    let service: IndexingService
    let logger: Logger
    let configFile: String
    let flagsWatch: Bool
    /// Something STATUS= shows changed (coalesced: the newest only).
    let statusChanges: AsyncStream<Void>
    let statusChanged: AsyncStream<Void>.Continuation

    struct Status {
        /// The STATUS= line last sent; "" once something else replaced it.
        var last = ""
        /// Shutdown began: STATUS= says so, and stays.
        var stopping = false
    }
    let status = Mutex(Status())

    init(service: IndexingService, logger: Logger, configFile: String, flagsWatch: Bool,
         statusChanges: AsyncStream<Void>, statusChanged: AsyncStream<Void>.Continuation) {
        self.service = service; self.logger = logger; self.configFile = configFile; self.flagsWatch = flagsWatch
        self.statusChanges = statusChanges; self.statusChanged = statusChanged
    }

    /// READY=1: the database is migrated and the socket listens.
    @Sendable func announceReady() {
        statusChanged.yield()
        Systemd.notify("READY=1")
        logger.info("ready", metadata: ["watches": "\(service.watchRoots.joined(separator: ", "))"])
    }

    @Sendable func announceStopping() {
        status.withLock { $0.stopping = true }
        Systemd.notify("STOPPING=1\nSTATUS=stopping: finishing the current files")
    }

    func statusLine() -> String? {
        guard let c = try? service.store.counts() else { return nil }
        let total = c.indexed + c.failed + c.queued
        var s = "indexed \(c.indexed)/\(total), \(c.failed) error\(c.failed == 1 ? "" : "s")"
        if c.queued == 0 { s += ", idle" }
        switch service.learner?.state {
        case let .training(phase, fraction, _)?: s += "; training \(Int(fraction * 100)) % (\(phase))"
        case let .predicting(done, total)?: s += "; predicting \(done)/\(total)"
        default: break
        }
        if let limit = service.watcher.limitMessage { s += "; " + limit }
        return s
    }

    /// Sends STATUS= when it says something new.
    func sendStatus() {
        guard let line = statusLine() else { return }
        let send = status.withLock { s -> Bool in
            guard !s.stopping, line != s.last else { return false }
            s.last = line
            return true
        }
        if send { Systemd.notify("STATUS=" + line) }
    }

    /// Re-reads the watched folders from the configuration file (unless
    /// --watch gave them).
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
        status.withLock { $0.last = "" }   // STATUS= said "reloading": send the next one whatever it is
        statusChanged.yield()
    }
}

/// STATUS= as indexing and learning progress, off the threads that report it.
struct StatusReporter: Service {
    let runtime: DaemonRuntime
    func run() async throws {
        for await _ in runtime.statusChanges.cancelOnGracefulShutdown() { runtime.sendStatus() }
        guard Task.isShuttingDownGracefully || Task.isCancelled else {
            throw LoopFailure(loop: "status reporting", underlying: nil)
        }
    }
}

/// SIGHUP (`systemctl reload revsdd`): re-read the watched folders, one
/// reload at a time, on a thread (a reload reconciles folders: stat, SQLite).
struct ReloadOnHangup: Service {
    let runtime: DaemonRuntime
    /// Trapped at start (see `Revsdd.run`).
    let hangups: UnixSignalsSequence
    func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            try await BlockingThread(name: "revsd-reload") { [runtime] in runtime.reload() }.join()
        }
        guard Task.isShuttingDownGracefully || Task.isCancelled else {
            throw LoopFailure(loop: "SIGHUP handling", underlying: nil)
        }
    }
}
