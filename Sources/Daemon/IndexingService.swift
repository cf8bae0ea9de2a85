import Foundation
import Logging
import Analysis
import Imaging
import RevsdSystem
import Search
import Store
import Synchronization
import Watch

/// The indexing half of revsdd: watched folders → job queue → workers →
/// index and search matrix. Control requests call into it from any thread.
/// Its two loops run as services: `runWorkers` (IndexingWorkers) and
/// `followChanges` (WatchFollower).
public final class IndexingService: Sendable {
    public let store: IndexStore
    public let analyzer: ImageAnalyzer
    public let search: SearchIndex
    public let watcher: InotifyWatcher
    let logger: Logger
    let workerCount: Int
    /// Files a worker takes at a time (their known prompts are embedded
    /// together and their results stored in one transaction).
    let batchSize: Int
    /// Files phase 1 takes at a time: four batches. Its work per file is a
    /// read, a hash and the metadata, and the batch's new prompts are
    /// embedded in one call, where MiniLM runs faster per text the more
    /// texts a call has (bench/RESULTS.md, minilm: batch 32 twice batch 1).
    /// 2,000 files of 4 seed variations each went through phase 1 in
    /// 6.1–6.9 s at 8 files a batch and 4.4–5.8 s at 32 (revsdd's
    /// `batch_size`, by hand, 2026-12-04).
    var phaseOneBatchSize: Int { 4 * batchSize }
    let signal = WorkQueueSignal()
    /// The learned model and prompt bank.
    public let learner: LearningService?
    /// The gallery's thumbnails (nil: none are made).
    public let thumbnails: ThumbnailCache?
    /// Evaluation images being collected (`revsdctl eval`).
    public let evaluations = EvaluationSessions()
    /// Called (from a worker) after each file, and after queue changes.
    /// Given at init, so no thread can see it unset.
    let onProgress: @Sendable () -> Void
    /// Half of WatchdogSec= when systemd expects pings: the work loop sends
    /// them, while it is healthy.
    let watchdogInterval: Duration?
    let faults: TestFaults

    struct State {
        var roots: [String] = []
        /// Folders watched but not yet listed and reconciled (`prepare` with
        /// `scanning: false`; `followChanges` scans them).
        var unscanned: [String] = []
        /// Work loop health for the watchdog: last time a worker made progress or went idle.
        var lastHeartbeat = ContinuousClock.now
        var lastPing: ContinuousClock.Instant?
        var busyWorkers = 0
        /// Files indexed or failed since start, and errors, for STATUS= and `status`.
        var processedSinceStart = 0
        var failuresSinceStart = 0
        /// Images whose pixels were analysed (phase 2) since start.
        var analysedSinceStart = 0
        /// A worker is embedding the search texts of an older index, or none is left to embed.
        var searchTextsBusy = false
        var searchTextsComplete = false
    }
    let state = Mutex(State())

    public init(store: IndexStore, analyzer: ImageAnalyzer, search: SearchIndex? = nil, learner: LearningService? = nil,
                workers: Int, batchSize: Int = 8, watchdogInterval: Duration? = nil, faults: TestFaults = TestFaults(),
                thumbnails: ThumbnailCache? = nil, logger: Logger, onProgress: @escaping @Sendable () -> Void = {}) throws {
        self.store = store
        self.thumbnails = thumbnails
        self.analyzer = analyzer
        self.search = search ?? SearchIndex(dimension: analyzer.promptEncoder.dimension)
        self.learner = learner
        self.watcher = try InotifyWatcher()
        self.workerCount = max(1, workers)
        self.batchSize = max(1, batchSize)
        self.watchdogInterval = watchdogInterval
        self.faults = faults
        self.logger = logger
        self.onProgress = onProgress
        // The one place the search matrix changes: every committed write of
        // the index that changes search rows, in commit order.
        store.observeSearchRows { [search = self.search] change in Self.apply(change, to: search) }
    }

    /// Runs `first` on this thread and `second` on another, and returns
    /// when both are done (with `first`'s error, if any).
    static func sideBySide(_ first: () throws -> Void, _ second: @escaping @Sendable () -> Void) rethrows {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { second(); done.signal() }
        thread.name = "revsd-start"
        thread.stackSize = 8 << 20
        thread.start()
        defer { done.wait() }
        try first()
    }

    public var processedSinceStart: Int { state.withLock { $0.processedSinceStart } }
    public var failuresSinceStart: Int { state.withLock { $0.failuresSinceStart } }
    public var analysedSinceStart: Int { state.withLock { $0.analysedSinceStart } }

    // MARK: Lifecycle

    /// Recovers from a crash, loads the search matrix and the learned model,
    /// watches and reconciles the folders. The loops start with their
    /// services. With `scanning` false the folders are checked and shown
    /// as watched, and listed and reconciled once `followChanges` starts,
    /// while the socket already answers from the index (at a million files
    /// the listing and the stat of each took 10 s: bench/RESULTS.md, start).
    /// Nothing is missed meanwhile: a folder's watch is added before it is
    /// listed, so a file is either listed or seen by its event.
    public func prepare(watching folders: [String], scanning: Bool = true) throws {
        let givenUp = try store.recoverInterruptedJobs()
        for p in givenUp { logger.error("gave up on a file that stopped the daemon repeatedly", metadata: ["path": "\(p)"]) }
        for p in try store.recoverInterruptedAnalyses() {
            logger.error("gave up analysing a file that stopped the daemon repeatedly", metadata: ["path": "\(p)"])
        }
        let all = Array(Set(folders + (try store.watches()))).sorted()
        // The index holds what the watched folders hold: records of a folder
        // no longer watched (a restart without its --watch, a configuration
        // edited while stopped) go, as `watch rm` and a reload drop them.
        // First, so that the matrix and the prompt bank load without them.
        let dropped = try store.removeRecords(outside: all)
        if dropped > 0 {
            logger.notice("dropped the records of folders no longer watched", metadata: ["records": "\(dropped)", "watched": "\(all)"])
        }
        // The search matrix and the learner's model and prompt bank are
        // independent reads of the index, seconds each at a million images
        // (bench/RESULTS.md, "scale" and "start"): they load side by side.
        try Self.sideBySide({ try loadSearchMatrix() }, { [learner] in learner?.prepare() })
        // A folder missing now (an unmounted disk) is a warning, not a
        // reason to stay down: it is watched for its return, its records kept.
        if scanning {
            for root in all { try addRoot(root, persist: false, allowMissing: true) }
            try cleanThumbnails()
        } else {
            for root in all {
                let kind = (try? Syscalls.status(root))?.kind
                guard kind == .directory || kind == nil else { throw NotAFolder(path: root, exists: true) }
            }
            state.withLock { s in s.roots = Array(Set(s.roots + all)).sorted(); s.unscanned = all }
        }
    }

    /// Lists and reconciles the folders `prepare` left unscanned, then
    /// cleans the thumbnails (what the reconcile dropped, orphans, the bound).
    func scanUnscanned() {
        let roots = state.withLock { s in defer { s.unscanned = [] }; return s.unscanned }
        guard !roots.isEmpty else { return }
        while let hold = faults.holdScanWhile, FileManager.default.fileExists(atPath: hold), !signal.isStopping {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let t0 = ContinuousClock.now
        // A reload meanwhile may have dropped a folder: not watched again.
        for root in roots where watchRoots.contains(root) {
            do { try scanRoot(root) } catch {
                logger.error("cannot list a watched folder", metadata: ["folder": "\(root)", "error": "\(error)"])
            }
        }
        logger.info("watched folders listed", metadata: ["folders": "\(roots.count)", "seconds": "\(String(format: "%.1f", (ContinuousClock.now - t0).seconds))"])
        do { try cleanThumbnails() } catch {
            logger.error("cannot clean the thumbnails", metadata: ["error": "\(error)"])
        }
    }

    func cleanThumbnails() throws {
        removeGoneThumbnails()
        if let thumbnails {
            // What a crash (or a race with a delete) left behind, then the bound.
            let n = try thumbnails.removeOrphans { try store.indexedContents(among: $0) }
            if n > 0 { logger.info("removed thumbnails of contents no longer indexed", metadata: ["thumbnails": "\(n)"]) }
            thumbnails.evictIfOver()
        }
    }

    /// Phase 1's work loop and phase 2's analysis loop, each on
    /// `workerCount` threads, until graceful shutdown: then each finishes the
    /// files it holds (their results are stored) and the rest stay queued for
    /// next time. Throws when a worker dies.
    public func runWorkers() async throws {
        let threads = (0..<workerCount).map { i in
            BlockingThread(name: "revsd-worker-\(i)", stackSize: 8 << 20) { [self] in try workLoop() }
        } + (0..<workerCount).map { i in
            BlockingThread(name: "revsd-analyse-\(i)", stackSize: 8 << 20) { [self] in try analysisLoop() }
        }
        try await SupervisedLoops.run(threads) { [signal] in signal.stop() }
    }

    /// Follows the watched folders until graceful shutdown: the inotify
    /// thread turns events into changes, and this task applies them to the
    /// queue and the records. Throws when reading inotify fails.
    public func followChanges() async throws {
        let reader = watcher.start()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { [watcher] in try await SupervisedLoops.run([reader]) { watcher.stop() } }
            group.addTask { [self] in try await BlockingThread(name: "revsd-scan") { [self] in scanUnscanned() }.join() }
            // Ends when the reader does (the stream finishes).
            group.addTask { [self] in for await change in watcher.changes { apply(change) } }
        }
    }

    public var watchRoots: [String] { state.withLock { $0.roots } }

    /// Why a folder cannot be watched (`watch add`).
    public struct NotAFolder: Error, CustomStringConvertible {
        public let path: String
        public let exists: Bool
        public var description: String {
            exists ? "\(path) is not a directory"
                : "\(path) does not exist (folders listed in the configuration that are missing at start are watched for their return; `watch add` needs an existing folder)"
        }
    }

    /// Watches a folder (and remembers it when `persist`), queueing what it
    /// holds. A folder that is not there is refused, unless `allowMissing`
    /// (the configured and remembered folders at start and on reload): it is
    /// then watched for its return, and its records are kept meanwhile.
    public func addRoot(_ root: String, persist: Bool = true, allowMissing: Bool = false) throws {
        let kind = (try? Syscalls.status(root))?.kind
        guard kind == .directory || (allowMissing && kind == nil) else { throw NotAFolder(path: root, exists: kind != nil) }
        if persist { try store.addWatch(root) }
        state.withLock { s in if !s.roots.contains(root) { s.roots.append(root); s.roots.sort() } }
        try scanRoot(root)
    }

    /// Watches and reconciles a root, or, when it is missing now, leaves its
    /// records as they are until it returns.
    func scanRoot(_ root: String) throws {
        guard let files = watcher.addRoot(root) else {
            logger.warning("watched folder is missing; it will be picked up when it returns", metadata: ["folder": "\(root)"])
            return
        }
        try reconcile(root: root, files: files)
    }

    /// Watched folders that are missing now.
    public var missingRoots: [String] { watcher.missingRoots }

    public func removeRoot(_ root: String) throws {
        try store.removeWatch(root)
        state.withLock { $0.roots.removeAll { $0 == root } }
        watcher.removeTree(root)
        // Records stay unless the folder is no longer under any other root.
        if !watchRoots.contains(where: { Paths.isSameOrInside(root, root: $0) }) {
            try store.remove(path: root)
        }
        removeGoneThumbnails()
    }

    /// Queues one file to be indexed again (a gallery request found it changed).
    public func enqueue(_ path: String, reason: String) throws {
        try store.enqueue([path], reason: reason)
        signal.signal()
    }

    /// Removes the thumbnails of the contents whose last indexed image went
    /// (deleted, changed, failed) since the last call: the index records
    /// them in the transaction that removed the image (migration v6).
    func removeGoneThumbnails() {
        guard let thumbnails else { return }
        do {
            for hash in try store.takeGoneContents() { thumbnails.remove(hash) }
        } catch {
            logger.error("cannot read the contents no longer indexed", metadata: ["error": "\(error)"])
        }
    }

    /// Makes the index agree with the disk under `root`: queue new and changed
    /// files, drop records of files that are gone.
    func reconcile(root: String, files: [String]) throws {
        let known = try store.fileStates(under: root)
        var queue: [String] = []
        var present = Set<PathKey>()
        for f in files {
            let key = PathKey(f)
            present.insert(key)
            guard let st = FileStat.of(f) else { continue }
            if let k = known[key], k.size == st.size, k.mtimeNs == st.mtimeNs { continue }
            if Self.looksLikeImage(f) { queue.append(f) }
        }
        let gone = known.keys.filter { !present.contains($0) }.map(\.path).sorted()
        if files.isEmpty && !gone.isEmpty {
            // An empty folder where the index holds images: most often a disk
            // not mounted on its mount point. Its records stay (dropping them
            // would lose every analysis of a library that comes back); a file
            // that appears is indexed as usual, and `reindex` drops the rest.
            logger.warning("watched folder is empty but the index holds images from it; keeping them (revsdctl reindex FOLDER drops them)",
                           metadata: ["folder": "\(root)", "images": "\(gone.count)"])
        } else if !gone.isEmpty {
            let n = try store.remove(files: gone)
            logger.info("dropped the records of files no longer there", metadata: ["folder": "\(root)", "records": "\(n)"])
        }
        try store.enqueue(queue, reason: "reconcile")
        if !queue.isEmpty { signal.signal() }
        logger.info("reconciled folder", metadata: ["folder": "\(root)", "files": "\(files.count)", "queued": "\(queue.count)"])
    }

    /// Rescans every root (after an overflow or a lost watch).
    public func rescan(reason: String) {
        logger.warning("rescanning watched folders", metadata: ["reason": "\(reason)"])
        for root in watchRoots {
            do { try scanRoot(root) } catch {
                logger.error("rescan failed", metadata: ["folder": "\(root)", "error": "\(error)"])
            }
        }
    }

    /// Whether a file is one to index: named like an image (`.png .jpg
    /// .jpeg .webp`, any case), so that one that is not a readable image is
    /// recorded failed with its reason rather than skipped in silence, or
    /// PNG, JPEG or WebP by content (the first bytes) whatever its name.
    static func looksLikeImage(_ path: String) -> Bool {
        if hasImageName(path) { return true }
        guard let head = try? Syscalls.readHead(path, count: 12), !head.isEmpty else { return false }
        return head.withUnsafeBytes { ImageFormat.detect($0) } != nil
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "webp"]

    /// The name ends in an image extension, any case (`a.PNG`, `b.JpEg`).
    static func hasImageName(_ path: String) -> Bool {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    func apply(_ change: WatchChange) {
        do {
            switch change {
            case .index(let p):
                if Self.looksLikeImage(p) { try store.enqueue([p], reason: "changed"); signal.signal() }
            case .scan(let dir):
                // Gone already (moved or deleted right after it appeared): its
                // move or delete event follows and settles it.
                guard (try? Syscalls.status(dir))?.kind == .directory else { return }
                try reconcile(root: dir, files: watcher.addTree(dir))
            case .remove(let p):
                try store.remove(path: p)
            case .move(let from, let to, let isDir):
                try store.move(from: from, to: to)
                if isDir {
                    // The records and jobs followed the folder. What they do not
                    // cover (files written before its watch was added, when it
                    // moved right after it appeared) is found by reconciling it
                    // at its new path: a listing and a stat per file.
                    try reconcile(root: to, files: watcher.addTree(to))
                } else if try store.image(path: to) == nil, Self.looksLikeImage(to) {
                    try store.enqueue([to], reason: "moved in"); signal.signal()
                }
            case .rescan(let reason):
                rescan(reason: reason)
            case .rootMissing(let root):
                logger.warning("watched folder was deleted, moved away or unmounted; its records are kept and it will be picked up when it returns",
                               metadata: ["folder": "\(root)"])
            case .rootReturned(let root):
                logger.info("watched folder is back", metadata: ["folder": "\(root)"])
                guard watchRoots.contains(root) else { return }
                try scanRoot(root)
            }
        } catch {
            logger.error("could not apply a file change", metadata: ["change": "\(change)", "error": "\(error)"])
        }
        removeGoneThumbnails()
    }
}
