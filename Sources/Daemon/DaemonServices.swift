import Logging
import ServiceLifecycle

// The daemon's long-lived loops as services. revsdd runs them in one
// ServiceGroup, in this order, and stops them in reverse:
//
//   LearningLoop → IndexingWorkers → WatchFollower → … → ControlService
//
// Each `run()` returns only once graceful shutdown has stopped its loop; a
// loop that dies makes `run()` throw (`LoopFailure`), which shuts the group
// down and makes revsdd exit with a failure status.

/// The learning thread: training runs and re-predictions. Stops last, since
/// the workers predict with its model.
public struct LearningLoop: Service {
    let learner: LearningService
    public init(learner: LearningService) { self.learner = learner }
    public func run() async throws { try await learner.run() }
}

/// The indexing workers. On shutdown each finishes the files it holds
/// (results stored); the queue keeps the rest for next time.
public struct IndexingWorkers: Service {
    let service: IndexingService
    let logger: Logger
    public init(service: IndexingService, logger: Logger) { self.service = service; self.logger = logger }
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await service.runWorkers()
        } onGracefulShutdown: { [logger] in
            logger.info("stopping: finishing the current files")
        }
    }
}

/// The inotify thread, and the task that applies what it sees to the queue.
public struct WatchFollower: Service {
    let service: IndexingService
    public init(service: IndexingService) { self.service = service }
    public func run() async throws { try await service.followChanges() }
}

/// The control socket's accept loop. `onServing` runs as it starts (the
/// socket already listens), `onStopping` as shutdown begins, before the
/// socket stops accepting.
public struct ControlService: Service {
    let server: ControlServer
    let onServing: @Sendable () -> Void
    let onStopping: @Sendable () -> Void
    public init(server: ControlServer, onServing: @escaping @Sendable () -> Void, onStopping: @escaping @Sendable () -> Void) {
        self.server = server; self.onServing = onServing; self.onStopping = onStopping
    }
    public func run() async throws {
        onServing()
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: { [onStopping] in
            onStopping()
        }
    }
}
