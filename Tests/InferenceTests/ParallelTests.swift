import Foundation
import XCTest
@testable import Inference

/// How forward passes share the cores: each piece of work inside
/// `sharingCores` counts once, however deeply its calls nest (an image's
/// analysis holds the count across its encoders' own passes).
final class ParallelTests: XCTestCase {
    func testNestedSharingCountsOnceAndConcurrentWorkSharesTheCores() throws {
        try XCTSkipIf(Parallel.cores < 2, "needs 2 cores to see the cores shared (this machine has \(Parallel.cores))")
        XCTAssertEqual(Parallel.width, Parallel.cores, "no work counted: every core")
        Parallel.sharingCores {
            XCTAssertEqual(Parallel.width, Parallel.cores, "one piece of work: every core")
            Parallel.sharingCores {
                Parallel.sharingCores { XCTAssertEqual(Parallel.width, Parallel.cores, "nested on the same thread: still one") }
            }
            XCTAssertEqual(Parallel.width, Parallel.cores)
            // A second piece of work on another thread: the cores are shared.
            let entered = DispatchSemaphore(value: 0), leave = DispatchSemaphore(value: 0), left = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                Parallel.sharingCores {
                    Parallel.sharingCores { entered.signal(); leave.wait() }
                }
                left.signal()
            }
            entered.wait()
            XCTAssertEqual(Parallel.width, Parallel.cores / 2, "two pieces of work at once")
            Parallel.sharingCores { XCTAssertEqual(Parallel.width, Parallel.cores / 2, "nesting here does not count a third") }
            leave.signal()
            left.wait()
            XCTAssertEqual(Parallel.width, Parallel.cores, "the other one is done")
        }
        XCTAssertEqual(Parallel.width, Parallel.cores, "all done: every core again")
    }
}
