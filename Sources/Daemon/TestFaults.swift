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
    /// REVSD_TEST_HOLD_ANALYSIS_WHILE=PATH: phase 2 takes no analysis while
    /// PATH exists, so that a test sees a file searchable and not yet
    /// analysed, changes it, or kills the daemon between the phases.
    public var holdAnalysisWhile: String?
    /// REVSD_TEST_HOLD_SCAN_WHILE=PATH: the folders watched at start are
    /// listed only once PATH is gone, so that a test sees the socket answer
    /// before the listing.
    public var holdScanWhile: String?

    public init(failWorkerAfterFirstBatch: Bool = false, holdBatch: Duration? = nil, holdAnalysisWhile: String? = nil,
                holdScanWhile: String? = nil) {
        self.failWorkerAfterFirstBatch = failWorkerAfterFirstBatch
        self.holdBatch = holdBatch
        self.holdAnalysisWhile = holdAnalysisWhile
        self.holdScanWhile = holdScanWhile
    }

    public static func from(environment env: [String: String]) -> TestFaults {
        TestFaults(failWorkerAfterFirstBatch: env["REVSD_TEST_FAIL_WORKER"] == "1",
                   holdBatch: env["REVSD_TEST_HOLD_BATCH_MS"].flatMap(Int.init).map { .milliseconds($0) },
                   holdAnalysisWhile: env["REVSD_TEST_HOLD_ANALYSIS_WHILE"].flatMap { $0.isEmpty ? nil : $0 },
                   holdScanWhile: env["REVSD_TEST_HOLD_SCAN_WHILE"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// What the injected fault throws.
    public struct Injected: Error, CustomStringConvertible {
        public let what: String
        public var description: String { "injected test fault: \(what) (REVSD_TEST_FAIL_WORKER)" }
    }
}
