import Dispatch
import Synchronization

/// Wakes worker threads when jobs arrive, and lets them stop cleanly.
/// Workers are plain threads, not tasks: model forward passes block, and
/// blocking the cooperative pool (two threads on two cores) would stall
/// every async part of the daemon.
///
/// Race-free by construction: a waiter checks the generation and registers
/// its wake-up under one lock, and `signal`/`stop` change the state and
/// collect the registered wake-ups under that same lock. A signal that lands
/// between a caller's snapshot of `currentGeneration` and its `wait` makes
/// the wait return at once; one that lands after it wakes it (a semaphore
/// keeps the wake-up even if it arrives before the waiter sleeps).
final class WorkQueueSignal: Sendable {
    private struct State {
        var generation = 0
        var stopping = false
        var sleepers: [Int: DispatchSemaphore] = [:]
        var nextSleeper = 0
    }
    private let state = Mutex(State())

    /// Why `wait` returned.
    enum Wake: Equatable {
        /// A signal newer than the generation waited after.
        case signalled
        /// `stop()` was called (now or before).
        case stopped
        case timedOut
    }

    func signal() { change { $0.generation += 1 } }

    func stop() { change { $0.stopping = true } }

    private func change(_ body: (inout State) -> Void) {
        let sleepers = state.withLock { s in
            body(&s)
            defer { s.sleepers = [:] }
            return Array(s.sleepers.values)
        }
        for s in sleepers { s.signal() }
    }

    var isStopping: Bool { state.withLock { $0.stopping } }

    var currentGeneration: Int { state.withLock { $0.generation } }

    /// Sleeps until a signal newer than `seen`, a stop, or `timeout` (nil:
    /// none). Take `seen` from `currentGeneration` before looking for work.
    func wait(after seen: Int, timeout: Duration? = nil) -> Wake {
        let deadline = timeout.map { DispatchTime.now() + .nanoseconds(Int(clamping: $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000)) }
        while true {
            let semaphore = DispatchSemaphore(value: 0)
            // Checked and registered under one lock: nothing can slip between.
            let sleeper: Int? = state.withLock { s in
                if s.stopping || s.generation != seen { return nil }
                defer { s.nextSleeper += 1 }
                s.sleepers[s.nextSleeper] = semaphore
                return s.nextSleeper
            }
            guard let id = sleeper else { return outcome(after: seen) ?? .signalled }
            let timedOut: Bool
            if let deadline { timedOut = semaphore.wait(timeout: deadline) == .timedOut } else { semaphore.wait(); timedOut = false }
            state.withLock { _ = $0.sleepers.removeValue(forKey: id) }
            if let o = outcome(after: seen) { return o }
            if timedOut { return .timedOut }
        }
    }

    private func outcome(after seen: Int) -> Wake? {
        state.withLock { s in s.stopping ? .stopped : s.generation != seen ? .signalled : nil }
    }
}
