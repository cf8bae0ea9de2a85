import Dispatch
import Foundation
import Synchronization

/// Splits element-wise work over the cores. The matrix products are threaded
/// by OpenBLAS itself; this covers the cheap O(n) passes between them
/// (bias, GELU, layer norm, softmax), which would otherwise run on one core.
///
/// Forward passes that run at the same time share the cores: each one that
/// runs inside `sharingCores` counts, and a split uses `width` threads, the
/// cores divided among them. Two daemon workers, each in a forward pass on
/// two cores, then run one thread each with no hand-offs between them, and
/// a lone query still gets every core.
public enum Parallel {
    /// Cores available to this process (affinity and cgroup limits included).
    public static let cores: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Forward passes inside `sharingCores` now.
    private static let running = Atomic<Int>(0)

    /// Threads a split may use now: the cores shared among the forward
    /// passes running at once (all of them when none is counted).
    public static var width: Int { max(1, cores / max(1, running.load(ordering: .relaxed))) }

    /// How deep the calling thread is inside `sharingCores` (a
    /// thread-specific count: 0, the key's initial value, is outside).
    private static let depthKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create")
        return key
    }()

    /// Runs one forward pass, or a whole piece of work made of several
    /// (an image's decode, resizes and encoders), counted among those that
    /// share the cores: once, however deeply the calls nest on this thread.
    /// Counting a whole analysis keeps the other worker's forward passes
    /// from splitting onto the core this one is resizing on.
    public static func sharingCores<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let depth = Int(bitPattern: pthread_getspecific(depthKey))
        if depth == 0 { running.add(1, ordering: .relaxed) }
        pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: depth + 1))
        defer {
            pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: depth))
            if depth == 0 { running.subtract(1, ordering: .relaxed) }
        }
        return try body()
    }

    /// Calls `body(range)` on disjoint chunks covering `0..<count`, in
    /// parallel when the work is large enough to be worth a thread hop.
    /// The chunks touch disjoint memory; that is the caller's contract.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minChunk: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = min(width, max(1, count / max(1, minChunk)))
        if chunks <= 1 { body(0..<count); return }
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { escapable in
            let work = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per
                let hi = min(count, lo + per)
                if lo < hi { work.value(lo..<hi) }
            }
        }
    }
}

/// Carries a value across a `@Sendable` boundary where the caller guarantees
/// that the concurrent uses touch disjoint memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
