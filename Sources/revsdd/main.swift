import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import Analysis
import Daemon
import Models
import RevsdSystem
import Search
import Store
import RevsdProtocol

/// revsdd: watches folders of generated images, indexes them, answers on a
/// Unix socket. Thin: the work lives in the Daemon target (IndexingService,
/// LearningService, ControlServer, ControlHandler, DaemonRuntime); this file
/// reads the settings and wires the services into one ServiceGroup.
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
        BLASKernels.useTheCPUsOwn()
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
        // One daemon per state directory, decided before the index is opened
        // or a model is loaded. Held until the process exits.
        let stateLock: StateDirectoryLock
        do { stateLock = try StateDirectoryLock(directory: c.stateDirectory, socket: c.socketPath) } catch { throw fail("\(error)") }
        defer { withExtendedLifetime(stateLock) {} }
        // Said once this daemon is the one running here: a second instance
        // refused above prints its one error line and nothing else.
        logger.info("\(BLASKernels.summary)")
        logger.info("\(BLASKernels.transformerPrecision)")
        // The gallery's bearer token, made once (revsd-web and `revsdctl web`
        // read it). The gallery is optional: a token that cannot be made (a
        // token_file on a read-only path) is a warning, not a failed start.
        do { try WebToken.ensure(path: c.webTokenPath) } catch {
            logger.warning("the web gallery's token cannot be made: \(error); revsd-web will not start until it exists")
        }
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
                                      stateDirectory: c.stateDirectory, options: c.training, retrainAfter: c.retrainAfter,
                                      analyzer: analyzer, logger: logger,
                                      onProgress: progress)
            service = try IndexingService(store: store, analyzer: analyzer, search: search, learner: learner, workers: c.workers,
                                          batchSize: c.batchSize, watchdogInterval: Systemd.watchdogPingInterval,
                                          faults: TestFaults.from(environment: ProcessInfo.processInfo.environment),
                                          thumbnails: ThumbnailCache(directory: c.stateDirectory + "/thumbnails",
                                                                     limitBytes: Int64(c.thumbnailCacheMiB) << 20),
                                          logger: logger, onProgress: progress)
            // The folders are listed once the services run: the socket answers from the index meanwhile.
            try service.prepare(watching: c.watch, scanning: false)
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
        let handler = ControlHandler(service: service, models: modelNames, lexicalWeight: c.lexicalWeight)
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
