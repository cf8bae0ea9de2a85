import RevsdSystem
import ServiceLifecycle
import Synchronization

/// A loop that must keep running ended: the service that owns it throws
/// this, the `ServiceGroup` shuts the other services down, and revsdd exits
/// with a failure status, so systemd restarts it (Restart=on-failure).
public struct LoopFailure: Error, CustomStringConvertible {
    /// The loop's thread name ("revsd-worker-0").
    public let loop: String
    /// What it threw; nil when it returned without being asked to stop.
    public let underlying: (any Error)?

    public init(loop: String, underlying: (any Error)?) {
        self.loop = loop
        self.underlying = underlying
    }

    public var description: String {
        underlying.map { "\(loop) failed: \($0)" } ?? "\(loop) stopped without being asked to"
    }
}

/// Runs blocking loops as the body of a `Service`'s `run()`.
///
/// Graceful shutdown (or cancellation) calls `stop`, which must make every
/// loop return; `run` returns once they all have. A loop that ends by itself
/// first, returning or throwing, is a failure: `stop` is called so the other
/// loops finish what they hold, and once they have, `run` throws
/// `LoopFailure`.
enum SupervisedLoops {
    static func run(_ threads: [BlockingThread], stop: @escaping @Sendable () -> Void) async throws {
        let asked = StopRequest()
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: (String, (any Error)?).self) { group in
                for t in threads {
                    group.addTask {
                        do { try await t.join(); return (t.name, nil) } catch { return (t.name, error) }
                    }
                }
                var failure: LoopFailure?
                while let (name, error) = try await group.next() {
                    if error is CancellationError { continue }
                    if failure == nil, error != nil || !asked.isSet {
                        failure = LoopFailure(loop: name, underlying: error)
                        stop()   // the others finish their work and return
                    }
                }
                try Task.checkCancellation()
                if let failure { throw failure }
            }
        } onCancelOrGracefulShutdown: {
            asked.set()
            stop()
        }
    }
}

/// Whether the loops were asked to stop (set from the shutdown handler,
/// read by the task that awaits them).
final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { flag.load(ordering: .sequentiallyConsistent) }
}
