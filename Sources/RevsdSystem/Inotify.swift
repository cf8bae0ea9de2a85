#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The inotify calls, each wrapped once, and a wake-up pipe so that a thread
/// blocked in `wait` can be told to stop. Both descriptors are non-blocking
/// and close-on-exec, and are closed when the instance goes away. The calls
/// are safe from any thread (the kernel serialises them); only one thread
/// should `read`.
///
/// Watch masks are plain `UInt32` here: the `IN_*` constants import as
/// `Int32` while `inotify_event.mask` is `UInt32`, and Watch's `InotifyMask`
/// wraps them once.
public final class Inotify: Sendable {
    let fd: Int32
    let wakeRead: Int32
    let wakeWrite: Int32
    /// Set by `wake()` (a stop), before its byte is written; `nudge()` writes a byte alone.
    let stopping = Atomic<Bool>(false)

    public init() throws(SystemError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw Syscalls.failure("inotify_init1", path: "inotify", errno: errno) }
        // pipe2(2) is not visible to Swift without _GNU_SOURCE: pipe, then
        // fcntl (revsdd does not fork meanwhile).
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let e = errno
            Syscalls.close(fd)
            throw Syscalls.failure("pipe", path: "inotify wake-up pipe", errno: e)
        }
        for end in ends {
            let flags = fcntl(end, F_GETFL)
            guard fcntl(end, F_SETFD, FD_CLOEXEC) == 0, flags >= 0, fcntl(end, F_SETFL, flags | O_NONBLOCK) == 0 else {
                let e = errno
                Syscalls.close(fd); Syscalls.close(ends[0]); Syscalls.close(ends[1])
                throw Syscalls.failure("fcntl", path: "inotify wake-up pipe", errno: e)
            }
        }
        self.fd = fd
        wakeRead = ends[0]
        wakeWrite = ends[1]
    }

    deinit {
        Syscalls.close(fd); Syscalls.close(wakeRead); Syscalls.close(wakeWrite)
    }

    /// Watches the directory at `path` (inotify_add_watch); returns the watch
    /// descriptor. ENOSPC means the per-user watch limit is reached.
    public func addWatch(_ path: String, mask: UInt32) throws(SystemError) -> Int32 {
        let wd = inotify_add_watch(fd, path, mask)
        if wd < 0 { throw Syscalls.failure("inotify_add_watch", path: path, errno: errno) }
        return wd
    }

    /// Stops a watch (inotify_rm_watch). A watch the kernel already dropped
    /// (the directory was deleted: EINVAL) is not an error.
    public func removeWatch(_ wd: Int32) {
        if inotify_rm_watch(fd, wd) != 0 {
            let e = errno
            precondition(e != EBADF && e != EFAULT, "inotify_rm_watch: \(SystemError.describe(e)) (a bug in revsd)")
        }
    }

    public enum Readiness: Sendable, Equatable {
        /// Events are waiting to be `read`.
        case events
        /// `wake()` was called.
        case woken
        /// `nudge()` was called (and not `wake()`): look at the state again.
        case nudged
        case timedOut
    }

    /// Sleeps in poll(2) until events arrive, `wake()` is called, or
    /// `timeout` passes (nil: no timeout, no wake-ups while idle). EINTR is
    /// retried. A wake-up wins over pending events.
    public func wait(timeout: Duration?) throws(SystemError) -> Readiness {
        if stopping.load(ordering: .sequentiallyConsistent) { return .woken }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let ms: Int32 = timeout.map { Int32(clamping: $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? -1
        while true {
            let r = poll(&fds, 2, ms)
            if r < 0 {
                if errno == EINTR { continue }
                throw Syscalls.failure("poll", path: "inotify", errno: errno)
            }
            if fds[1].revents != 0 {
                // Drain the nudges; a stop sets `stopping` before its byte, so
                // a stop whose byte this drains is still seen here.
                var b = [UInt8](repeating: 0, count: 64)
                while Glibc.read(wakeRead, &b, b.count) > 0 {}
                return stopping.load(ordering: .sequentiallyConsistent) ? .woken : .nudged
            }
            if fds[0].revents & Int16(POLLIN) != 0 { return .events }
            if fds[0].revents != 0 { throw SystemError("poll", path: "inotify", errno: EIO) }
            return .timedOut
        }
    }

    /// Reads queued events (whole records, see `InotifyEvent.parse`) into
    /// `buffer`; 0 when none are queued.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return 0 }
            throw Syscalls.failure("read", path: "inotify", errno: e)
        }
    }

    /// Wakes the thread in `wait`, and every later `wait` (from any thread).
    public func wake() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        writeWakeByte()
    }

    /// Wakes the thread in `wait` once (`.nudged`), from any thread: the
    /// state it waits on changed.
    public func nudge() { writeWakeByte() }

    func writeWakeByte() {
        var b: UInt8 = 1
        while Glibc.write(wakeWrite, &b, 1) < 0 {
            let e = errno
            if e == EINTR { continue }
            // EAGAIN: the pipe is full of earlier wake-ups; one is enough.
            precondition(e == EAGAIN || e == EWOULDBLOCK, "inotify wake-up write: \(SystemError.describe(e)) (a bug in revsd)")
            return
        }
    }
}
