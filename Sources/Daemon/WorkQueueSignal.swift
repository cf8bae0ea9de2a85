import Foundation

/// Wakes worker threads when jobs arrive, and lets them stop cleanly.
/// Workers are plain threads, not tasks: model forward passes block, and
/// blocking the cooperative pool (two threads on two cores) would stall
/// every async part of the daemon.
final class WorkQueueSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var generation = 0
    private var stopping = false

    func signal() {
        condition.lock(); generation += 1; condition.broadcast(); condition.unlock()
    }

    func stop() {
        condition.lock(); stopping = true; condition.broadcast(); condition.unlock()
    }

    var isStopping: Bool { condition.lock(); defer { condition.unlock() }; return stopping }

    var currentGeneration: Int { condition.lock(); defer { condition.unlock() }; return generation }

    /// Sleeps until a signal newer than `seen`, or a stop. Returns false on stop.
    func wait(after seen: Int) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while generation == seen && !stopping { condition.wait() }
        return !stopping
    }
}
