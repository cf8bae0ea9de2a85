import Foundation
import Logging
import RevsdSystem
import ServiceLifecycle
import Synchronization
import UnixSignals

/// systemd's view of the daemon: readiness, STATUS= and SIGHUP reloads.
public final class DaemonRuntime: Sendable {
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

    public init(service: IndexingService, logger: Logger, configFile: String, flagsWatch: Bool,
         statusChanges: AsyncStream<Void>, statusChanged: AsyncStream<Void>.Continuation) {
        self.service = service; self.logger = logger; self.configFile = configFile; self.flagsWatch = flagsWatch
        self.statusChanges = statusChanges; self.statusChanged = statusChanged
    }

    /// READY=1: the database is migrated and the socket listens.
    @Sendable public func announceReady() {
        statusChanged.yield()
        Systemd.notify("READY=1")
        logger.info("ready", metadata: ["watches": "\(service.watchRoots.joined(separator: ", "))"])
    }

    @Sendable public func announceStopping() {
        status.withLock { $0.stopping = true }
        Systemd.notify("STOPPING=1\nSTATUS=stopping: finishing the current files")
    }

    func statusLine() -> String {
        let c = service.store.counts()
        let total = c.indexed + c.failed + c.queued
        let p = service.store.phaseCounts()
        var s = "indexed \(c.indexed)/\(total), \(c.failed) error\(c.failed == 1 ? "" : "s")"
        s += ", searchable \(p.searchable), analysed \(p.analysed)/\(p.analysed + p.analysisQueued)"
        if c.queued == 0 && p.analysisQueued == 0 { s += ", idle" }
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
        let line = statusLine()
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
                for root in wanted where !service.watchRoots.contains(root) { try service.addRoot(root, allowMissing: true) }
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
public struct StatusReporter: Service {
    let runtime: DaemonRuntime
    public init(runtime: DaemonRuntime) { self.runtime = runtime }
    public func run() async throws {
        for await _ in runtime.statusChanges.cancelOnGracefulShutdown() { runtime.sendStatus() }
        guard Task.isShuttingDownGracefully || Task.isCancelled else {
            throw LoopFailure(loop: "status reporting", underlying: nil)
        }
    }
}

/// SIGHUP (`systemctl reload revsdd`): re-read the watched folders, one
/// reload at a time, on a thread (a reload reconciles folders: stat, SQLite).
public struct ReloadOnHangup: Service {
    let runtime: DaemonRuntime
    /// Trapped at start (see `Revsdd.run`).
    let hangups: UnixSignalsSequence
    public init(runtime: DaemonRuntime, hangups: UnixSignalsSequence) { self.runtime = runtime; self.hangups = hangups }
    public func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            try await BlockingThread(name: "revsd-reload") { [runtime] in runtime.reload() }.join()
        }
        guard Task.isShuttingDownGracefully || Task.isCancelled else {
            throw LoopFailure(loop: "SIGHUP handling", underlying: nil)
        }
    }
}
