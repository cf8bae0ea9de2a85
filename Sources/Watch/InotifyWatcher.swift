import Foundation
#if canImport(Glibc)
import Glibc
import RevsdSystem
#endif

/// A change the index must follow, after move pairing.
public enum WatchChange: Sendable, Equatable {
    case index(String)
    case scan(String)
    case remove(String)
    case move(from: String, to: String, isDirectory: Bool)
    case rescan(reason: String)
}

/// Watches directory trees with inotify. One thread blocks on the inotify
/// descriptor (and a stop pipe) and only turns events into `WatchChange`s;
/// it never touches the database or the models. An idle watcher sleeps in
/// poll(2) with no timeout: no wake-ups.
public final class InotifyWatcher: @unchecked Sendable {
    public let changes: AsyncStream<WatchChange>
    let continuation: AsyncStream<WatchChange>.Continuation
    let fd: Int32
    let stopPipe: (read: Int32, write: Int32)
    let lock = NSLock()
    /// wd → directory path, and the reverse (guarded by `lock`).
    var directories: [Int32: String] = [:]
    var descriptors: [String: Int32] = [:]
    var removedByUs: Set<Int32> = []
    /// The trees added with `addTree` (a lost watch on one of them needs a rescan).
    var roots: Set<String> = []
    /// Set once when the per-user watch limit was hit; explained in `status`.
    public private(set) var limitMessage: String?
    var thread: Thread?
    /// Moved-out entries waiting for their moved-in half: cookie → (path, isDir, when).
    var pendingMoves: [UInt32: (String, Bool, ContinuousClock.Instant)] = [:]
    static let movePairing: Duration = .milliseconds(200)

    public init() throws(SystemError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw SystemError("inotify_init1", path: "inotify", errno: errno) }
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else {
            Glibc.close(fd)
            throw SystemError("pipe", path: "inotify stop pipe", errno: errno)
        }
        for end in p {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        self.fd = fd
        stopPipe = (p[0], p[1])
        (changes, continuation) = AsyncStream.makeStream(of: WatchChange.self, bufferingPolicy: .unbounded)
    }

    deinit {
        Glibc.close(fd); Glibc.close(stopPipe.read); Glibc.close(stopPipe.write)
    }

    /// The per-user watch limit, from /proc.
    public static var maxUserWatches: Int? {
        (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_user_watches", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public var watchCount: Int { lock.withLock { directories.count } }

    public func watchedDirectories() -> [String] { lock.withLock { Array(descriptors.keys) } }

    /// Watches `root` and every directory below it (symbolic links are not
    /// followed). Returns the regular files found, for the caller to index.
    @discardableResult
    public func addTree(_ root: String) -> [String] {
        lock.withLock { _ = roots.insert(root) }
        var files: [String] = []
        var stack = [root]
        while let dir = stack.popLast() {
            guard addWatch(dir) else { continue }
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = dir == "/" ? "/" + name : dir + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: stack.append(path)
                case S_IFREG: files.append(path)
                default: break
                }
            }
        }
        return files
    }

    /// Adds one watch; false when it could not be added (limit reached,
    /// permission, gone), which is logged through `limitMessage` for ENOSPC.
    func addWatch(_ dir: String) -> Bool {
        let wd = inotify_add_watch(fd, dir, InotifyMask.watched.rawValue)
        if wd < 0 {
            if errno == ENOSPC {
                lock.withLock {
                    if limitMessage == nil {
                        let limit = Self.maxUserWatches.map(String.init) ?? "?"
                        limitMessage = "inotify watch limit reached (fs.inotify.max_user_watches = \(limit), \(directories.count) watched by revsd): folders from \(dir) on are not watched live; raise the limit with sysctl"
                    }
                }
            }
            return false
        }
        lock.withLock {
            if let old = directories[wd], old != dir { descriptors[old] = nil }
            directories[wd] = dir
            descriptors[dir] = wd
        }
        return true
    }

    /// Stops watching `root` and everything below it.
    public func removeTree(_ root: String) {
        let wds: [Int32] = lock.withLock {
            let matching = descriptors.filter { Paths.isSameOrInside($0.key, root: root) }
            for (path, wd) in matching { descriptors[path] = nil; directories[wd] = nil; removedByUs.insert(wd) }
            roots.remove(root)
            return Array(matching.values)
        }
        for wd in wds { inotify_rm_watch(fd, wd) }
    }

    public func start() {
        let t = Thread { [self] in self.run() }
        t.name = "revsd-inotify"
        thread = t
        t.start()
    }

    public func stop() {
        var b: UInt8 = 1
        _ = write(stopPipe.write, &b, 1)
    }

    func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate(); continuation.finish() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
        while true {
            // Sleep until an event, or until a pending move half must be settled.
            let timeout: Int32 = pendingMoves.isEmpty ? -1 : 50
            let r = poll(&fds, 2, timeout)
            if r < 0 && errno == EINTR { continue }
            if fds[1].revents != 0 { return }
            if fds[0].revents != 0 {
                while true {
                    let n = read(fd, buffer.baseAddress, buffer.count)
                    if n <= 0 { break }
                    handle(InotifyEvent.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
                }
            }
            settlePendingMoves(force: false)
        }
    }

    func handle(_ events: [InotifyEvent]) {
        for e in events {
            let dir = lock.withLock { directories[e.wd] }
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
                let lostRoot: String? = lock.withLock {
                    if removedByUs.contains(wd) { if !moved { removedByUs.remove(wd) }; return nil }
                    guard let path = directories[wd] else { return nil }
                    let isRoot = roots.contains(path)
                    // A moved sub-folder keeps its watch (renamed on IN_MOVED_TO).
                    if moved && !isRoot { return nil }
                    directories[wd] = nil
                    descriptors[path] = nil
                    if isRoot { roots.remove(path) }
                    return isRoot ? path : nil
                }
                if let lostRoot {
                    if moved { inotify_rm_watch(fd, wd) }
                    continuation.yield(.rescan(reason: "watched folder \(lostRoot) was deleted, moved or unmounted"))
                }
            case .ignore: break
            }
        }
        settlePendingMoves(force: false)
    }

    /// A moved-out half whose moved-in half did not come: the file left the tree.
    func settlePendingMoves(force: Bool) {
        let now = ContinuousClock.now
        for (cookie, (path, _, when)) in pendingMoves where force || now - when > Self.movePairing {
            pendingMoves[cookie] = nil
            forget(path)
            continuation.yield(.remove(path))
        }
    }

    func renameWatches(from old: String, to new: String) {
        lock.withLock {
            for (path, wd) in descriptors {
                guard let moved = Paths.relocated(path, from: old, to: new) else { continue }
                descriptors[path] = nil
                descriptors[moved] = wd
                directories[wd] = moved
            }
        }
    }

    func forget(_ path: String) {
        lock.withLock {
            for (p, wd) in descriptors where Paths.isSameOrInside(p, root: path) {
                descriptors[p] = nil; directories[wd] = nil
            }
        }
    }
}
