import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import XCTest
@testable import Daemon
@testable import RevsdSystem

/// The pieces that make a dead loop end the daemon, and shutdown never hang:
/// the work signal's wait, blocking threads, and loops as services.
final class SupervisedLoopsTests: XCTestCase {
    func testASignalBetweenTheSnapshotAndTheWaitIsNotLost() {
        // The SIGTERM hang: the last worker's wake-up came between reading
        // the state and reading the generation, and the wait slept forever.
        let s = WorkQueueSignal()
        let seen = s.currentGeneration
        s.signal()
        XCTAssertEqual(s.wait(after: seen, timeout: .seconds(5)), .signalled)
        XCTAssertEqual(s.wait(after: s.currentGeneration, timeout: .milliseconds(20)), .timedOut)
        s.stop()
        XCTAssertEqual(s.wait(after: s.currentGeneration), .stopped, "a stop is sticky")
    }

    func testSignalAndStopWakeSleepingThreads() async throws {
        let s = WorkQueueSignal()
        let woken = Mutex<[WorkQueueSignal.Wake]>([])
        let seen = s.currentGeneration
        let sleepers = (0..<4).map { i in
            BlockingThread(name: "sleeper-\(i)") {
                var gen = seen
                while true {
                    let w = s.wait(after: gen)
                    woken.withLock { $0.append(w) }
                    if w == .stopped { return }
                    gen = s.currentGeneration
                }
            }
        }
        s.signal()
        s.stop()
        for t in sleepers { try await t.join() }
        XCTAssertEqual(woken.withLock { $0.filter { $0 == .stopped }.count }, 4)
    }

    func testJoinRethrowsWhatTheThreadThrew() async {
        struct Boom: Error {}
        let t = BlockingThread(name: "boom") { throw Boom() }
        do { try await t.join(); XCTFail("join returned") } catch { XCTAssert(error is Boom) }
        XCTAssert(t.isFinished)
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    /// A service whose loop waits for work until stopped.
    struct Loop: Service {
        let signal = WorkQueueSignal()
        var dieAfter: Duration? = nil
        let stopped = Flag()
        func run() async throws {
            let thread = BlockingThread(name: "loop") { [signal, dieAfter] in
                if let dieAfter {
                    if signal.wait(after: signal.currentGeneration, timeout: dieAfter) == .timedOut { return }   // "dies"
                }
                while signal.wait(after: signal.currentGeneration) != .stopped {}
            }
            try await SupervisedLoops.run([thread]) { [signal, stopped] in stopped.set(); signal.stop() }
        }
    }

    func group(_ services: [any Service]) -> ServiceGroup {
        ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                                           failureTerminationBehavior: .gracefullyShutdownGroup) },
            logger: Logger(label: "test")))
    }

    func testALoopThatDiesEndsTheGroupWithAFailureAfterStoppingTheOthers() async throws {
        let healthy = Loop()
        let dying = Loop(dieAfter: .milliseconds(100))
        do {
            try await group([healthy, dying]).run()
            XCTFail("the group ended without an error")
        } catch let e as LoopFailure {
            XCTAssertEqual(e.loop, "loop")
            XCTAssertNil(e.underlying, "it returned without being asked")
        }
        XCTAssert(healthy.stopped.isSet, "the other service was shut down gracefully")
    }

    func testGracefulShutdownStopsTheLoopsAndTheGroupEndsCleanly() async throws {
        let a = Loop()
        let b = Loop()
        let g = group([a, b])
        async let run: Void = g.run()
        try await Task.sleep(for: .milliseconds(100))
        await g.triggerGracefulShutdown()
        try await run
        XCTAssert(a.stopped.isSet && b.stopped.isSet)
    }
}
