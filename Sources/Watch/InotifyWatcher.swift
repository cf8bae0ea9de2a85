import Foundation
import RevsdSystem
import Synchronization

/// A change the index must follow, after move pairing.
public enum WatchChange: Sendable, Equatable {
    case index(String)
    case scan(String)
    case remove(String)
    case move(from: String, to: String, isDirectory: Bool)
    case rescan(reason: String)
    /// A watched root disappeared (deleted, moved away, unmounted): its
    /// records stay, and it is checked for its return.
    case rootMissing(String)
    /// A missing root is a directory again: watch it and reconcile it.
    case rootReturned(String)
}

/// Watches directory trees with inotify. One thread blocks on the inotify
/// descriptor (and a wake-up pipe) and only turns events into `WatchChange`s;
/// it never touches the database or the models. An idle watcher sleeps in
/// poll(2) with no timeout: no wake-ups.
public final class InotifyWatcher: Sendable {
    public let changes: AsyncStream<WatchChange>
    let continuation: AsyncStream<WatchChange>.Continuation
    let inotify: Inotify

    /// The watches, shared by the reading thread and the callers of
    /// `addTree`/`removeTree` (control requests, reloads, rescans).
    struct Watches {
        /// wd → directory path, and the reverse.
        var directories: [Int32: String] = [:]
        var descriptors: [String: Int32] = [:]
        var removedByUs: Set<Int32> = []
        /// The trees added with `addRoot` (a lost watch on one of them makes it missing).
        var roots: Set<String> = []
        /// Roots that are not a directory now: polled for their return.
        var missing: Set<String> = []
        /// Set once when the per-user watch limit was hit; explained in `status`.
        var limitMessage: String?
    }
    let watches = Mutex(Watches())
    /// The reading thread, once `start` made it.
    let reader = Mutex<BlockingThread?>(nil)
    static let movePairing: Duration = .milliseconds(200)
    /// How often missing roots are looked for, while there are any. A poll,
    /// not a watch on the parent: mounting a disk sends no inotify event.
    public static let missingPoll: Duration = .seconds(1)

    public init() throws(SystemError) {
        inotify = try Inotify()
        (changes, continuation) = AsyncStream.makeStream(of: WatchChange.self, bufferingPolicy: .unbounded)
    }

    /// The per-user watch limit, from /proc.
    public static var maxUserWatches: Int? {
        (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_user_watches", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public var watchCount: Int { watches.withLock { $0.directories.count } }

    public func watchedDirectories() -> [String] { watches.withLock { Array($0.descriptors.keys) } }

    /// Why some folders are not watched live (the watch limit), if they are not.
    public var limitMessage: String? { watches.withLock { $0.limitMessage } }

    /// Watched roots that are missing now (waiting for their return).
    public var missingRoots: [String] { watches.withLock { $0.missing.sorted() } }

    /// Watches the root `root` and every directory below it. Returns the
    /// regular files found, for the caller to index; nil when `root` is not a
    /// directory now: it is then recorded missing and polled for (`missingPoll`),
    /// and `.rootReturned` comes when it is back.
    @discardableResult
    public func addRoot(_ root: String) -> [String]? {
        let present = (try? Syscalls.status(root))?.kind == .directory
        let newlyMissing = watches.withLock { w in
            w.roots.insert(root)
            if present { w.missing.remove(root); return false }
            return w.missing.insert(root).inserted
        }
        // The reading thread may sleep without a timeout: it must start polling.
        if newlyMissing { inotify.nudge() }
        return present ? addTree(root) : nil
    }

    /// Watches `dir` (a root, or a folder that appeared under one) and every
    /// directory below it (symbolic links are not followed). Returns the
    /// regular files found, for the caller to index.
    @discardableResult
    public func addTree(_ root: String) -> [String] {
        var files: [String] = []
        var stack = [root]
        while let dir = stack.popLast() {
            guard addWatch(dir), let names = try? Syscalls.directoryEntries(dir) else { continue }
            for name in names {
                let path = dir == "/" ? "/" + name : dir + "/" + name
                switch (try? Syscalls.status(path, followLinks: false))?.kind {
                case .directory?: stack.append(path)
                case .regular?: files.append(path)
                default: break
                }
            }
        }
        return files
    }

    /// Adds one watch; false when it could not be added (limit reached,
    /// permission, gone), which is logged through `limitMessage` for ENOSPC.
    func addWatch(_ dir: String) -> Bool {
        let wd: Int32
        do { wd = try inotify.addWatch(dir, mask: InotifyMask.watched.rawValue) } catch {
            if error.errno == ENOSPC {
                watches.withLock { w in
                    if w.limitMessage == nil {
                        let limit = Self.maxUserWatches.map(String.init) ?? "?"
                        w.limitMessage = "inotify watch limit reached (fs.inotify.max_user_watches = \(limit), \(w.directories.count) watched by revsd): folders from \(dir) on are not watched live; raise the limit with sysctl"
                    }
                }
            }
            return false
        }
        watches.withLock { w in
            if let old = w.directories[wd], old != dir { w.descriptors[old] = nil }
            w.directories[wd] = dir
            w.descriptors[dir] = wd
        }
        return true
    }

    /// Stops watching `root` and everything below it.
    public func removeTree(_ root: String) {
        let wds: [Int32] = watches.withLock { w in
            let matching = w.descriptors.filter { Paths.isSameOrInside($0.key, root: root) }
            for (path, wd) in matching { w.descriptors[path] = nil; w.directories[wd] = nil; w.removedByUs.insert(wd) }
            w.roots.remove(root)
            w.missing.remove(root)
            return Array(matching.values)
        }
        for wd in wds { inotify.removeWatch(wd) }
    }

    /// Starts the reading thread (once; later calls return the same thread).
    /// `join()` on it ends when `stop()` was called, and throws when reading
    /// inotify failed. `changes` finishes either way.
    @discardableResult
    public func start() -> BlockingThread {
        reader.withLock { t in
            if let t { return t }
            let thread = BlockingThread(name: "revsd-inotify") { [self] in try run() }
            t = thread
            return thread
        }
    }

    /// Asks the reading thread to return (from any thread, any number of times).
    public func stop() { inotify.wake() }

    func run() throws(SystemError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate(); continuation.finish() }
        /// Moved-out entries waiting for their moved-in half: cookie → (path, isDir, when).
        /// Only this thread touches them.
        var pendingMoves: [UInt32: (String, Bool, ContinuousClock.Instant)] = [:]
        var lastLook = ContinuousClock.now
        while true {
            // Sleep until an event, until a pending move half must be settled,
            // or until missing roots are looked for again.
            let anyMissing = watches.withLock { !$0.missing.isEmpty }
            let timeout: Duration? = !pendingMoves.isEmpty ? .milliseconds(50) : anyMissing ? Self.missingPoll : nil
            switch try inotify.wait(timeout: timeout) {
            case .woken: return
            case .nudged: break
            case .events:
                while true {
                    let n = try inotify.read(into: buffer)
                    if n == 0 { break }
                    handle(InotifyEvent.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n])), pendingMoves: &pendingMoves)
                }
            case .timedOut: break
            }
            settle(&pendingMoves, force: false)
            if anyMissing, ContinuousClock.now - lastLook >= Self.missingPoll {
                lastLook = .now
                lookForMissingRoots()
            }
        }
    }

    func handle(_ events: [InotifyEvent], pendingMoves: inout [UInt32: (String, Bool, ContinuousClock.Instant)]) {
        for e in events {
            let dir = watches.withLock { $0.directories[e.wd] }
            switch WatchAction.classify(e, directory: dir) {
            case .fileReady(let p): continuation.yield(.index(p))
            case .directoryAppeared(let p): continuation.yield(.scan(p))
            case .gone(let p, let cookie):
                if let cookie, cookie != 0 {
                    pendingMoves[cookie] = (p, e.mask.contains(.isDirectory), ContinuousClock.now)
                } else {
                    forget(p)
                    continuation.yield(.remove(p))
                }
            case .arrived(let p, let cookie, let isDir):
                if let (from, _, _) = pendingMoves.removeValue(forKey: cookie) {
                    if isDir { renameWatches(from: from, to: p) }
                    continuation.yield(.move(from: from, to: p, isDirectory: isDir))
                } else {
                    continuation.yield(isDir ? .scan(p) : .index(p))   // moved in from outside
                }
            case .overflow:
                continuation.yield(.rescan(reason: "the kernel's inotify queue overflowed"))
            case .watchLost(let wd):
                let moved = e.mask.contains(.moveSelf)
                let lost: (root: String, wds: [Int32])? = watches.withLock { w in
                    if w.removedByUs.contains(wd) { if !moved { w.removedByUs.remove(wd) }; return nil }
                    guard let path = w.directories[wd] else { return nil }
                    let isRoot = w.roots.contains(path)
                    // A moved sub-folder keeps its watch (renamed on IN_MOVED_TO).
                    if moved && !isRoot { return nil }
                    w.directories[wd] = nil
                    w.descriptors[path] = nil
                    guard isRoot else { return nil }
                    // The root is gone from its path: its sub-folders' watches
                    // (which may follow the moved folder elsewhere) go too, and
                    // the root waits for its return.
                    let below = w.descriptors.filter { Paths.isSameOrInside($0.key, root: path) }
                    for (p, d) in below { w.descriptors[p] = nil; w.directories[d] = nil; w.removedByUs.insert(d) }
                    w.missing.insert(path)
                    return (path, Array(below.values) + (moved ? [wd] : []))
                }
                if let lost {
                    for d in lost.wds { inotify.removeWatch(d) }
                    continuation.yield(.rootMissing(lost.root))
                }
            case .ignore: break
            }
        }
        settle(&pendingMoves, force: false)
    }

    /// Missing roots that are directories again leave `missing`, and the
    /// index is told (`.rootReturned`: the service watches and reconciles them).
    func lookForMissingRoots() {
        let candidates = watches.withLock { $0.missing }
        let present = candidates.filter { (try? Syscalls.status($0))?.kind == .directory }
        let back: [String] = watches.withLock { w in
            let back = present.filter { w.missing.contains($0) }   // not removed meanwhile
            w.missing.subtract(back)
            return back.sorted()
        }
        for root in back { continuation.yield(.rootReturned(root)) }
    }

    /// A moved-out half whose moved-in half did not come: the file left the tree.
    func settle(_ pendingMoves: inout [UInt32: (String, Bool, ContinuousClock.Instant)], force: Bool) {
        let now = ContinuousClock.now
        for (cookie, (path, _, when)) in pendingMoves where force || now - when > Self.movePairing {
            pendingMoves[cookie] = nil
            forget(path)
            continuation.yield(.remove(path))
        }
    }

    func renameWatches(from old: String, to new: String) {
        watches.withLock { w in
            for (path, wd) in w.descriptors {
                guard let moved = Paths.relocated(path, from: old, to: new) else { continue }
                w.descriptors[path] = nil
                w.descriptors[moved] = wd
                w.directories[wd] = moved
            }
        }
    }

    func forget(_ path: String) {
        watches.withLock { w in
            for (p, wd) in w.descriptors where Paths.isSameOrInside(p, root: path) {
                w.descriptors[p] = nil; w.directories[wd] = nil
            }
        }
    }
}
