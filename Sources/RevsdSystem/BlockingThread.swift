import Foundation
import Synchronization

/// A blocking loop on a thread of its own, whose end can be awaited.
///
/// poll(2), accept(2), SQLite and the models' forward passes block; on the
/// cooperative pool (two threads on two cores) they would stall every async
/// part of the daemon. So each long-lived loop keeps a thread, and the
/// `Service` that owns it awaits `join()`: it returns when the body returns
/// and rethrows what the body threw, so a loop that dies ends its service.
public final class BlockingThread: Sendable {
    public let name: String

    private struct State {
        var result: Result<Void, any Error>?
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiter = 0
        /// Waiters cancelled before they registered.
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    /// Starts `body` now, on a new thread called `name`.
    public init(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () throws -> Void) {
        self.name = name
        let thread = Thread { [self] in
            let result = Result<Void, any Error> { try body() }
            let waiters = state.withLock { s in
                s.result = result
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            for w in waiters { w.resume(with: result) }
        }
        thread.name = name
        if let stackSize { thread.stackSize = stackSize }
        thread.start()
    }

    /// True once the body has returned or thrown.
    public var isFinished: Bool { state.withLock { $0.result != nil } }

    /// Waits for the body to end; rethrows what it threw. Cancelling the
    /// waiting task stops the wait (CancellationError), not the thread: ask
    /// the loop to stop its own way.
    public func join() async throws {
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = state.withLock { s in
                    if let r = s.result { return r }
                    if s.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    s.waiters[id] = c
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
                if let c = s.waiters.removeValue(forKey: id) { return c }
                if s.result == nil { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
