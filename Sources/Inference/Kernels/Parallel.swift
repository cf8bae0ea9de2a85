import Dispatch
import Foundation

/// Splits element-wise work over the cores. The matrix products are threaded
/// by OpenBLAS itself; this covers the cheap O(n) passes between them
/// (bias, GELU, layer norm, softmax), which would otherwise run on one core.
public enum Parallel {
    /// Cores available to this process (affinity and cgroup limits included).
    public static let cores: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body(range)` on disjoint chunks covering `0..<count`, in
    /// parallel when the work is large enough to be worth a thread hop.
    /// The chunks touch disjoint memory; that is the caller's contract.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minChunk: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = min(cores, max(1, count / max(1, minChunk)))
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
