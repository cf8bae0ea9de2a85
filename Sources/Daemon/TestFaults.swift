/// Faults the integration tests inject into a real revsdd, to check that a
/// dead loop ends the process instead of hanging it. TEST-ONLY: nothing in
/// production sets these variables; they are read once, at start.
public struct TestFaults: Sendable, Equatable {
    /// REVSD_TEST_FAIL_WORKER=1: a worker's loop throws after its first
    /// batch of files (stored as usual), as if the loop had died.
    public var failWorkerAfterFirstBatch = false
    /// REVSD_TEST_HOLD_BATCH_MS=N: a worker waits N ms between reading a
    /// batch's files and storing their results, so that a test can change a
    /// file while its job runs.
    public var holdBatch: Duration?

    public init(failWorkerAfterFirstBatch: Bool = false, holdBatch: Duration? = nil) {
        self.failWorkerAfterFirstBatch = failWorkerAfterFirstBatch
        self.holdBatch = holdBatch
    }

    public static func from(environment env: [String: String]) -> TestFaults {
        TestFaults(failWorkerAfterFirstBatch: env["REVSD_TEST_FAIL_WORKER"] == "1",
                   holdBatch: env["REVSD_TEST_HOLD_BATCH_MS"].flatMap(Int.init).map { .milliseconds($0) })
    }

    /// What the injected fault throws.
    public struct Injected: Error, CustomStringConvertible {
        public let what: String
        public var description: String { "injected test fault: \(what) (REVSD_TEST_FAIL_WORKER)" }
    }
}
