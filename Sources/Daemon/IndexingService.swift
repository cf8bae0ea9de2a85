#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import Analysis
import Imaging
import RevsdSystem
import Search
import Store
import Watch

/// The indexing half of revsdd: watched folders → job queue → workers →
/// index and search matrix. Control requests call into it from any thread.
public final class IndexingService: @unchecked Sendable {
    public let store: IndexStore
    public let analyzer: ImageAnalyzer
    public let search: SearchIndex
    public let watcher: InotifyWatcher
    let logger: Logger
    let workerCount: Int
    /// Files a worker takes at a time (their known prompts are embedded
    /// together and their results stored in one transaction).
    let batchSize: Int
    let signal = WorkQueueSignal()
    let lock = NSLock()
    var roots: [String] = []
    var threads: [Thread] = []
    var watchTask: Task<Void, Never>?
    /// Work loop health for the watchdog: last time a worker made progress or went idle.
    var lastHeartbeat = ContinuousClock.now
    var busyWorkers = 0
    /// Files indexed or failed since start, and errors, for STATUS= and `status`.
    public internal(set) var processedSinceStart = 0
    public internal(set) var failuresSinceStart = 0
    let doneSignal = WorkQueueSignal()
    /// The learned model and prompt bank (set before `start`).
    public var learner: LearningService?
    /// Evaluation images being collected (`revsdctl eval`).
    public let evaluations = EvaluationSessions()
    /// Called (from a worker) after each file, and after queue changes.
    public var onProgress: (@Sendable () -> Void)?

    public init(store: IndexStore, analyzer: ImageAnalyzer, workers: Int, batchSize: Int = 8, logger: Logger) throws {
        self.store = store
        self.analyzer = analyzer
        self.search = SearchIndex(dimension: analyzer.promptEncoder.dimension)
        self.watcher = try InotifyWatcher()
        self.workerCount = max(1, workers)
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    // MARK: Lifecycle

    /// Recovers from a crash, loads the search matrix, watches and reconciles
    /// the folders, then starts the workers and the watch consumer.
    public func start(watching folders: [String]) throws {
        let givenUp = try store.recoverInterruptedJobs()
        for p in givenUp { logger.error("gave up on a file that stopped the daemon repeatedly", metadata: ["path": "\(p)"]) }
        for (stored, row) in [(EmbeddingKind.predicted, SearchIndex.RowKind.predicted), (.knownPrompt, .knownPrompt)] {
            let (ids, vectors) = try store.vectorMatrix(kind: stored, dimension: search.dimension)
            search.load(ids: ids, vectors: vectors, kind: row)
        }
        if let learner {
            learner.onPrediction = { [search] id, v in search.set(id, kind: .predicted, vector: v) }
            learner.start()
        }
        let all = Array(Set(folders + (try store.watches()))).sorted()
        for root in all { try addRoot(root, persist: false) }
        watcher.start()
        let stream = watcher.changes
        watchTask = Task.detached { [self] in
            for await change in stream { self.apply(change) }
        }
        for i in 0..<workerCount {
            let t = Thread { [self] in self.workLoop() }
            t.name = "revsd-worker-\(i)"
            t.stackSize = 8 << 20
            threads.append(t)
            t.start()
        }
    }

    /// Stops taking jobs, lets the running ones finish (their results are
    /// stored), and stops the watcher. Queued jobs stay queued for next time.
    public func drain() {
        learner?.cancel()   // a training run stops at its next epoch; the saved heads stay as they were
        signal.stop()
        watcher.stop()
        watchTask?.cancel()
        while lock.withLock({ busyWorkers > 0 }) { _ = doneSignal.wait(after: doneSignal.currentGeneration) }
    }

    public var watchRoots: [String] { lock.withLock { roots } }

    /// Watches a folder (and remembers it when `persist`), queueing what it holds.
    public func addRoot(_ root: String, persist: Bool = true) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw SystemError("watch", path: root, errno: ENOTDIR)
        }
        if persist { try store.addWatch(root) }
        lock.withLock { if !roots.contains(root) { roots.append(root); roots.sort() } }
        let files = watcher.addTree(root)
        try reconcile(root: root, files: files)
    }

    public func removeRoot(_ root: String) throws {
        try store.removeWatch(root)
        lock.withLock { roots.removeAll { $0 == root } }
        watcher.removeTree(root)
        // Records stay unless the folder is no longer under any other root.
        if !watchRoots.contains(where: { root.hasPrefix($0 + "/") }) {
            for id in try store.imageIDs(under: root) { search.remove(id) }
            try store.remove(path: root)
        }
    }

    /// Makes the index agree with the disk under `root`: queue new and changed
    /// files, drop records of files that are gone.
    func reconcile(root: String, files: [String]) throws {
        let known = try store.fileStates(under: root)
        var queue: [String] = []
        var present = Set<String>()
        for f in files {
            present.insert(f)
            guard let st = FileStat.of(f) else { continue }
            if let k = known[f], k.size == st.size, k.mtimeNs == st.mtimeNs { continue }
            if Self.looksLikeImage(f) { queue.append(f) }
        }
        for path in known.keys where !present.contains(path) {
            for id in try store.imageIDs(under: path) { search.remove(id) }
            try store.remove(path: path)
        }
        try store.enqueue(queue, reason: "reconcile")
        if !queue.isEmpty { signal.signal() }
        logger.info("reconciled folder", metadata: ["folder": "\(root)", "files": "\(files.count)", "queued": "\(queue.count)"])
    }

    /// Rescans every root (after an overflow or a lost watch).
    public func rescan(reason: String) {
        logger.warning("rescanning watched folders", metadata: ["reason": "\(reason)"])
        for root in watchRoots {
            do { try reconcile(root: root, files: watcher.addTree(root)) } catch {
                logger.error("rescan failed", metadata: ["folder": "\(root)", "error": "\(error)"])
            }
        }
    }

    /// PNG, JPEG or WebP by content (the first bytes), whatever the name.
    static func looksLikeImage(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 12)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, 12) }
        guard n > 0 else { return false }
        return head.withUnsafeBytes { ImageFormat.detect(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } != nil
    }

    func apply(_ change: WatchChange) {
        do {
            switch change {
            case .index(let p):
                if Self.looksLikeImage(p) { try store.enqueue([p], reason: "changed"); signal.signal() }
            case .scan(let dir):
                try reconcile(root: dir, files: watcher.addTree(dir))
            case .remove(let p):
                for id in try store.imageIDs(under: p) { search.remove(id) }
                try store.remove(path: p)
            case .move(let from, let to, let isDir):
                try store.move(from: from, to: to)
                if !isDir, try store.image(path: to) == nil, Self.looksLikeImage(to) {
                    try store.enqueue([to], reason: "moved in"); signal.signal()
                }
            case .rescan(let reason):
                rescan(reason: reason)
            }
        } catch {
            logger.error("could not apply a file change", metadata: ["change": "\(change)", "error": "\(error)"])
        }
    }
}
